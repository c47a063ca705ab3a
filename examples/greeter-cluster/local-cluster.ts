/**
 * Greeter replicas (`replica.ts`) as child processes of this one, on free ports of 127.0.0.1:
 * for the examples, the demo and, through `test/support/cluster.ts`, the tests. Replicas die
 * with this process, however it ends.
 *
 * ```ts
 * const cluster = await startLocalCluster({ replicas: 3 });
 * try {
 *   const endpoints = cluster.replicas.map((r) => r.grpcAddress);
 *   // … call them; `await cluster.kill(1)` to SIGKILL the second …
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 */
import { ReplicaStartError, addressInUseExitCode, spawnReplica } from './replica-process.js';
import type {
  ReplicaProcess,
  ReplicaRegistryOptions,
  ReplicaTls,
  SpawnReplicaOptions,
} from './replica-process.js';

export type { ReplicaTls };

/** What `startLocalCluster` starts. */
export interface LocalClusterOptions {
  /** How many replicas. Default 3, or `names.length` when names are given. */
  readonly replicas?: number;
  /** Replica names, shown in replies and `x-replica`. Default `r1`, `r2`, … */
  readonly names?: readonly string[];
  /** Serve gRPC and HTTP over TLS with these files. */
  readonly tls?: ReplicaTls;
  /** Added to the replicas' environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Each replica registers itself in etcd (`replica.ts --etcd`), and again after a restart. */
  readonly registry?: ReplicaRegistryOptions;
  /** Time allowed for each replica to become ready, in ms. Default 15 000. */
  readonly readyTimeoutMs?: number;
}

/** Where a replica is running; addresses stay the same across `restart`. */
export interface LocalReplica {
  readonly name: string;
  /** Pid of the current process; changes on `restart`. */
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly adminPort: number;
  /** `127.0.0.1:<grpcPort>`. */
  readonly grpcAddress: string;
  /** `http://127.0.0.1:<httpPort>` (`https://` with TLS). */
  readonly httpUrl: string;
  /** `http://127.0.0.1:<adminPort>`. */
  readonly adminUrl: string;
  /** `running`, `frozen` (SIGSTOP) or `dead` (killed or stopped). */
  readonly state: 'running' | 'frozen' | 'dead';
}

/** Grace period `stop()` gives each replica after SIGTERM before SIGKILL, in ms. */
export const stopGraceMs = 2_000;

/** How long `restart` keeps retrying while the old ports are still taken, in ms. */
const rebindTimeoutMs = 5_000;

class Slot implements LocalReplica {
  constructor(
    public process: ReplicaProcess,
    readonly tls: boolean,
  ) {}

  get name(): string {
    return this.process.ready.name;
  }
  get pid(): number {
    return this.process.pid;
  }
  get grpcPort(): number {
    return this.process.ready.grpcPort;
  }
  get httpPort(): number {
    return this.process.ready.httpPort;
  }
  get adminPort(): number {
    return this.process.ready.adminPort;
  }
  get grpcAddress(): string {
    return `127.0.0.1:${this.grpcPort}`;
  }
  get httpUrl(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.httpPort}`;
  }
  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }
  get state(): LocalReplica['state'] {
    if (!this.process.alive) return 'dead';
    return this.process.frozen ? 'frozen' : 'running';
  }
}

/** Replicas started by `startLocalCluster`. Methods take the replica's index in `replicas`. */
export class LocalCluster {
  readonly #slots: readonly Slot[];
  readonly #options: LocalClusterOptions;
  #stopped: Promise<void> | undefined;

  /** @internal Use `startLocalCluster`. */
  constructor(processes: readonly ReplicaProcess[], options: LocalClusterOptions) {
    this.#options = options;
    this.#slots = processes.map((p) => new Slot(p, options.tls !== undefined));
  }

  /** The replicas, in start order; each entry stays valid (and current) across restarts. */
  get replicas(): readonly LocalReplica[] {
    return this.#slots;
  }

  /** Replica `i`. @throws RangeError when there is none. */
  replica(i: number): LocalReplica {
    return this.#slot(i);
  }

  /** SIGKILL replica `i` and wait for it to exit; its ports then refuse connections. */
  async kill(i: number): Promise<void> {
    await this.#slot(i).process.kill();
  }

  /**
   * Start replica `i` again on the same ports (killing it first if it still runs), with no faults
   * and zeroed stats. Retries for up to 5 s while a port is still taken.
   */
  async restart(i: number): Promise<void> {
    const slot = this.#slot(i);
    if (this.#stopped !== undefined) throw new Error('cluster is stopped');
    await slot.process.kill();
    const { ready } = slot.process;
    const giveUpAt = Date.now() + rebindTimeoutMs;
    for (;;) {
      try {
        slot.process = await spawnReplica({
          ...spawnOptionsFor(ready.name, this.#options),
          grpcPort: ready.grpcPort,
          httpPort: ready.httpPort,
          adminPort: ready.adminPort,
        });
        // stop() ran meanwhile and could not see this process: end it too.
        if (this.#stopped !== undefined) await slot.process.kill();
        return;
      } catch (error) {
        const portTaken =
          error instanceof ReplicaStartError && error.exitCode === addressInUseExitCode;
        if (!portTaken || Date.now() > giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * SIGSTOP replica `i`: its connections stay open and its ports keep accepting (the kernel
   * completes handshakes), but nothing answers, so calls hang until their deadline.
   */
  freeze(i: number): void {
    this.#slot(i).process.freeze();
  }

  /** SIGCONT replica `i`: it answers again, including what arrived while frozen. */
  thaw(i: number): void {
    this.#slot(i).process.thaw();
  }

  /**
   * SIGTERM every replica (SIGCONT too, so frozen ones see it), SIGKILL those still running after
   * 2 s, and wait until all have exited. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopped ??= Promise.all(this.#slots.map((s) => s.process.stop(stopGraceMs))).then(
      () => undefined,
    );
    return this.#stopped;
  }

  #slot(i: number): Slot {
    const slot = this.#slots[i];
    if (slot === undefined) {
      throw new RangeError(`no replica ${i}; the cluster has ${this.#slots.length}`);
    }
    return slot;
  }
}

/**
 * Starts the replicas in parallel and resolves when all are ready (about 0.5–1 s). If any fails
 * to start, the others are killed and the error is thrown. Always `stop()` the cluster; replicas
 * also exit when this process does.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.replicas ?? options.names?.length ?? 3;
  const names = options.names ?? Array.from({ length: count }, (_, i) => `r${i + 1}`);
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`replicas must be a positive integer, got ${count}`);
  }
  if (names.length !== count || new Set(names).size !== count) {
    throw new RangeError(`names must be ${count} distinct names, got ${JSON.stringify(names)}`);
  }
  const started = await Promise.allSettled(
    names.map((name) => spawnReplica(spawnOptionsFor(name, options))),
  );
  const processes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = started.find((r) => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(processes.map((p) => p.kill()));
    throw failure.reason;
  }
  return new LocalCluster(processes, options);
}

function spawnOptionsFor(name: string, options: LocalClusterOptions): SpawnReplicaOptions {
  const { tls, env, readyTimeoutMs, registry } = options;
  return {
    name,
    ...(tls === undefined ? {} : { tls }),
    ...(registry === undefined ? {} : { registry }),
    ...(env === undefined ? {} : { env }),
    ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }),
  };
}
