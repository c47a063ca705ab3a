import * as v from '../validate.js';

/**
 * The longest delay a backoff may return: 2^31 − 1 ms (about 24.8 days). Timers in Node and in
 * browsers store the delay as a signed 32-bit integer and fire at once when given more
 * (https://developer.mozilla.org/en-US/docs/Web/API/Window/setTimeout#maximum_delay_value), so
 * a larger `maxMs` would turn "wait a very long time" into "retry immediately". Backoff
 * factories reject options above it.
 */
export const maxDelayMs = 2_147_483_647;

/**
 * Validates a backoff's `baseMs` (default 25, > 0) and `maxMs` (default 10 × base, Envoy's and
 * gRFC A44's rule), both at most `maxDelayMs`, with `maxMs` ≥ `baseMs`.
 */
export function delayWindow(
  path: string,
  options: { readonly baseMs?: number; readonly maxMs?: number },
): { baseMs: number; maxMs: number } {
  const baseMs = v.positive(`${path}.baseMs`, options.baseMs, 25, maxDelayMs);
  const maxMs = v.notBelow(
    `${path}.maxMs`,
    v.number(`${path}.maxMs`, options.maxMs, Math.min(10 * baseMs, maxDelayMs), 0, maxDelayMs),
    `${path}.baseMs`,
    baseMs,
  );
  return { baseMs, maxMs };
}
