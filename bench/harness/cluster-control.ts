/**
 * The benchmark's hold on the greeter replicas: faults through the admin port, a reset between
 * runs (every replica running, thawed, without faults), and the replicas' own request counters,
 * which give every client's attempts per call the same way whatever it does inside.
 */
import type { LocalCluster } from '../../examples/greeter-cluster/local-cluster.js';
import type { Transport } from './types.js';

export interface AdminFaults {
  readonly latencyMs?: number;
  readonly errorRate?: number;
}

async function admin(
  url: string,
  method: string,
  body?: unknown,
  timeoutMs = 5_000,
): Promise<unknown> {
  const response = await fetch(url, {
    method,
    signal: AbortSignal.timeout(timeoutMs),
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}`);
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Sets admin faults on replica `i` (fields left out are kept). */
export async function setFaults(
  cluster: LocalCluster,
  i: number,
  faults: AdminFaults,
): Promise<void> {
  await admin(`${cluster.replica(i).adminUrl}/faults`, 'POST', faults);
}

/**
 * Every replica running, thawed and without faults. A client that overloaded this process (a
 * run can leave thousands of failed calls to collect) may delay the admin calls: each gets 5 s.
 */
export async function resetCluster(cluster: LocalCluster): Promise<void> {
  await Promise.all(
    cluster.replicas.map(async (replica, i) => {
      if (replica.state === 'frozen') cluster.thaw(i);
      if (replica.state === 'dead') await cluster.restart(i);
      else await admin(`${replica.adminUrl}/faults`, 'DELETE');
    }),
  );
}

interface Stats {
  readonly calls: { readonly grpc: number; readonly http: number };
}

/**
 * Counts the requests the replicas answer during a run by polling their `/stats` every 200 ms
 * (skipping frozen and dead ones). A replica killed mid-run loses the requests it answered since
 * its last poll; a restarted one counts from zero again, under its new pid.
 */
export class RequestCounter {
  readonly #cluster: LocalCluster;
  readonly #transport: Transport;
  /** Per replica process (`name/pid`): the first count seen and the latest. */
  readonly #counts = new Map<string, { first: number; last: number }>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> = Promise.resolve();

  constructor(cluster: LocalCluster, transport: Transport) {
    this.#cluster = cluster;
    this.#transport = transport;
  }

  /** Reads the starting counts, then polls until `stop()`. */
  async start(): Promise<void> {
    await this.#poll(true);
    this.#timer = setInterval(() => {
      this.#polling = this.#polling.then(() => this.#poll(false));
    }, 200);
  }

  /** Stops polling after a last read; the requests counted since `start()`. */
  async stop(): Promise<number> {
    clearInterval(this.#timer);
    await this.#polling;
    await this.#poll(false);
    let total = 0;
    for (const { first, last } of this.#counts.values()) total += last - first;
    return total;
  }

  async #poll(starting: boolean): Promise<void> {
    await Promise.all(
      this.#cluster.replicas.map(async (replica) => {
        if (replica.state !== 'running') return;
        const key = `${replica.name}/${replica.pid}`;
        try {
          const stats = (await admin(
            `${replica.adminUrl}/stats`,
            'GET',
            undefined,
            1_000,
          )) as Stats;
          const count = stats.calls[this.#transport];
          const known = this.#counts.get(key);
          if (known) known.last = Math.max(known.last, count);
          else this.#counts.set(key, { first: starting ? count : 0, last: count });
        } catch {
          // Killed or frozen since the state was read: its last count stands.
        }
      }),
    );
  }
}
