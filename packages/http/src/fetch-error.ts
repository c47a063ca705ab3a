/**
 * The error a detour fetch rejects with when every attempt failed without a response to return
 * (network errors, timeouts, no endpoint, budget spent). A `TypeError`, as fetch's own network
 * errors are, so code written for fetch keeps working; and a detour error (`isDetourError()`,
 * `code`) that lists every attempt: which endpoint, and why it failed.
 */
import type { AttemptReport, CallFailedError, CallFailureReason } from '@detour/core';

const brand = Symbol.for('detour.error');

export class FetchFailedError extends TypeError {
  /** `DETOUR_CALL_FAILED`, `DETOUR_DEADLINE_EXCEEDED`, `DETOUR_NO_ENDPOINT` or `DETOUR_BULKHEAD_REJECTED`. */
  readonly code: string;
  /** Why the request gave up. */
  readonly reason: CallFailureReason;
  /** Every attempt: endpoint, address, outcome, code (HTTP status or error code), message, latency. */
  readonly attempts: readonly AttemptReport[];

  /** `cause` is the last attempt's error (for example fetch's `TypeError: fetch failed`). */
  constructor(failure: CallFailedError) {
    super(`fetch failed: ${failure.message}`, { cause: failure.cause });
    this.name = 'FetchFailedError';
    this.code = failure.code;
    this.reason = failure.reason;
    this.attempts = failure.attempts;
    // The brand of @detour/core's errors, so isDetourError() recognises this one too.
    Object.defineProperty(this, brand, { value: true });
  }
}
