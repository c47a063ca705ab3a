/**
 * Instrumentation contract: what `execute()` reports about each call and attempt. The default
 * implementation records OpenTelemetry metrics (`metrics.ts`); a pool with metrics turned off
 * uses `noopInstrumentation`. Calls happen on the hot path: implementations must not allocate
 * per call (cache per-endpoint attribute objects).
 */
import type { EndpointRecord } from './health/endpoint-record.js';
import type { Outcome } from './outcome.js';

/** Why an attempt was sent: the call's first, a retry after a failure, or a hedge. */
export type AttemptKind = 'first' | 'retry' | 'hedge';

export interface Instrumentation {
  attemptStarted(record: EndpointRecord, kind: AttemptKind): void;
  /** `outcome` undefined: the attempt was cancelled (caller abort, hedge lost) and not counted. */
  attemptEnded(
    record: EndpointRecord,
    kind: AttemptKind,
    outcome: Outcome | undefined,
    latencyMs: number,
  ): void;
  /** A retry or hedge was refused by the retry budget. */
  budgetRefused(kind: 'retry' | 'hedge'): void;
  /** A call ended: `attempts` sent in all, total latency in ms. */
  callEnded(success: boolean, attempts: number, latencyMs: number): void;
  /** Stops observing (gauges, event listeners). */
  close(): void;
}

export const noopInstrumentation: Instrumentation = {
  attemptStarted() {},
  attemptEnded() {},
  budgetRefused() {},
  callEnded() {},
  close() {},
};
