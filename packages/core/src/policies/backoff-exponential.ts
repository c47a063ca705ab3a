/**
 * Exponential backoff with jitter.
 *
 * Algorithm: retry n (1 for the first retry) has the ceiling
 * `min(maxMs, baseMs × multiplier^(n−1))`, and the delay is drawn under it according to `jitter`:
 * - `'full'` (default): uniform in [0, ceiling), AWS's "full jitter". It spreads a burst of
 *   clients that failed together over the whole interval, which the AWS study found does the
 *   least total work and finishes soonest. Envoy and gRFC A6 jitter the same way.
 * - `'equal'`: uniform in [ceiling/2, ceiling), "equal jitter", as nice-grpc's retry middleware
 *   and cockatiel's `halfJitter` do. It never retries sooner than half the ceiling.
 * - `'none'`: exactly the ceiling.  Only for tests and single clients; synchronized clients retry
 *   in lockstep.
 *
 * Defaults, in ms: `baseMs` 25 and `maxMs` 10 × `baseMs` (250 with the default base), with
 * `multiplier` 2. These are Envoy's retry back-off defaults ("base interval 25 ms, max interval
 * 10 times the base") and gRFC A44's (xDS retry: base 25 ms, max 10× base). A client-side
 * failover library retries on another replica, so the wait only has to break synchronization,
 * not to let an overloaded server recover (the retry budget does that); short waits keep a
 * failed-over call inside its deadline. nice-grpc's 1 s base / 30 s max and Polly's 2 s base
 * suit retrying the same server.
 *
 * Spec: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ ;
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-max-retries ;
 * https://github.com/grpc/proposal/blob/master/A44-xds-retry.md ;
 * https://github.com/grpc/proposal/blob/master/A6-client-retries.md#exponential-backoff
 */
import type { Random } from '../random.js';
import * as v from '../validate.js';
import type { Backoff } from './backoff.js';
import { delayWindow } from './delay-limit.js';

export type ExponentialJitter = 'full' | 'equal' | 'none';

export interface ExponentialBackoffOptions {
  /** Ceiling of the first retry, in ms. > 0. Default 25 (Envoy, gRFC A44). */
  readonly baseMs?: number;
  /** Largest ceiling, in ms. ≥ `baseMs`, ≤ 2^31 − 1. Default 10 × `baseMs`: 250 (Envoy, A44). */
  readonly maxMs?: number;
  /** Growth of the ceiling per retry. ≥ 1. Default 2. */
  readonly multiplier?: number;
  /** How the delay is drawn under the ceiling. Default `'full'` (AWS full jitter, Envoy, A6). */
  readonly jitter?: ExponentialJitter;
}

/** An exponential backoff with its options resolved. */
export interface ExponentialBackoff extends Backoff {
  readonly name: 'exponential';
  readonly baseMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: ExponentialJitter;
}

const optionKeys = ['baseMs', 'maxMs', 'multiplier', 'jitter'];
const jitters: readonly ExponentialJitter[] = ['full', 'equal', 'none'];

/**
 * Exponential backoff. `path` names the options in configuration errors (`backoff` unless the
 * caller knows better, e.g. `retry.backoff`).
 */
export function exponentialBackoff(
  options: ExponentialBackoffOptions = {},
  path = 'backoff',
): ExponentialBackoff {
  v.knownKeys(path, options, optionKeys);
  const { baseMs, maxMs } = delayWindow(path, options);
  const multiplier = v.number(`${path}.multiplier`, options.multiplier, 2, 1);
  const jitter = v.oneOf(`${path}.jitter`, options.jitter, jitters, 'full');

  return Object.freeze({
    name: 'exponential' as const,
    baseMs,
    maxMs,
    multiplier,
    jitter,
    delay(retry: number, _previousMs: number, random: Random): number {
      const n = retry > 1 ? retry : 1;
      // multiplier^(n−1) may overflow to Infinity (or be NaN for 1^Infinity): both give maxMs.
      const raw = baseMs * multiplier ** (n - 1);
      const ceiling = raw < maxMs ? raw : maxMs;
      switch (jitter) {
        case 'full':
          return random.next() * ceiling;
        case 'equal':
          return ceiling / 2 + (random.next() * ceiling) / 2;
        case 'none':
          return ceiling;
      }
    },
  });
}
