/**
 * Decorrelated jitter backoff (AWS).
 *
 * Algorithm: each delay is drawn from the one before it:
 * `delay = min(maxMs, uniform[baseMs, 3 × max(baseMs, previousMs)))`. Before the first retry
 * `previousMs` is 0, so the first delay is uniform in [baseMs, 3 × baseMs). The delay grows by
 * up to 3× per retry but, unlike exponential backoff, depends on the delay actually drawn rather
 * than on the retry number, so clients that failed together drift apart quickly. Never shorter
 * than `baseMs`.
 *
 * This is the AWS article's `sleep = min(cap, random_between(base, sleep * 3))` with `sleep`
 * starting at `base`; the call keeps `previousMs` (see `Backoff`), so one strategy serves every
 * call. cockatiel's default and Polly's jittered exponential use a different, smoothed
 * "decorrelated jitter V2" (Polly.Contrib.WaitAndRetry); this is the original.
 *
 * Defaults, in ms: `baseMs` 25, `maxMs` 10 × `baseMs` (250), the same as `exponentialBackoff`
 * and for the same reason (Envoy and gRFC A44 defaults; failover retries go to another replica).
 *
 * Spec: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
import type { Random } from '../random.js';
import * as v from '../validate.js';
import type { Backoff } from './backoff.js';
import { delayWindow } from './delay-limit.js';

export interface DecorrelatedJitterBackoffOptions {
  /** Shortest delay, in ms. > 0. Default 25 (Envoy, gRFC A44). */
  readonly baseMs?: number;
  /** Longest delay, in ms. ≥ `baseMs`, ≤ 2^31 − 1. Default 10 × `baseMs`: 250. */
  readonly maxMs?: number;
}

/** A decorrelated jitter backoff with its options resolved. */
export interface DecorrelatedJitterBackoff extends Backoff {
  readonly name: 'decorrelated-jitter';
  readonly baseMs: number;
  readonly maxMs: number;
}

const optionKeys = ['baseMs', 'maxMs'];

/**
 * Decorrelated jitter backoff. `path` names the options in configuration errors (`backoff`
 * unless the caller knows better).
 */
export function decorrelatedJitterBackoff(
  options: DecorrelatedJitterBackoffOptions = {},
  path = 'backoff',
): DecorrelatedJitterBackoff {
  v.knownKeys(path, options, optionKeys);
  const { baseMs, maxMs } = delayWindow(path, options);

  return Object.freeze({
    name: 'decorrelated-jitter' as const,
    baseMs,
    maxMs,
    delay(_retry: number, previousMs: number, random: Random): number {
      // previousMs is 0 before the first retry; NaN or negative are treated the same way.
      const upper = 3 * (previousMs > baseMs ? previousMs : baseMs);
      const drawn = baseMs + random.next() * (upper - baseMs);
      return drawn < maxMs ? drawn : maxMs;
    },
  });
}
