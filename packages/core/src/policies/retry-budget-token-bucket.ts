/**
 * Token bucket retry throttling, exactly gRFC A6's `retryThrottling`.
 *
 * Algorithm: `tokens` starts at `maxTokens` and stays within [0, maxTokens]. Every attempt that
 * fails in a way that could be retried (`onOutcome(now, true)`) takes 1 token; every success
 * adds `tokenRatio`. Retries and hedges are allowed only while `tokens > maxTokens / 2`.
 * `tryRetry` only checks: as in A6 (and grpc-js), a retry spends nothing itself; it pays with
 * its own failure, if it fails. First attempts (`onRequest`) do not change the bucket. Tokens
 * are kept in thousandths as integers, as A6 keeps `tokenRatio` to 3 decimals, so long runs of
 * +0.1 and −1 never drift across the threshold. Time plays no part.
 *
 * The bucket stops retries once failures outnumber successes by about 1/tokenRatio to 1: with
 * the defaults, 5 net failures from full, after which 10 successes buy back each failure.
 * Unlike the ratio budget it does not cap the share of retries while things go well, and it
 * needs outcomes; it is here for parity with gRPC service configs.
 *
 * Defaults: `maxTokens` 10 (tokens), `tokenRatio` 0.1 (tokens per success): A6's example
 * configuration, which it describes as throttling "when the client's ratio of failures to
 * successes exceeds ~10%". A6 has no defaults (both fields are required when throttling is
 * configured). `maxTokens` must be an integer in [1, 1000] (A6: > 0; grpc-js: (0, 1000];
 * `uint32 max_tokens` in grpc's service_config.proto); `tokenRatio` > 0, rounded to 3 decimals.
 *
 * Spec: https://github.com/grpc/proposal/blob/master/A6-client-retries.md#throttling-retry-attempts-and-hedged-rpcs
 */
import { DetourConfigError } from '../errors.js';
import * as v from '../validate.js';
import type { RetryBudget, RetryBudgetSnapshot } from './retry-budget.js';

export interface TokenBucketRetryBudgetOptions {
  /** Size of the bucket, in tokens; also the starting count. Integer 1–1000. Default 10 (A6). */
  readonly maxTokens?: number;
  /** Tokens a success adds. > 0, rounded to 3 decimals (A6). Default 0.1 (A6). */
  readonly tokenRatio?: number;
}

/**
 * `available` is the failures the bucket can still take before retries stop,
 * `tokens − maxTokens/2` (never negative; may be fractional).
 */
export interface TokenBucketRetryBudgetSnapshot extends RetryBudgetSnapshot {
  readonly name: 'token-bucket';
  /** The current token count, in [0, maxTokens]. */
  readonly tokens: number;
}

/** A token bucket retry budget with its options resolved. */
export interface TokenBucketRetryBudget extends RetryBudget {
  readonly name: 'token-bucket';
  readonly maxTokens: number;
  /** As used: rounded to 3 decimals. */
  readonly tokenRatio: number;
  snapshot(now: number): TokenBucketRetryBudgetSnapshot;
}

const optionKeys = ['maxTokens', 'tokenRatio'];

class TokenBucket implements TokenBucketRetryBudget {
  readonly name = 'token-bucket' as const;
  readonly maxTokens: number;
  readonly tokenRatio: number;
  readonly #maxMilli: number;
  readonly #ratioMilli: number;
  #milli: number;
  #refused = 0;

  constructor(maxTokens: number, ratioMilli: number) {
    this.maxTokens = maxTokens;
    this.tokenRatio = ratioMilli / 1000;
    this.#maxMilli = maxTokens * 1000;
    this.#ratioMilli = ratioMilli;
    this.#milli = this.#maxMilli;
  }

  onRequest(): void {
    // A6 counts outcomes, not requests.
  }

  tryRetry(): boolean {
    if (2 * this.#milli > this.#maxMilli) return true;
    this.#refused += 1;
    return false;
  }

  onOutcome(_now: number, failure: boolean): void {
    this.#milli = failure
      ? Math.max(0, this.#milli - 1000)
      : Math.min(this.#maxMilli, this.#milli + this.#ratioMilli);
  }

  snapshot(): TokenBucketRetryBudgetSnapshot {
    return {
      name: 'token-bucket',
      available: Math.max(0, this.#milli - this.#maxMilli / 2) / 1000,
      refused: this.#refused,
      tokens: this.#milli / 1000,
    };
  }
}

/**
 * gRFC A6 retry throttling, shared by every call of a pool. `path` names the options in
 * configuration errors (`budget` unless the caller knows better, e.g. `retry.budget`).
 */
export function tokenBucketRetryBudget(
  options: TokenBucketRetryBudgetOptions = {},
  path = 'budget',
): TokenBucketRetryBudget {
  v.knownKeys(path, options, optionKeys);
  const maxTokens = v.integer(`${path}.maxTokens`, options.maxTokens, 10, 1, 1000);
  const tokenRatio = v.positive(`${path}.tokenRatio`, options.tokenRatio, 0.1);
  const ratioMilli = Math.round(tokenRatio * 1000);
  if (ratioMilli === 0) {
    throw new DetourConfigError(
      `${path}.tokenRatio`,
      tokenRatio,
      'must be at least 0.0005 (it is rounded to 3 decimals, as in gRFC A6)',
    );
  }
  return new TokenBucket(maxTokens, ratioMilli);
}
