/**
 * Validation helpers: each checks one value and throws a `DetourConfigError` naming the option
 * path and the value. Used by every factory so bad configuration fails at construction time.
 */
import { DetourConfigError } from './errors.js';

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A finite number ≥ `min` (default 0), or `fallback` when `value` is undefined. */
export function number(
  option: string,
  value: unknown,
  fallback: number,
  min = 0,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value < min || value > max) {
    const range = max === Infinity ? `a finite number >= ${min}` : `a number from ${min} to ${max}`;
    throw new DetourConfigError(option, value, `must be ${range}`);
  }
  return value;
}

/** A finite number > 0. */
export function positive(option: string, value: unknown, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value <= 0 || value > max) {
    throw new DetourConfigError(
      option,
      value,
      max === Infinity ? 'must be a finite number > 0' : `must be a number > 0 and <= ${max}`,
    );
  }
  return value;
}

/** An integer ≥ `min` (default 0). */
export function integer(
  option: string,
  value: unknown,
  fallback: number,
  min = 0,
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

/**
 * `value` of `option` checked against another option's, `otherOption` = `other`: it must not be
 * below it (a maximum under its base, a window shorter than its interval).
 */
export function notBelow(
  option: string,
  value: number,
  otherOption: string,
  other: number,
): number {
  if (value < other) {
    throw new DetourConfigError(option, value, `must be >= ${otherOption} (${other})`);
  }
  return value;
}

/** A percentage from 0 to 100. */
export function percent(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value < 0 || value > 100) {
    throw new DetourConfigError(option, value, 'must be a percentage from 0 to 100');
  }
  return value;
}

/** A fraction from 0 to 1. */
export function fraction(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value < 0 || value > 1) {
    throw new DetourConfigError(option, value, 'must be a number from 0 to 1');
  }
  return value;
}

export function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new DetourConfigError(option, value, 'must be true or false');
  return value;
}

export function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new DetourConfigError(option, value, 'must be a non-empty string');
  }
  return value;
}

export function func<T extends (...args: never[]) => unknown>(option: string, value: unknown): T {
  if (typeof value !== 'function') throw new DetourConfigError(option, value, 'must be a function');
  return value as T;
}

export function oneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new DetourConfigError(
      option,
      value,
      `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
    );
  }
  return value as T;
}

/** Rejects keys that the option object does not know, so typos fail loudly. */
export function knownKeys(
  option: string,
  value: unknown,
  keys: readonly string[] | ReadonlySet<string>,
): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DetourConfigError(option, value, 'must be an object');
  }
  const list = Array.isArray(keys) ? (keys as readonly string[]) : undefined;
  const set = list ? undefined : (keys as ReadonlySet<string>);
  // for…in rather than Object.keys: no array per check (per-call options are checked per call).
  for (const key in value) {
    if (!(list ? list.includes(key) : set!.has(key)) && Object.hasOwn(value, key)) {
      throw new DetourConfigError(
        option === '' ? key : `${option}.${key}`,
        (value as Record<string, unknown>)[key],
        'is not a known option',
      );
    }
  }
}
