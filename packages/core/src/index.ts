/**
 * `@detour/core`: protocol-agnostic client-side fault tolerance. Endpoints and their health,
 * fault detectors, endpoint selectors and the pool that ties them together. Adapters for gRPC
 * and fetch build on it; tools for tests live in `@detour/core/testing`.
 */

// Pool
export { Pool, createPool } from './pool.js';
export type { PickOptions } from './pool.js';
export type { PoolOptions, HealthOptions, StatsOptions } from './pool-options.js';
export { defaultDetectors, maxDetectors, poolOptionKeys } from './pool-options.js';
export type { PoolEvents, PoolEventName } from './pool-events.js';
export { Emitter } from './events.js';
export type { Listener } from './events.js';
export type { PoolSnapshot, EndpointSnapshot } from './health/snapshot.js';
export type { EndpointRecord, HealthStatus } from './health/endpoint-record.js';
export type { FaultEntry } from './health/fault-log.js';

// Running calls
export type { Operation, AttemptContext, RunningCall } from './execute/call.js';
export { CallEndedError } from './execute/call.js';
export type { ExecuteOptions, CallPolicy, HedgeOptions } from './execute/call-options.js';
export { callPolicyKeys } from './execute/call-options.js';
export { CallFailedError } from './execute/call-error.js';
export type { AttemptReport, CallFailureReason } from './execute/call-error.js';
export { defaultClassifier } from './classifier.js';
export type { AttemptResult, Classification, Classifier } from './classifier.js';
export type { RetryBudgetOption, BulkheadOptions, MetricsOptions } from './pool-options.js';

// Policies: backoffs and retry budgets
export type { Backoff } from './policies/backoff.js';
export { exponentialBackoff } from './policies/backoff-exponential.js';
export type {
  ExponentialBackoffOptions,
  ExponentialJitter,
} from './policies/backoff-exponential.js';
export { decorrelatedJitterBackoff } from './policies/backoff-decorrelated.js';
export type { DecorrelatedJitterBackoffOptions } from './policies/backoff-decorrelated.js';
export { constantBackoff } from './policies/backoff-constant.js';
export type { ConstantBackoffOptions } from './policies/backoff-constant.js';
export type { BackoffName } from './policies/backoff-by-name.js';
export type { RetryBudget, RetryBudgetSnapshot } from './policies/retry-budget.js';
export { ratioRetryBudget } from './policies/retry-budget-ratio.js';
export type { RatioRetryBudgetOptions } from './policies/retry-budget-ratio.js';
export { tokenBucketRetryBudget } from './policies/retry-budget-token-bucket.js';
export type { TokenBucketRetryBudgetOptions } from './policies/retry-budget-token-bucket.js';

// Metrics
export { createMetrics, metricAttributes } from './metrics.js';
export type { Instrumentation, AttemptKind } from './instrumentation.js';
export { noopInstrumentation } from './instrumentation.js';

// Endpoints and discovery
export type { Endpoint, EndpointInit } from './endpoint.js';
export { normalizeEndpoint } from './endpoint.js';
export { staticSource } from './discovery/static-source.js';
export type { StaticSource } from './discovery/static-source.js';
export type {
  EndpointSource,
  EndpointSourceObserver,
  EndpointUpdate,
} from './discovery/endpoint-source.js';

// Outcomes
export type { Outcome, OutcomeKind, Fault, FaultKind } from './outcome.js';

// Selectors
export type {
  Candidate,
  Exclusion,
  PickContext,
  Picker,
  Selector,
  SelectorEnvironment,
} from './selector.js';
export {
  randomSelector,
  roundRobinSelector,
  weightedRandomSelector,
  weightedRoundRobinSelector,
  leastRequestSelector,
  weightedLeastLoadSelector,
  p2cPeakEwmaSelector,
  consistentHashSelector,
  priorityGroupsSelector,
  selectorFromName,
  selectorNames,
  isSelectorName,
} from './selectors/index.js';
export type {
  SelectorName,
  LeastRequestOptions,
  P2cPeakEwmaOptions,
  ConsistentHashOptions,
  PriorityGroupsOptions,
} from './selectors/index.js';

// Detectors
export type { Detector, DetectorHost, DetectorInstance, ProbeResult } from './detector.js';
export {
  consecutiveFailures,
  outlierDetection,
  latencyOutlier,
  heartbeat,
  defaultEndEjections,
  phiAccrual,
  phi,
  metricThresholds,
} from './detectors/index.js';
export type {
  ConsecutiveFailuresOptions,
  OutlierDetectionOptions,
  LatencyOutlierOptions,
  HeartbeatOptions,
  HeartbeatProbe,
  ProbeContext,
  PhiAccrualOptions,
  MetricThresholdsOptions,
  MetricReader,
  MetricThreshold,
} from './detectors/index.js';

// Option validation, for adapters and extensions: each helper throws DetourConfigError naming the
// option path and the value, as core's own options do.
import * as validate from './validate.js';
export { validate };

// Time, randomness, errors
export { systemClock, sleep } from './clock.js';
export type { Clock, Timer } from './clock.js';
export { systemRandom } from './random.js';
export type { Random } from './random.js';
export {
  DetourError,
  DetourConfigError,
  NoEndpointError,
  PoolClosedError,
  isDetourError,
} from './errors.js';
export type { DetourErrorCode } from './errors.js';
