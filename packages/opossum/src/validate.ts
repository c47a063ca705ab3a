/**
 * Option checks for this package's factories: each checks one value and throws a
 * `DetourConfigError` naming the option path and the value, so bad configuration fails when the
 * detector or breaker is made.
 */
import { DetourConfigError, validate } from '@detour/core';

/** Node's largest timer delay (2^31 − 1 ms, about 24.8 days); longer delays fire at once. */
export const maxTimerMs = 2_147_483_647;

// The checks core has are core's: one implementation, one wording of every error.
export const { knownKeys, integer, percent, boolean } = validate;

/** A function, or undefined. */
export function optionalFunction<T>(option: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new DetourConfigError(option, value, 'must be a function');
  return value as T;
}

/** A non-empty string, or `fallback` when `value` is undefined. */
export function name(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw new DetourConfigError(option, value, 'must be a non-empty string');
  }
  return value;
}
