/**
 * Ratio retry budget (Finagle `RetryBudget`, Linkerd `retryRatio`): retries and hedges may add
 * at most `percent` % to the first attempts of the last `windowMs`, plus `minPerSecond` free
 * retries per second so that quiet clients can still retry.
 *
 * Algorithm: first attempts (`onRequest`) and spent retries (`tryRetry` → true) are counted in
 * a ring of 10 time buckets covering `windowMs`, so old traffic stops funding retries once it
 * leaves the window. A retry is allowed when, counting it,
 * `retries ≤ percent/100 × requests + minPerSecond × windowMs/1000` over the window. This is
 * Finagle's leaky token bucket (each request deposits 1 token, each retry withdraws
 * 100/percent, a constant reserve of `minPerSecond × ttl` retries) written as counts, so the
 * budget never lets more through than configured. Because the ring advances a bucket at a time,
 * the window covers the current bucket and the 9 before it: between 90 % and 100 % of
 * `windowMs`. The free reserve is per window, not spread over it: a client with no traffic may
 * spend `minPerSecond × windowMs/1000` retries at once, then none until they leave the window
 * (as in Finagle). Memory: two 10-entry typed arrays; no allocation per call; O(10) per call.
 *
 * Defaults: `percent` 20 (%), `minPerSecond` 10 (retries/s), `windowMs` 10 000 (ms). These are
 * Finagle's (`percentCanRetry` 0.2, `minRetriesPerSec` 10, `ttl` 10 s) and Linkerd's
 * ServiceProfile defaults ("at most an additional 20% … plus 10 free retries per second"): a
 * total outage then raises the load on the servers by at most about 20 % instead of multiplying
 * it by the number of attempts. `windowMs` must lie in [1 000, 60 000], Finagle's bounds on `ttl`.
 *
 * Spec: https://twitter.github.io/finagle/guide/Clients.html#retries ;
 * https://github.com/twitter/finagle/blob/develop/finagle-core/src/main/scala/com/twitter/finagle/service/RetryBudget.scala ;
 * https://linkerd.io/2.10/tasks/configuring-retries/#retry-budgets
 */
import * as v from '../validate.js';
import type { RetryBudget, RetryBudgetSnapshot } from './retry-budget.js';

export interface RatioRetryBudgetOptions {
  /** Retries allowed as a percentage of first attempts in the window. 0–100. Default 20. */
  readonly percent?: number;
  /** Free retries per second on top, for low traffic. ≥ 0. Default 10. */
  readonly minPerSecond?: number;
  /** Length of the sliding window, in ms. 1 000–60 000. Default 10 000 (Finagle's `ttl`). */
  readonly windowMs?: number;
}

/** `available` is a whole number here: the retries `tryRetry` would allow now. */
export interface RatioRetryBudgetSnapshot extends RetryBudgetSnapshot {
  readonly name: 'ratio';
  /** First attempts counted in the window. */
  readonly requests: number;
  /** Retries and hedges spent in the window. */
  readonly retries: number;
}

/** A ratio retry budget with its options resolved. */
export interface RatioRetryBudget extends RetryBudget {
  readonly name: 'ratio';
  readonly percent: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  snapshot(now: number): RatioRetryBudgetSnapshot;
}

const optionKeys = ['percent', 'minPerSecond', 'windowMs'];
const bucketCount = 10;

class RatioBudget implements RatioRetryBudget {
  readonly name = 'ratio' as const;
  readonly percent: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #bucketMs: number;
  readonly #requests = new Uint32Array(bucketCount);
  readonly #retries = new Uint32Array(bucketCount);
  #requestTotal = 0;
  #retryTotal = 0;
  #head = 0;
  #headStart: number | undefined;
  #refused = 0;

  constructor(percent: number, minPerSecond: number, windowMs: number) {
    this.percent = percent;
    this.minPerSecond = minPerSecond;
    this.windowMs = windowMs;
    this.#ratio = percent / 100;
    this.#reserve = (minPerSecond * windowMs) / 1000;
    this.#bucketMs = windowMs / bucketCount;
  }

  /** Moves the ring to the bucket holding `now`, dropping buckets that left the window. */
  #advance(now: number): void {
    if (this.#headStart === undefined) {
      this.#headStart = now;
      return;
    }
    const elapsed = now - this.#headStart;
    if (!(elapsed >= this.#bucketMs)) return; // also when time stands still or goes back
    const steps = Math.floor(elapsed / this.#bucketMs);
    const clear = Math.min(steps, bucketCount);
    for (let i = 1; i <= clear; i++) {
      const b = (this.#head + i) % bucketCount;
      this.#requestTotal -= this.#requests[b]!;
      this.#retryTotal -= this.#retries[b]!;
      this.#requests[b] = 0;
      this.#retries[b] = 0;
    }
    this.#head = (this.#head + steps) % bucketCount;
    this.#headStart += steps * this.#bucketMs;
  }

  /** Retries the window allows; the tolerance absorbs rounding (0.29 × 100 = 28.999…96). */
  #allowance(): number {
    return this.#ratio * this.#requestTotal + this.#reserve + 1e-9;
  }

  onRequest(now: number): void {
    this.#advance(now);
    this.#requests[this.#head]! += 1;
    this.#requestTotal += 1;
  }

  tryRetry(now: number): boolean {
    this.#advance(now);
    if (this.#retryTotal + 1 > this.#allowance()) {
      this.#refused += 1;
      return false;
    }
    this.#retries[this.#head]! += 1;
    this.#retryTotal += 1;
    return true;
  }

  onOutcome(): void {
    // Outcomes do not matter: the budget limits retries relative to traffic, whatever fails.
  }

  snapshot(now: number): RatioRetryBudgetSnapshot {
    this.#advance(now);
    return {
      name: 'ratio',
      available: Math.max(0, Math.floor(this.#allowance() - this.#retryTotal)),
      refused: this.#refused,
      requests: this.#requestTotal,
      retries: this.#retryTotal,
    };
  }
}

/**
 * A ratio retry budget, shared by every call of a pool. `path` names the options in
 * configuration errors (`budget` unless the caller knows better, e.g. `retry.budget`).
 */
export function ratioRetryBudget(
  options: RatioRetryBudgetOptions = {},
  path = 'budget',
): RatioRetryBudget {
  v.knownKeys(path, options, optionKeys);
  const percent = v.percent(`${path}.percent`, options.percent, 20);
  const minPerSecond = v.number(`${path}.minPerSecond`, options.minPerSecond, 10);
  const windowMs = v.number(`${path}.windowMs`, options.windowMs, 10_000, 1_000, 60_000);
  return new RatioBudget(percent, minPerSecond, windowMs);
}
