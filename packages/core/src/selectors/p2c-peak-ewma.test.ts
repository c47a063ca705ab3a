import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { configError } from '../test-support/config-error.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { p2cPeakEwmaSelector } from './p2c-peak-ewma.js';

/** Records whose peak-EWMA estimate starts at the given latency (ms); NaN records no sample. */
function withLatency(latencies: readonly number[]): EndpointRecord[] {
  return records(latencies.map((latency) => (Number.isNaN(latency) ? {} : { latencyMs: latency })));
}

describe('p2cPeakEwmaSelector', () => {
  it("is named 'p2c-peak-ewma' and assumes 30 ms before the first sample", () => {
    expect(p2cPeakEwmaSelector().name).toBe('p2c-peak-ewma');
    expect(p2cPeakEwmaSelector().defaultRttMs).toBe(30);
  });

  it('never picks an endpoint 20× slower than its peers at equal load', () => {
    const list = withLatency([5, 5, 100, 5, 5]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    let slow = 0;
    for (let i = 0; i < 100_000; i++) if (picker.pick({ now: 0 }) === list[2]) slow++;
    expect(slow).toBe(0);
  });

  it('sends under 1% of 100,000 picks to the slow endpoint while load and latency evolve', () => {
    const list = withLatency([5, 5, 100, 5, 5]);
    const latency = new Map(list.map((r, i) => [r, i === 2 ? 100 : 5]));
    const picker = p2cPeakEwmaSelector().build(list, env(list, 11));
    // One pick every 0.1 ms (10 s in all); each attempt ends after its endpoint's latency.
    const pending: { record: EndpointRecord; endsAt: number }[] = [];
    let slow = 0;
    for (let i = 0; i < 100_000; i++) {
      const now = i * 0.1;
      while (pending.length > 0 && pending[0]!.endsAt <= now) {
        const done = pending.shift()!;
        done.record.inflight--;
        done.record.recordLatency(done.endsAt, latency.get(done.record)!);
      }
      const picked = picker.pick({ now })!;
      if (picked === list[2]) slow++;
      picked.inflight++;
      const endsAt = now + latency.get(picked)!;
      let at = pending.length;
      while (at > 0 && pending[at - 1]!.endsAt > endsAt) at--;
      pending.splice(at, 0, { record: picked, endsAt });
    }
    expect(slow / 100_000).toBeLessThan(0.01);
  });

  it('avoids an endpoint with many attempts in flight', () => {
    const list = withLatency([10, 10, 10, 10, 10]);
    list[1]!.inflight = 50;
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    let loaded = 0;
    for (let i = 0; i < 10_000; i++) if (picker.pick({ now: 0 }) === list[1]) loaded++;
    expect(loaded).toBe(0);
  });

  it('weighs latency against load: cost = latency × (inflight + 1)', () => {
    const list = withLatency([10, 25]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    list[0]!.inflight = 2; // 30 > 25
    expect(picker.pick({ now: 0 })).toBe(list[1]);
    list[0]!.inflight = 1; // 20 < 25
    expect(picker.pick({ now: 0 })).toBe(list[0]);
  });

  it('reads the estimate as decayed to the time of the pick', () => {
    const list = withLatency([50, 10]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    expect(picker.pick({ now: 0 })).toBe(list[1]);
    // 20 s later list[0]'s estimate has decayed to 50·e^-2 ≈ 6.8 ms, list[1]'s to 1.4 ms.
    expect(picker.pick({ now: 20_000 })).toBe(list[1]);
    list[1]!.recordLatency(20_000, 10);
    expect(picker.pick({ now: 20_000 })).toBe(list[0]);
  });

  it('tries an endpoint without samples at once, then uses defaultRttMs while it is busy', () => {
    const list = withLatency([Number.NaN, 4]);
    const byDefault = p2cPeakEwmaSelector().build(list, env(list));
    expect(byDefault.pick({ now: 0 })).toBe(list[0]); // idle and unknown: cost 0
    list[0]!.inflight = 1;
    expect(byDefault.pick({ now: 0 })).toBe(list[1]); // 30 × 2 > 4
    const optimistic = p2cPeakEwmaSelector({ defaultRttMs: 1 }).build(list, env(list));
    expect(optimistic.pick({ now: 0 })).toBe(list[0]); // 1 × 2 < 4
  });

  it('does not starve a new endpoint whose peers are faster than defaultRttMs', () => {
    // Regression: with a fixed default, an endpoint with no sample lost every comparison against
    // 4 ms peers and never got the attempt that would have given it a sample.
    const list = withLatency([4, 4, Number.NaN]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    let newcomer = 0;
    for (let i = 0; i < 100; i++) {
      const chosen = picker.pick({ now: i })!;
      if (chosen === list[2]) newcomer++;
      chosen.recordLatency(i, 4);
    }
    expect(newcomer).toBeGreaterThan(10);
  });

  it('splits evenly between two equal endpoints (ties go to the first, random, sample)', () => {
    const list = withLatency([7, 7]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    let first = 0;
    for (let i = 0; i < 20_000; i++) if (picker.pick({ now: 0 }) === list[0]) first++;
    expect(first / 20_000).toBeCloseTo(0.5, 1);
  });

  it('returns the single candidate left, and undefined only when all are excluded', () => {
    const list = withLatency([1, 100, 100]);
    const picker = p2cPeakEwmaSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set([list[0]!, list[2]!]) })).toBe(list[1]);
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    const one = withLatency([3]);
    expect(p2cPeakEwmaSelector().build(one, env(one)).pick({ now: 0 })).toBe(one[0]);
  });

  it.each([
    [0, '0'],
    [-5, '-5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['30', '"30"'],
    [null, 'null'],
  ])('rejects defaultRttMs %s', (defaultRttMs, shown) => {
    const error = configError(() =>
      p2cPeakEwmaSelector({ defaultRttMs: defaultRttMs as unknown as number }),
    );
    expect(error.option).toBe('selector.defaultRttMs');
    expect(error.value).toBe(defaultRttMs);
    expect(error.message).toContain(shown);
  });

  it('rejects unknown options', () => {
    const error = configError(() =>
      p2cPeakEwmaSelector({ decayMs: 10 } as unknown as { defaultRttMs: number }),
    );
    expect(error.option).toBe('selector.decayMs');
  });
});
