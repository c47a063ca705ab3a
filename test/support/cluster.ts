/**
 * A cluster of greeter replicas as real child processes, for tests: start N replicas, then kill,
 * restart (same ports), freeze and thaw them (`examples/greeter-cluster/local-cluster.ts`), and
 * inject faults and read their counters through each replica's admin interface.
 *
 * ```ts
 * const cluster = await startCluster({ replicas: 3 });
 * try {
 *   await cluster.setFaults(0, { errorRate: 1 });
 *   // … call cluster.replicas.map((r) => r.grpcAddress) …
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 */
import type { Faults, FaultsUpdate } from '../../examples/greeter-cluster/faults.js';
import { startLocalCluster, stopGraceMs } from '../../examples/greeter-cluster/local-cluster.js';
import type {
  LocalCluster,
  LocalClusterOptions,
  LocalReplica,
  ReplicaTls,
} from '../../examples/greeter-cluster/local-cluster.js';
import type { ReplicaStats } from '../../examples/greeter-cluster/replica-stats.js';
import { adminRequest } from './admin-client.js';

export type { Faults, FaultsUpdate, ReplicaStats, ReplicaTls };
export { stopGraceMs };

/** What `startCluster` starts (see `LocalClusterOptions`). */
export type ClusterOptions = LocalClusterOptions;

/** Where a replica is running; addresses stay the same across `restart`. */
export type ClusterReplica = LocalReplica;

/** Replicas started by `startCluster`. Methods take the replica's index in `replicas`. */
export class Cluster {
  readonly #local: LocalCluster;

  /** @internal Use `startCluster`. */
  constructor(local: LocalCluster) {
    this.#local = local;
  }

  /** The replicas, in start order; each entry stays valid (and current) across restarts. */
  get replicas(): readonly ClusterReplica[] {
    return this.#local.replicas;
  }

  /** SIGKILL replica `i` and wait for it to exit; its ports then refuse connections. */
  kill(i: number): Promise<void> {
    return this.#local.kill(i);
  }

  /**
   * Start replica `i` again on the same ports (killing it first if it still runs), with no faults
   * and zeroed stats. Retries for up to 5 s while a port is still taken.
   */
  restart(i: number): Promise<void> {
    return this.#local.restart(i);
  }

  /**
   * SIGSTOP replica `i`: its connections stay open and its ports keep accepting (the kernel
   * completes handshakes), but nothing answers, so calls hang until their deadline.
   */
  freeze(i: number): void {
    this.#local.freeze(i);
  }

  /** SIGCONT replica `i`: it answers again, including what arrived while frozen. */
  thaw(i: number): void {
    this.#local.thaw(i);
  }

  /** Change the faults of replica `i` (fields left out are kept); returns the faults now in force. */
  async setFaults(i: number, faults: FaultsUpdate): Promise<Faults> {
    return (await adminRequest(this.#adminUrl(i), 'POST', '/faults', faults)) as Faults;
  }

  /** Remove every fault from replica `i`. */
  async clearFaults(i: number): Promise<Faults> {
    return (await adminRequest(this.#adminUrl(i), 'DELETE', '/faults')) as Faults;
  }

  /** What replica `i` has served since it started or `resetStats(i)`. */
  async stats(i: number): Promise<ReplicaStats> {
    return (await adminRequest(this.#adminUrl(i), 'GET', '/stats')) as ReplicaStats;
  }

  /** Zero the counters of replica `i`. */
  async resetStats(i: number): Promise<void> {
    await adminRequest(this.#adminUrl(i), 'POST', '/reset-stats');
  }

  /**
   * SIGTERM every replica (SIGCONT too, so frozen ones see it), SIGKILL those still running after
   * 2 s, and wait until all have exited. Safe to call more than once.
   */
  stop(): Promise<void> {
    return this.#local.stop();
  }

  #adminUrl(i: number): string {
    return this.#local.replica(i).adminUrl;
  }
}

/**
 * Starts replicas of `examples/greeter-cluster/replica.ts` in parallel on free ports of
 * 127.0.0.1 and resolves when all are ready (about 0.5–1 s). If any fails to start, the others
 * are killed and the error is thrown. Always `stop()` the cluster; replicas also exit when this
 * process does.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  return new Cluster(await startLocalCluster(options));
}
