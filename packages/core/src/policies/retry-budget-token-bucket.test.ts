import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import { tokenBucketRetryBudget } from './retry-budget-token-bucket.js';

type Bucket = ReturnType<typeof tokenBucketRetryBudget>;
const fail = (budget: Bucket, n: number): void => {
  for (let i = 0; i < n; i++) budget.onOutcome(0, true);
};
const succeed = (budget: Bucket, n: number): void => {
  for (let i = 0; i < n; i++) budget.onOutcome(0, false);
};

describe('tokenBucketRetryBudget', () => {
  it("defaults to A6's example, maxTokens 10 and tokenRatio 0.1, starting full", () => {
    const budget = tokenBucketRetryBudget();
    expect(budget).toMatchObject({ name: 'token-bucket', maxTokens: 10, tokenRatio: 0.1 });
    expect(budget.snapshot(0)).toEqual({
      name: 'token-bucket',
      available: 5,
      refused: 0,
      tokens: 10,
    });
  });

  it('follows gRFC A6: retries stop once tokens ≤ maxTokens / 2, successes restore them', () => {
    const budget = tokenBucketRetryBudget({ maxTokens: 10, tokenRatio: 0.1 });
    fail(budget, 4);
    expect(budget.snapshot(0).tokens).toBe(6);
    expect(budget.tryRetry(0)).toBe(true);
    fail(budget, 1); // 5 tokens: "less than or equal to the threshold"
    expect(budget.tryRetry(0)).toBe(false);
    fail(budget, 1);
    expect(budget.tryRetry(0)).toBe(false);
    expect(budget.snapshot(0)).toMatchObject({ tokens: 4, available: 0, refused: 2 });
    succeed(budget, 10); // 5.0: still at the threshold
    expect(budget.snapshot(0).tokens).toBe(5);
    expect(budget.tryRetry(0)).toBe(false);
    succeed(budget, 1); // 5.1
    expect(budget.tryRetry(0)).toBe(true);
    expect(budget.snapshot(0)).toMatchObject({ tokens: 5.1, available: 0.1, refused: 3 });
  });

  it('does not spend tokens in tryRetry (A6: a retry pays only if it fails)', () => {
    const budget = tokenBucketRetryBudget();
    for (let i = 0; i < 1_000; i++) expect(budget.tryRetry(i)).toBe(true);
    expect(budget.snapshot(1_000).tokens).toBe(10);
  });

  it('ignores first attempts and time', () => {
    const budget = tokenBucketRetryBudget();
    fail(budget, 5);
    for (let i = 0; i < 1_000; i++) budget.onRequest(i * 1_000);
    expect(budget.tryRetry(1e9)).toBe(false);
    expect(budget.snapshot(1e9).tokens).toBe(5);
  });

  it('floors tokens at 0 and caps them at maxTokens, without drift', () => {
    const budget = tokenBucketRetryBudget();
    fail(budget, 100);
    expect(budget.snapshot(0).tokens).toBe(0);
    succeed(budget, 50); // exactly 5.0 in thousandths; a float sum of 0.1s would give 4.99…
    expect(budget.snapshot(0).tokens).toBe(5);
    expect(budget.tryRetry(0)).toBe(false);
    succeed(budget, 1);
    expect(budget.tryRetry(0)).toBe(true);
    succeed(budget, 1_000);
    expect(budget.snapshot(0).tokens).toBe(10);
  });

  it('keeps tokenRatio to 3 decimals (A6)', () => {
    const budget = tokenBucketRetryBudget({ tokenRatio: 0.1234 });
    expect(budget.tokenRatio).toBe(0.123);
    fail(budget, 1);
    succeed(budget, 1);
    expect(budget.snapshot(0).tokens).toBe(9.123);
  });

  it('works with the smallest bucket', () => {
    const budget = tokenBucketRetryBudget({ maxTokens: 1, tokenRatio: 1 });
    expect(budget.tryRetry(0)).toBe(true);
    fail(budget, 1);
    expect(budget.tryRetry(0)).toBe(false);
    succeed(budget, 1);
    expect(budget.tryRetry(0)).toBe(true);
  });

  it.each([
    ['budget.maxTokens', { maxTokens: 0 }, '0'],
    ['budget.maxTokens', { maxTokens: 1_001 }, '1001'],
    ['budget.maxTokens', { maxTokens: 2.5 }, '2.5'],
    ['budget.maxTokens', { maxTokens: -10 }, '-10'],
    ['budget.maxTokens', { maxTokens: Number.NaN }, 'NaN'],
    ['budget.maxTokens', { maxTokens: '10' }, '"10"'],
    ['budget.tokenRatio', { tokenRatio: 0 }, '0'],
    ['budget.tokenRatio', { tokenRatio: -0.1 }, '-0.1'],
    ['budget.tokenRatio', { tokenRatio: Number.NaN }, 'NaN'],
    ['budget.tokenRatio', { tokenRatio: Infinity }, 'Infinity'],
    ['budget.tokenRatio', { tokenRatio: 0.0001 }, '0.0001'],
    ['budget.max_tokens', { max_tokens: 10 }, '10'],
    ['budget', 'token-bucket', '"token-bucket"'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => tokenBucketRetryBudget(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });
});
