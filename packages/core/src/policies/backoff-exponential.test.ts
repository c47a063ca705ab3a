import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Random } from '../random.js';
import { configError } from '../test-support/config-error.js';
import { seededRandom } from '../testing/seeded-random.js';
import { exponentialBackoff } from './backoff-exponential.js';
import type { ExponentialJitter } from './backoff-exponential.js';
import { maxDelayMs } from './delay-limit.js';

/** A `Random` that always returns `value`. */
const fixed = (value: number): Random => ({ next: () => value });
const almostOne = 1 - Number.EPSILON / 2;

describe('exponentialBackoff', () => {
  it('defaults to 25 ms base, 250 ms max, multiplier 2 and full jitter (Envoy, gRFC A44)', () => {
    const backoff = exponentialBackoff();
    expect(backoff).toMatchObject({
      name: 'exponential',
      baseMs: 25,
      maxMs: 250,
      multiplier: 2,
      jitter: 'full',
    });
    expect(Object.isFrozen(backoff)).toBe(true);
  });

  it('doubles the ceiling per retry up to maxMs', () => {
    const backoff = exponentialBackoff({ jitter: 'none' });
    const delays = [1, 2, 3, 4, 5, 6, 10, 100].map((n) => backoff.delay(n, 0, fixed(0.5)));
    expect(delays).toEqual([25, 50, 100, 200, 250, 250, 250, 250]);
  });

  it('draws full jitter from [0, ceiling)', () => {
    const backoff = exponentialBackoff();
    expect(backoff.delay(3, 0, fixed(0))).toBe(0);
    expect(backoff.delay(3, 0, fixed(0.5))).toBe(50);
    expect(backoff.delay(3, 0, fixed(almostOne))).toBeLessThan(100);
  });

  it('draws equal jitter from [ceiling/2, ceiling) (nice-grpc)', () => {
    const backoff = exponentialBackoff({ jitter: 'equal' });
    expect(backoff.delay(3, 0, fixed(0))).toBe(50);
    expect(backoff.delay(3, 0, fixed(0.5))).toBe(75);
    expect(backoff.delay(3, 0, fixed(0.999))).toBeLessThan(100);
    // In floating point, the top of the half-open interval can round up to the ceiling itself.
    expect(backoff.delay(3, 0, fixed(almostOne))).toBeLessThanOrEqual(100);
  });

  it('has a full-jitter mean of half the ceiling over 10,000 seeded draws', () => {
    const backoff = exponentialBackoff();
    const random = seededRandom(42);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += backoff.delay(3, 0, random);
    // uniform [0, 100): mean 50, standard error 100/√12/√10000 ≈ 0.29
    expect(sum / 10_000).toBeCloseTo(50, 0);
  });

  it('has an equal-jitter mean of three quarters of the ceiling', () => {
    const backoff = exponentialBackoff({ jitter: 'equal' });
    const random = seededRandom(7);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += backoff.delay(4, 0, random);
    expect(sum / 10_000).toBeCloseTo(150, 0); // uniform [100, 200)
  });

  it('derives maxMs from baseMs when only baseMs is given (10×, as Envoy)', () => {
    expect(exponentialBackoff({ baseMs: 100 }).maxMs).toBe(1_000);
    expect(exponentialBackoff({ baseMs: 1e9 }).maxMs).toBe(maxDelayMs);
  });

  it('treats a retry number below 1 as the first retry and never returns NaN', () => {
    const backoff = exponentialBackoff({ jitter: 'none' });
    expect(backoff.delay(0, 0, fixed(0.5))).toBe(25);
    expect(backoff.delay(Number.NaN, 0, fixed(0.5))).toBe(25);
    expect(backoff.delay(Infinity, 0, fixed(0.5))).toBe(250);
    const flat = exponentialBackoff({ multiplier: 1, maxMs: 100, jitter: 'none' });
    expect(flat.delay(Infinity, 0, fixed(0.5))).toBe(100);
    expect(flat.delay(1_000, 0, fixed(0.5))).toBe(25);
  });

  it('keeps every delay within its bounds (property)', () => {
    const options = fc
      .record({
        baseMs: fc.double({ min: 0.001, max: 100_000, noNaN: true }),
        spread: fc.double({ min: 1, max: 1_000, noNaN: true }),
        multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
        jitter: fc.constantFrom<ExponentialJitter>('full', 'equal', 'none'),
      })
      .map(({ baseMs, spread, multiplier, jitter }) => ({
        baseMs,
        maxMs: Math.min(baseMs * spread, maxDelayMs),
        multiplier,
        jitter,
      }));
    fc.assert(
      fc.property(
        options,
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer(),
        (opts, retry, previousMs, seed) => {
          const backoff = exponentialBackoff(opts);
          const ceiling = Math.min(opts.maxMs, opts.baseMs * opts.multiplier ** (retry - 1));
          const lower =
            opts.jitter === 'full' ? 0 : opts.jitter === 'equal' ? ceiling / 2 : ceiling;
          const delay = backoff.delay(retry, previousMs, seededRandom(seed));
          expect(Number.isNaN(delay)).toBe(false);
          expect(delay).toBeGreaterThanOrEqual(lower);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeLessThanOrEqual(opts.maxMs);
        },
      ),
    );
  });

  it.each([
    ['backoff.baseMs', { baseMs: 0 }, '0'],
    ['backoff.baseMs', { baseMs: -1 }, '-1'],
    ['backoff.baseMs', { baseMs: Number.NaN }, 'NaN'],
    ['backoff.baseMs', { baseMs: Infinity }, 'Infinity'],
    ['backoff.baseMs', { baseMs: '25' }, '"25"'],
    ['backoff.maxMs', { maxMs: 10 }, '10'],
    ['backoff.maxMs', { baseMs: 100, maxMs: 50 }, '50'],
    ['backoff.maxMs', { maxMs: 2 ** 31 }, '2147483648'],
    ['backoff.maxMs', { maxMs: Infinity }, 'Infinity'],
    ['backoff.multiplier', { multiplier: 0.5 }, '0.5'],
    ['backoff.multiplier', { multiplier: Number.NaN }, 'NaN'],
    ['backoff.multiplier', { multiplier: Infinity }, 'Infinity'],
    ['backoff.jitter', { jitter: 'half' }, '"half"'],
    ['backoff.jitter', { jitter: true }, 'true'],
    ['backoff.base', { base: 25 }, '25'],
    ['backoff', null, 'null'],
    ['backoff', 'exponential', '"exponential"'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => exponentialBackoff(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });

  it('names the path it is given', () => {
    expect(configError(() => exponentialBackoff({ baseMs: -1 }, 'retry.backoff')).option).toBe(
      'retry.backoff.baseMs',
    );
  });
});
