/**
 * Retry budgets from configuration given as data. `retryBudgetFromOptions(value, path)` accepts
 * - a `RetryBudget` object (with `name`, `onRequest`, `tryRetry`, `onOutcome`, `snapshot`),
 *   used as given;
 * - `undefined`, for `ratioRetryBudget()` with its defaults (20 % + 10/s over 10 s), so retries
 *   are budgeted unless the caller says otherwise;
 * - `false`, for no budget (`undefined`): retries are limited only by the retry count;
 * - a name, `'ratio'` or `'token-bucket'`, for that budget with its default options;
 * - `{ kind: 'ratio', ...RatioRetryBudgetOptions }` or
 *   `{ kind: 'token-bucket', ...TokenBucketRetryBudgetOptions }`; option errors name `path`
 *   (`retry.budget.percent`).
 * Anything else throws `DetourConfigError` naming `path`. Budgets hold state, so every call makes
 * a new one: give the result to one pool.
 */
import { DetourConfigError } from '../errors.js';
import type { RetryBudget } from './retry-budget.js';
import { ratioRetryBudget } from './retry-budget-ratio.js';
import { tokenBucketRetryBudget } from './retry-budget-token-bucket.js';

export type RetryBudgetName = 'ratio' | 'token-bucket';

const factories: {
  readonly [N in RetryBudgetName]: (options: object, path: string) => RetryBudget;
} = {
  ratio: ratioRetryBudget,
  'token-bucket': tokenBucketRetryBudget,
};

/** Every retry budget name, in the order the documentation lists them. */
export const retryBudgetNames: readonly RetryBudgetName[] = Object.freeze(
  Object.keys(factories) as RetryBudgetName[],
);

/** True when `name` is one of `retryBudgetNames`. */
export function isRetryBudgetName(name: unknown): name is RetryBudgetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(factories, name);
}

const listed = retryBudgetNames.map((name) => JSON.stringify(name)).join(', ');
const methods = ['onRequest', 'tryRetry', 'onOutcome', 'snapshot'] as const;

export function retryBudgetFromOptions(value: unknown, path: string): RetryBudget | undefined {
  if (value === undefined) return ratioRetryBudget({}, path);
  if (value === false) return undefined;
  if (isRetryBudgetName(value)) return factories[value]({}, path);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (typeof record.tryRetry === 'function') {
      if (typeof record.name !== 'string' || record.name.length === 0) {
        throw new DetourConfigError(`${path}.name`, record.name, 'must be a non-empty string');
      }
      for (const method of methods) {
        if (typeof record[method] !== 'function') {
          throw new DetourConfigError(`${path}.${method}`, record[method], 'must be a function');
        }
      }
      return value as RetryBudget;
    }
    if ('kind' in record) {
      const { kind, ...options } = record;
      if (!isRetryBudgetName(kind)) {
        throw new DetourConfigError(`${path}.kind`, kind, `must be one of ${listed}`);
      }
      return factories[kind](options, path);
    }
  }
  throw new DetourConfigError(
    path,
    value,
    `must be false, one of ${listed}, { kind: <one of those>, ...options }, or a RetryBudget object`,
  );
}
