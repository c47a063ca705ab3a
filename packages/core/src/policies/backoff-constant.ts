/**
 * Constant backoff: the same delay before every retry.
 *
 * Default `delayMs` 100 ms. There is no jitter, so clients that fail together retry together;
 * prefer `exponentialBackoff` (the default) unless the retries go to different replicas anyway
 * or the caller is alone. cockatiel's default is a constant 0 ms and Polly's a constant 2 s;
 * 100 ms is long enough to step past a momentary blip (a connection reset, a restarting pod's
 * endpoint still in DNS) and short enough to stay within a typical call deadline. `delayMs` 0
 * retries at once.
 *
 * Spec: https://github.com/connor4312/cockatiel#constantbackoff (the equivalent in cockatiel).
 */
import * as v from '../validate.js';
import type { Backoff } from './backoff.js';
import { maxDelayMs } from './delay-limit.js';

export interface ConstantBackoffOptions {
  /** Delay before every retry, in ms. ≥ 0, ≤ 2^31 − 1. Default 100. */
  readonly delayMs?: number;
}

/** A constant backoff with its option resolved. */
export interface ConstantBackoff extends Backoff {
  readonly name: 'constant';
  readonly delayMs: number;
}

const optionKeys = ['delayMs'];

/**
 * Constant backoff. `path` names the options in configuration errors (`backoff` unless the
 * caller knows better).
 */
export function constantBackoff(
  options: ConstantBackoffOptions = {},
  path = 'backoff',
): ConstantBackoff {
  v.knownKeys(path, options, optionKeys);
  const delayMs = v.number(`${path}.delayMs`, options.delayMs, 100, 0, maxDelayMs);
  return Object.freeze({
    name: 'constant' as const,
    delayMs,
    delay(): number {
      return delayMs;
    },
  });
}
