/** What every server of a replica (gRPC, HTTP, admin) shares. */
import type { FaultInjector } from './fault-injector.js';
import type { StatsRecorder } from './replica-stats.js';
import type { ServingStatus } from './faults.js';

/** The state of one replica process, handed to each of its servers. */
export interface ReplicaContext {
  /** Shown in every answer (`x-replica`). */
  readonly name: string;
  readonly faults: FaultInjector;
  readonly stats: StatsRecorder;
  /** The health reported now. */
  health(): ServingStatus;
}

/** The name of the response header and gRPC metadata key that says which replica answered. */
export const replicaHeader = 'x-replica';
