/**
 * The longest delay a backoff may return: 2^31 − 1 ms (about 24.8 days). Timers in Node and in
 * browsers store the delay as a signed 32-bit integer and fire at once when given more
 * (https://developer.mozilla.org/en-US/docs/Web/API/Window/setTimeout#maximum_delay_value), so
 * a larger `maxMs` would turn "wait a very long time" into "retry immediately". Backoff
 * factories reject options above it.
 */
export const maxDelayMs = 2_147_483_647;
