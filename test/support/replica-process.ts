/**
 * One greeter replica as a child process: moved to `examples/greeter-cluster/replica-process.ts`
 * (the examples and the demo start replicas too); re-exported here for tests that import it.
 */
export {
  ReplicaProcess,
  ReplicaStartError,
  addressInUseExitCode,
  spawnReplica,
} from '../../examples/greeter-cluster/replica-process.js';
export type {
  ReplicaExit,
  ReplicaReady,
  ReplicaTls,
  SpawnReplicaOptions,
} from '../../examples/greeter-cluster/replica-process.js';
