/**
 * Retry budget contract. One budget is shared by every call of a pool, so that a total outage
 * cannot multiply the load: retries and hedges draw on it, first attempts feed it.
 */
export interface RetryBudget {
  readonly name: string;
  /** A call's first attempt was sent at `now` (ms). */
  onRequest(now: number): void;
  /** Spends one retry or hedge at `now`; false (spending nothing) when the budget is exhausted. */
  tryRetry(now: number): boolean;
  /** An attempt ended; `failure` per gRFC A6 (only failures that could be retried count). Token buckets use it. */
  onOutcome(now: number, failure: boolean): void;
  /** Plain-data state for snapshots and metrics. */
  snapshot(now: number): RetryBudgetSnapshot;
}

export interface RetryBudgetSnapshot {
  readonly name: string;
  /** Retries or hedges that could be spent now (may be fractional). */
  readonly available: number;
  /** Retries refused since the budget was made. */
  readonly refused: number;
}
