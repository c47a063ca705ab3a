/**
 * Option checks for this package's factories: each checks one value and throws a
 * `DetourConfigError` naming the option path and the value, so bad configuration fails when the
 * detector or breaker is made.
 */
import { DetourConfigError } from '@detour/core';

/** Node's largest timer delay (2^31 − 1 ms, about 24.8 days); longer delays fire at once. */
export const maxTimerMs = 2_147_483_647;

/** Rejects keys the option object does not know, so typos fail loudly. */
export function knownKeys(option: string, value: unknown, keys: readonly string[]): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DetourConfigError(option, value, 'must be an object');
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new DetourConfigError(
        `${option}.${key}`,
        (value as Record<string, unknown>)[key],
        'is not a known option',
      );
    }
  }
}

/** An integer from `min` to `max`, or `fallback` when `value` is undefined. */
export function integer(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new DetourConfigError(option, value, `must be ${range}`);
  }
  return value as number;
}

/** A percentage from 0 to 100. */
export function percent(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new DetourConfigError(option, value, 'must be a percentage from 0 to 100');
  }
  return value;
}

export function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new DetourConfigError(option, value, 'must be true or false');
  }
  return value;
}

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
