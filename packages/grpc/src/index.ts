/**
 * `@detour/grpc`: detour's failover for @grpc/grpc-js clients. `createGrpcFailover()` gives any
 * generated client per-attempt endpoint selection, failover, retries, hedging and deadlines
 * through its `ClientOptions`; `grpcClassifier()` says which gRPC outcomes may be retried;
 * `grpcHealthProbe()` checks endpoints over `grpc.health.v1`.
 */

// Failover for generated clients
export { createGrpcFailover, GrpcFailover } from './failover.js';
export {
  defaultChannelOptions,
  defaultReplayBufferBytes,
  defaultHealthCheck,
} from './failover-options.js';
export type {
  GrpcFailoverOptions,
  GrpcHealthCheckOptions,
  IdempotentMethods,
} from './failover-options.js';
export { DetourChannel } from './channel/detour-channel.js';
export type { MethodShape } from './channel/detour-channel.js';
export { GrpcAttemptError } from './grpc-attempt-error.js';
export { idempotencyHintHeader } from './channel/call-hints.js';

// nice-grpc clients on a failover (no import of nice-grpc: typed structurally)
export { detourNiceGrpc } from './nice-grpc.js';
export type {
  DetourNiceGrpc,
  DetourNiceGrpcCallOptions,
  DetourNiceGrpcMiddleware,
  DetourNiceGrpcSource,
  NiceGrpcCallOptions,
  NiceGrpcMetadataLike,
  NiceGrpcMethodDescriptor,
  NiceGrpcMiddlewareCall,
} from './nice-grpc.js';

// What counts as failure
export { grpcClassifier, parsePushback } from './classifier.js';
export type { GrpcClassifierOptions, GrpcStatusCode, GrpcStatusName } from './classifier.js';

// Active health checks
export { grpcHealthProbe } from './health-probe.js';
export type { GrpcHealthProbe, GrpcHealthProbeOptions, GrpcServingStatus } from './health-probe.js';

// For plain grpc-js channels configured through service config (explicit registration)
export { registerDetourResolver, detourScheme } from './resolver.js';
export { registerDetourBalancer, detourPolicyName } from './balancer.js';
export type { DetourBalancerConfig } from './balancer.js';
