/**
 * `@detour/http`: detour's failover for fetch. `createFetch()` returns a function with fetch's
 * signature whose every attempt goes to a replica detour selects.
 */
export { createFetch } from './create-fetch.js';
export type { DetourFetch } from './create-fetch.js';
export {
  defaultHttpHealthCheck,
  defaultIdempotentMethods,
  defaultReplayBufferBytes,
} from './fetch-options.js';
export type {
  CreateFetchOptions,
  DetourRequestInit,
  DetourRequestOptions,
  FetchFunction,
  HttpHealthCheckOptions,
} from './fetch-options.js';
export { FetchFailedError } from './fetch-error.js';
export { ForeignUrlError } from './request-target.js';
export { BodyNotReplayableError } from './body.js';
export { defaultRetryStatuses, httpClassifier } from './classifier.js';
export type { HttpClassifierOptions } from './classifier.js';
export { parseRetryAfter } from './retry-after.js';
export { httpHealthProbe } from './health-probe.js';
export type { HttpHealthProbeOptions } from './health-probe.js';
