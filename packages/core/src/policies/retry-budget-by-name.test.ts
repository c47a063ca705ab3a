import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import type { RetryBudget } from './retry-budget.js';
import {
  isRetryBudgetName,
  retryBudgetFromOptions,
  retryBudgetNames,
} from './retry-budget-by-name.js';

const custom: RetryBudget = {
  name: 'custom',
  onRequest: () => undefined,
  tryRetry: () => true,
  onOutcome: () => undefined,
  snapshot: () => ({ name: 'custom', available: 1, refused: 0 }),
};

describe('retryBudgetFromOptions', () => {
  it('knows every budget', () => {
    expect(retryBudgetNames).toEqual(['ratio', 'token-bucket']);
    expect(isRetryBudgetName('ratio')).toBe(true);
    expect(isRetryBudgetName('constructor')).toBe(false);
  });

  it('gives the ratio budget with its defaults for undefined', () => {
    expect(retryBudgetFromOptions(undefined, 'retry.budget')).toMatchObject({
      name: 'ratio',
      percent: 20,
      minPerSecond: 10,
      windowMs: 10_000,
    });
  });

  it('gives no budget for false', () => {
    expect(retryBudgetFromOptions(false, 'retry.budget')).toBeUndefined();
  });

  it('uses a RetryBudget object as given', () => {
    expect(retryBudgetFromOptions(custom, 'retry.budget')).toBe(custom);
  });

  it('gives a new budget each time (budgets hold state)', () => {
    expect(retryBudgetFromOptions('ratio', 'b')).not.toBe(retryBudgetFromOptions('ratio', 'b'));
  });

  it.each(retryBudgetNames.map((name) => [name]))('gives %s by name', (name) => {
    expect(retryBudgetFromOptions(name, 'retry.budget')?.name).toBe(name);
  });

  it('makes a budget from { kind, ...options }', () => {
    expect(
      retryBudgetFromOptions({ kind: 'ratio', percent: 10, windowMs: 5_000 }, 'retry.budget'),
    ).toMatchObject({ name: 'ratio', percent: 10, minPerSecond: 10, windowMs: 5_000 });
    expect(
      retryBudgetFromOptions({ kind: 'token-bucket', maxTokens: 100 }, 'retry.budget'),
    ).toMatchObject({ name: 'token-bucket', maxTokens: 100, tokenRatio: 0.1 });
  });

  it('names the caller path in option errors', () => {
    expect(
      configError(() => retryBudgetFromOptions({ kind: 'ratio', percent: 200 }, 'retry.budget'))
        .option,
    ).toBe('retry.budget.percent');
    expect(
      configError(() => retryBudgetFromOptions({ kind: 'token-bucket', ttl: 1 }, 'retry.budget'))
        .option,
    ).toBe('retry.budget.ttl');
    const kind = configError(() => retryBudgetFromOptions({ kind: 'leaky' }, 'retry.budget'));
    expect(kind.option).toBe('retry.budget.kind');
    expect(kind.message).toContain('"ratio", "token-bucket"');
  });

  it('rejects a RetryBudget object missing a method or its name', () => {
    const { onOutcome: _onOutcome, ...partial } = custom;
    expect(configError(() => retryBudgetFromOptions(partial, 'retry.budget')).option).toBe(
      'retry.budget.onOutcome',
    );
    expect(
      configError(() => retryBudgetFromOptions({ ...custom, name: '' }, 'retry.budget')).option,
    ).toBe('retry.budget.name');
  });

  it.each([
    [true, 'true'],
    [null, 'null'],
    ['finagle', '"finagle"'],
    [0.2, '0.2'],
    [{ percent: 20 }, '{"percent":20}'],
    [[], '[]'],
  ])('rejects %j, naming the path and listing the names', (value, shown) => {
    const error = configError(() => retryBudgetFromOptions(value, 'retry.budget'));
    expect(error.option).toBe('retry.budget');
    expect(error.value).toBe(value);
    expect(error.message).toContain(shown);
    expect(error.message).toContain('"ratio", "token-bucket"');
  });
});
