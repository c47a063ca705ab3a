import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Random } from '../random.js';
import { configError } from '../test-support/config-error.js';
import { seededRandom } from '../testing/seeded-random.js';
import { decorrelatedJitterBackoff } from './backoff-decorrelated.js';
import { maxDelayMs } from './delay-limit.js';

const fixed = (value: number): Random => ({ next: () => value });

describe('decorrelatedJitterBackoff', () => {
  it('defaults to 25 ms base and 250 ms max', () => {
    const backoff = decorrelatedJitterBackoff();
    expect(backoff).toMatchObject({ name: 'decorrelated-jitter', baseMs: 25, maxMs: 250 });
    expect(Object.isFrozen(backoff)).toBe(true);
  });

  it('draws the first delay from [base, 3 × base)', () => {
    const backoff = decorrelatedJitterBackoff();
    expect(backoff.delay(1, 0, fixed(0))).toBe(25);
    expect(backoff.delay(1, 0, fixed(0.5))).toBe(50);
    expect(backoff.delay(1, 0, fixed(0.999))).toBeLessThan(75);
  });

  it('draws later delays from [base, 3 × previous), capped at maxMs', () => {
    const backoff = decorrelatedJitterBackoff();
    expect(backoff.delay(2, 60, fixed(0.5))).toBe(25 + 0.5 * (180 - 25));
    expect(backoff.delay(3, 200, fixed(0.9))).toBe(250);
    expect(backoff.delay(3, 200, fixed(0))).toBe(25);
  });

  it('treats a NaN or negative previous delay as none', () => {
    const backoff = decorrelatedJitterBackoff();
    expect(backoff.delay(1, Number.NaN, fixed(0.5))).toBe(50);
    expect(backoff.delay(1, -10, fixed(0.5))).toBe(50);
  });

  it('keeps every delay of a chain within [base, min(max, 3 × previous)] (property)', () => {
    const options = fc
      .record({
        baseMs: fc.double({ min: 0.001, max: 100_000, noNaN: true }),
        spread: fc.double({ min: 1, max: 1_000, noNaN: true }),
      })
      .map(({ baseMs, spread }) => ({ baseMs, maxMs: Math.min(baseMs * spread, maxDelayMs) }));
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 50 }), fc.integer(), (opts, retries, seed) => {
        const backoff = decorrelatedJitterBackoff(opts);
        const random = seededRandom(seed);
        let previous = 0;
        for (let retry = 1; retry <= retries; retry++) {
          const delay = backoff.delay(retry, previous, random);
          const upper = Math.min(opts.maxMs, 3 * Math.max(opts.baseMs, previous));
          expect(Number.isNaN(delay)).toBe(false);
          expect(delay).toBeGreaterThanOrEqual(opts.baseMs);
          expect(delay).toBeLessThanOrEqual(upper);
          expect(delay).toBeLessThanOrEqual(opts.maxMs);
          previous = delay;
        }
      }),
    );
  });

  it('grows towards maxMs over a chain (mean of the 10th delay near the cap)', () => {
    const backoff = decorrelatedJitterBackoff();
    const random = seededRandom(3);
    let sum = 0;
    for (let run = 0; run < 1_000; run++) {
      let previous = 0;
      for (let retry = 1; retry <= 10; retry++) previous = backoff.delay(retry, previous, random);
      sum += previous;
    }
    expect(sum / 1_000).toBeGreaterThan(150);
  });

  it.each([
    ['backoff.baseMs', { baseMs: 0 }, '0'],
    ['backoff.baseMs', { baseMs: -5 }, '-5'],
    ['backoff.baseMs', { baseMs: Number.NaN }, 'NaN'],
    ['backoff.maxMs', { maxMs: 24 }, '24'],
    ['backoff.maxMs', { maxMs: Infinity }, 'Infinity'],
    ['backoff.maxMs', { maxMs: '250' }, '"250"'],
    ['backoff.multiplier', { multiplier: 2 }, '2'],
    ['backoff', [], '[]'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => decorrelatedJitterBackoff(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });
});
