/**
 * Plays the fault schedule on a local cluster: kill and restart, freeze and thaw (SIGSTOP,
 * SIGCONT), and the replicas' admin faults (added latency, a share of UNAVAILABLE / 503). Each
 * fault's window is recorded as it really happened: from when the fault took hold (the process
 * had exited, the signal was sent, the admin call returned) until it was undone (the restarted
 * replica was ready, …).
 */
import type { LocalCluster } from '../greeter-cluster/local-cluster.js';
import type { FaultKind, FaultWindow } from './model.js';
import { errorRate, faultLabel, healedLabel, slowByMs } from './schedule.js';
import type { PlannedFault } from './schedule.js';

/** Sets admin faults on a replica (`POST /faults`; fields left out are kept). */
async function setFaults(adminUrl: string, faults: Record<string, number>): Promise<void> {
  const response = await fetch(`${adminUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`POST ${adminUrl}/faults answered ${response.status}`);
}

async function apply(cluster: LocalCluster, kind: FaultKind, i: number, on: boolean) {
  const { adminUrl } = cluster.replica(i);
  switch (kind) {
    case 'crash':
      return on ? cluster.kill(i) : cluster.restart(i);
    case 'freeze':
      return on ? cluster.freeze(i) : cluster.thaw(i);
    case 'slow':
      return setFaults(adminUrl, { latencyMs: on ? slowByMs : 0 });
    case 'errors':
      return setFaults(adminUrl, { errorRate: on ? errorRate : 0 });
  }
}

interface PlayedFault {
  readonly kind: FaultKind;
  readonly replica: string;
  startMs: number;
  endMs?: number;
}

export class FaultPlayer {
  readonly #cluster: LocalCluster;
  readonly #now: () => number;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #pending = new Set<Promise<void>>();
  readonly #windows: PlayedFault[] = [];
  /** The active fault label of each replica. */
  readonly active = new Map<string, string>();
  #error: unknown;

  constructor(cluster: LocalCluster, now: () => number) {
    this.#cluster = cluster;
    this.#now = now;
  }

  /** Schedules `faults` relative to `t = 0`; `onStep` hears each step once it has taken hold. */
  play(faults: readonly PlannedFault[], onStep: (text: string) => void): void {
    for (const fault of faults) {
      const name = this.#cluster.replica(fault.replica).name;
      const label = faultLabel(fault.kind, name);
      const window: PlayedFault = { kind: fault.kind, replica: name, startMs: 0 };
      this.#at(fault.startMs, async () => {
        await apply(this.#cluster, fault.kind, fault.replica, true);
        window.startMs = this.#now();
        this.#windows.push(window);
        this.active.set(name, label);
        onStep(`fault: ${label}`);
      });
      this.#at(fault.endMs, async () => {
        await apply(this.#cluster, fault.kind, fault.replica, false);
        window.endMs = this.#now();
        this.active.delete(name);
        onStep(`healed: ${healedLabel(fault.kind, name)}`);
      });
    }
  }

  /**
   * Cancels what has not started, waits for what has, and returns the windows played; a fault
   * still active is undone first. Rethrows the first step that failed.
   */
  async finish(): Promise<FaultWindow[]> {
    for (const timer of this.#timers) clearTimeout(timer);
    await Promise.all(this.#pending);
    for (const window of this.#windows) {
      if (window.endMs !== undefined) continue;
      const i = this.#cluster.replicas.findIndex((r) => r.name === window.replica);
      await apply(this.#cluster, window.kind, i, false);
      window.endMs = this.#now();
    }
    if (this.#error !== undefined) {
      throw this.#error instanceof Error
        ? this.#error
        : new Error('a fault step failed', { cause: this.#error });
    }
    return this.#windows.map((w) => ({
      kind: w.kind,
      replica: w.replica,
      startMs: Math.round(w.startMs),
      endMs: Math.round(w.endMs!),
      label: faultLabel(w.kind, w.replica),
    }));
  }

  #at(atMs: number, step: () => Promise<void>): void {
    const timer = setTimeout(
      () => {
        const done = step().catch((error: unknown) => {
          this.#error ??= error;
        });
        this.#pending.add(done);
        void done.finally(() => this.#pending.delete(done));
      },
      Math.max(0, atMs - this.#now()),
    );
    this.#timers.push(timer);
  }
}
