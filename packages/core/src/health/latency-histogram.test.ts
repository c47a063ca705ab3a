import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import { seededRandom } from '../testing/seeded-random.js';
import { LatencyHistogram } from './latency-histogram.js';

/** The exact nearest-rank percentile of `samples`. */
function exact(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1]!;
}

/** The histogram's answer is never below the exact value and at most 2 % above it. */
function expectWithin2Percent(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected * (1 - 1e-12));
  expect(actual).toBeLessThanOrEqual(expected * 1.02 * (1 + 1e-12));
}

describe('LatencyHistogram', () => {
  it('is empty at first: count 0, percentiles NaN', () => {
    const h = new LatencyHistogram({}, 0);
    expect(h.windowMs).toBe(30_000);
    expect(h.buckets).toBe(3);
    expect(h.count(0)).toBe(0);
    expect(h.percentile(0, 50)).toBeNaN();
  });

  it('gives nearest-rank percentiles of 1..1000 ms within 2 %', () => {
    const h = new LatencyHistogram({}, 0);
    const samples: number[] = [];
    for (let ms = 1; ms <= 1_000; ms++) {
      h.record(0, ms);
      samples.push(ms);
    }
    expect(h.count(0)).toBe(1_000);
    for (const p of [0, 1, 10, 50, 90, 95, 99, 99.9, 100]) {
      expectWithin2Percent(h.percentile(0, p), exact(samples, p));
    }
    expectWithin2Percent(h.percentile(0, 50), 500);
    expectWithin2Percent(h.percentile(0, 99), 990);
  });

  it('gives percentiles of a seeded exponential and a seeded log-normal distribution within 2 %', () => {
    const random = seededRandom(11);
    const expo: number[] = [];
    const logNormal: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      expo.push(-50 * Math.log(1 - random.next())); // mean 50 ms
      const z = Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
      logNormal.push(Math.exp(Math.log(20) + z)); // median 20 ms, long tail
    }
    for (const samples of [expo, logNormal]) {
      const h = new LatencyHistogram({}, 0);
      for (const s of samples) h.record(5, s);
      for (const p of [50, 90, 95, 99, 99.9]) {
        expectWithin2Percent(h.percentile(5, p), exact(samples, p));
      }
    }
  });

  it('is within 2 % for any samples in range and any percentile (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 600_000, noNaN: true }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (samples, p) => {
          const h = new LatencyHistogram({}, 0);
          for (const s of samples) h.record(0, s);
          expect(h.count(0)).toBe(samples.length);
          expectWithin2Percent(h.percentile(0, p), exact(samples, p));
        },
      ),
    );
  });

  it('slides: a slice drops out whole once the window has passed it', () => {
    const h = new LatencyHistogram({ windowMs: 30_000, buckets: 3 }, 0);
    for (let i = 0; i < 100; i++) h.record(1_000, 10);
    for (let i = 0; i < 100; i++) h.record(15_000, 1_000);
    expect(h.count(29_999)).toBe(200);
    expectWithin2Percent(h.percentile(29_999, 50), 10);
    expect(h.count(30_000)).toBe(100); // [0, 10 s) left
    expectWithin2Percent(h.percentile(30_000, 50), 1_000);
    expectWithin2Percent(h.percentile(30_000, 0), 1_000);
    expect(h.count(40_000)).toBe(0); // [10 s, 20 s) left
    expect(h.percentile(40_000, 50)).toBeNaN();
  });

  it('starts its slices at the construction time and survives long jumps', () => {
    const h = new LatencyHistogram({ windowMs: 3_000, buckets: 3 }, 500);
    h.record(500, 5);
    expect(h.count(3_499)).toBe(1);
    expect(h.count(3_500)).toBe(0);
    h.record(1e12, 7);
    h.record(1e12 - 5_000, 9); // time going back: counted in the current slice
    expect(h.count(1e12)).toBe(2);
    expectWithin2Percent(h.percentile(1e12, 100), 9);
    expect(h.count(1e12 + 1e9)).toBe(0);
  });

  it('clamps samples to [0.01 ms, 10 min] and ignores NaN', () => {
    const h = new LatencyHistogram({}, 0);
    for (const s of [0, -5, 0.001, -Infinity]) h.record(0, s);
    expect(h.percentile(0, 100)).toBeGreaterThanOrEqual(LatencyHistogram.minMs);
    expect(h.percentile(0, 100)).toBeLessThanOrEqual(LatencyHistogram.minMs * 1.02);
    h.record(0, Number.NaN);
    expect(h.count(0)).toBe(4);
    h.record(0, 1e9);
    h.record(0, Infinity);
    expect(h.count(0)).toBe(6);
    expect(h.percentile(0, 100)).toBe(LatencyHistogram.maxMs);
    expect(h.percentile(0, 67)).toBe(LatencyHistogram.maxMs); // rank 5 of 6
  });

  it('clamps p to 0..100 and answers NaN for a NaN p', () => {
    const h = new LatencyHistogram({}, 0);
    h.record(0, 1);
    h.record(0, 100);
    expect(h.percentile(0, -5)).toBe(h.percentile(0, 0));
    expect(h.percentile(0, 150)).toBe(h.percentile(0, 100));
    expectWithin2Percent(h.percentile(0, 0), 1);
    expectWithin2Percent(h.percentile(0, 100), 100);
    expect(h.percentile(0, Number.NaN)).toBeNaN();
  });

  it('has a 2 % relative error', () => {
    expect(LatencyHistogram.relativeError).toBeCloseTo(0.02, 12);
  });

  it.each([
    ['latencyHistogram.windowMs', { windowMs: 0 }, '0'],
    ['latencyHistogram.windowMs', { windowMs: -1 }, '-1'],
    ['latencyHistogram.windowMs', { windowMs: Number.NaN }, 'NaN'],
    ['latencyHistogram.windowMs', { windowMs: Infinity }, 'Infinity'],
    ['latencyHistogram.buckets', { buckets: 0 }, '0'],
    ['latencyHistogram.buckets', { buckets: 61 }, '61'],
    ['latencyHistogram.buckets', { buckets: 1.5 }, '1.5'],
    ['latencyHistogram.buckets', { buckets: '3' }, '"3"'],
    ['latencyHistogram.slices', { slices: 3 }, '3'],
    ['latencyHistogram', null, 'null'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => new LatencyHistogram(options as never, 0));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });

  it('names the path it is given', () => {
    expect(
      configError(() => new LatencyHistogram({ buckets: 0 }, 0, 'hedge.histogram')).option,
    ).toBe('hedge.histogram.buckets');
  });
});
