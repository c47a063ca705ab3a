/**
 * Backoffs from configuration given as data. `backoffFromOptions(value, path)` accepts
 * - a `Backoff` object (anything with a `name` string and a `delay` function), used as given;
 * - a name, `'exponential'`, `'decorrelated-jitter'` or `'constant'`, for that backoff with its
 *   default options;
 * - `{ kind: <name>, ...options }`, for that backoff with options (so JSON configuration can set
 *   them); option errors name `path` (`retry.backoff.baseMs`);
 * - `undefined`, for `exponentialBackoff()` with its defaults (25 ms base, 250 ms max, full
 *   jitter).
 * Anything else throws `DetourConfigError` naming `path` and listing the names.
 */
import { DetourConfigError } from '../errors.js';
import type { Backoff } from './backoff.js';
import { constantBackoff } from './backoff-constant.js';
import { decorrelatedJitterBackoff } from './backoff-decorrelated.js';
import { exponentialBackoff } from './backoff-exponential.js';

export type BackoffName = 'exponential' | 'decorrelated-jitter' | 'constant';

const factories: { readonly [N in BackoffName]: (options: object, path: string) => Backoff } = {
  exponential: exponentialBackoff,
  'decorrelated-jitter': decorrelatedJitterBackoff,
  constant: constantBackoff,
};

/** Every backoff name, in the order the documentation lists them. */
export const backoffNames: readonly BackoffName[] = Object.freeze(
  Object.keys(factories) as BackoffName[],
);

/** True when `name` is one of `backoffNames`. */
export function isBackoffName(name: unknown): name is BackoffName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(factories, name);
}

const listed = backoffNames.map((name) => JSON.stringify(name)).join(', ');

export function backoffFromOptions(value: unknown, path: string): Backoff {
  if (value === undefined) return exponentialBackoff({}, path);
  if (isBackoffName(value)) return factories[value]({}, path);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (typeof record.delay === 'function') {
      if (typeof record.name !== 'string' || record.name.length === 0) {
        throw new DetourConfigError(`${path}.name`, record.name, 'must be a non-empty string');
      }
      return value as Backoff;
    }
    if ('kind' in record) {
      const { kind, ...options } = record;
      if (!isBackoffName(kind)) {
        throw new DetourConfigError(`${path}.kind`, kind, `must be one of ${listed}`);
      }
      return factories[kind](options, path);
    }
  }
  throw new DetourConfigError(
    path,
    value,
    `must be one of ${listed}, { kind: <one of those>, ...options }, or a Backoff object`,
  );
}
