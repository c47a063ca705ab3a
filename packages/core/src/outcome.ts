/**
 * What became of one attempt on one endpoint, as the adapter's classifier saw it. Detectors and
 * the per-endpoint statistics are fed these; `ignore`d results never become outcomes.
 */

/**
 * - `success`: the endpoint answered acceptably.
 * - `error`: the endpoint failed the attempt (connection refused, UNAVAILABLE, 503…).
 * - `timeout`: the attempt overran its attempt timeout; counts as a failure.
 * - `rejected`: the endpoint shed load (RESOURCE_EXHAUSTED, 429); counts as a failure.
 */
export type OutcomeKind = 'success' | 'error' | 'timeout' | 'rejected';

export interface Outcome {
  readonly kind: OutcomeKind;
  /** Time from the start of the attempt to its result, in milliseconds. */
  readonly latencyMs: number;
  /** Protocol status (gRPC code, HTTP status, errno name), when there is one. */
  readonly code?: string | number | undefined;
  readonly message?: string | undefined;
}

/** Kinds recorded in an endpoint's fault log. */
export type FaultKind = 'error' | 'timeout' | 'rejected' | 'probe-failed';

/** Why an endpoint was judged unfit: the detector and what it saw. */
export interface Fault {
  readonly kind: FaultKind;
  readonly code?: string | number | undefined;
  readonly message?: string | undefined;
}

export function isFailure(outcome: Outcome): boolean {
  return outcome.kind !== 'success';
}
