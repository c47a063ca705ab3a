import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import { seededRandom } from '../testing/seeded-random.js';
import { constantBackoff } from './backoff-constant.js';

describe('constantBackoff', () => {
  it('waits 100 ms before every retry by default', () => {
    const backoff = constantBackoff();
    expect(backoff).toMatchObject({ name: 'constant', delayMs: 100 });
    const random = seededRandom(1);
    expect([1, 2, 50].map((n) => backoff.delay(n, 100, random))).toEqual([100, 100, 100]);
  });

  it('allows 0 (retry at once)', () => {
    expect(constantBackoff({ delayMs: 0 }).delay(1, 0, seededRandom(1))).toBe(0);
  });

  it.each([
    ['backoff.delayMs', { delayMs: -1 }, '-1'],
    ['backoff.delayMs', { delayMs: Number.NaN }, 'NaN'],
    ['backoff.delayMs', { delayMs: Infinity }, 'Infinity'],
    ['backoff.delayMs', { delayMs: 2 ** 31 }, '2147483648'],
    ['backoff.delayMs', { delayMs: '100' }, '"100"'],
    ['backoff.delay', { delay: 100 }, '100'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => constantBackoff(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });
});
