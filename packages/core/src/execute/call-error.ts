/** Errors of `pool.execute()`: every one says what each attempt did. */
import type { AttemptKind } from '../instrumentation.js';
import { DetourError } from '../errors.js';
import type { OutcomeKind } from '../outcome.js';

/** One attempt of a call, as the call's error reports it. */
export interface AttemptReport {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly kind: AttemptKind;
  readonly endpoint: string;
  readonly address: string;
  /** `cancelled`: stopped because another attempt won, or the call ended. */
  readonly outcome: OutcomeKind | 'cancelled';
  readonly code: string | number | undefined;
  readonly message: string | undefined;
  readonly latencyMs: number;
}

/**
 * Why the call gave up:
 * - `not-retryable`: the last failure may not be retried (its kind, or a non-idempotent call
 *   that may have been processed, or pushback said not to).
 * - `attempts-exhausted`: `maxAttempts` were sent.
 * - `budget-exhausted`: the pool's retry budget refused the retry.
 * - `deadline-exceeded`: the call's deadline passed.
 * - `no-endpoint`: the pool has no endpoint.
 * - `bulkhead-rejected`: the pool or every endpoint is at its in-flight limit.
 */
export type CallFailureReason =
  | 'not-retryable'
  | 'attempts-exhausted'
  | 'budget-exhausted'
  | 'deadline-exceeded'
  | 'no-endpoint'
  | 'bulkhead-rejected';

const codes: Record<CallFailureReason, string> = {
  'not-retryable': 'DETOUR_CALL_FAILED',
  'attempts-exhausted': 'DETOUR_CALL_FAILED',
  'budget-exhausted': 'DETOUR_CALL_FAILED',
  'deadline-exceeded': 'DETOUR_DEADLINE_EXCEEDED',
  'no-endpoint': 'DETOUR_NO_ENDPOINT',
  'bulkhead-rejected': 'DETOUR_BULKHEAD_REJECTED',
};

/**
 * A call failed for good. `attempts` lists every attempt (endpoint, outcome, code, latency);
 * `cause` is the last attempt's error. `code` is `DETOUR_CALL_FAILED`,
 * `DETOUR_DEADLINE_EXCEEDED`, `DETOUR_NO_ENDPOINT` or `DETOUR_BULKHEAD_REJECTED`.
 */
export class CallFailedError extends DetourError {
  readonly reason: CallFailureReason;
  readonly attempts: readonly AttemptReport[];

  constructor(reason: CallFailureReason, attempts: readonly AttemptReport[], cause: unknown) {
    super(codes[reason], describe(reason, attempts), cause === undefined ? undefined : { cause });
    this.name = 'CallFailedError';
    this.reason = reason;
    this.attempts = attempts;
  }
}

function describe(reason: CallFailureReason, attempts: readonly AttemptReport[]): string {
  const head = `Call failed (${reason}) after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`;
  if (attempts.length === 0) return head;
  const parts = attempts.map((a) => {
    const detail = [a.code, a.message].filter((x) => x !== undefined && x !== '').join(' ');
    return `#${a.attempt} ${a.kind} ${a.endpoint}: ${a.outcome}${detail ? ` (${detail})` : ''} in ${Math.round(a.latencyMs)} ms`;
  });
  return `${head}: ${parts.join('; ')}`;
}
