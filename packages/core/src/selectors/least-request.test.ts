import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { configError } from '../test-support/config-error.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { leastRequestSelector } from './least-request.js';

/** Records `e0`, `e1`… with these attempts in flight. */
function withInflight(inflight: readonly number[]): EndpointRecord[] {
  return records(inflight.map((count) => ({ inflight: count })));
}

describe('leastRequestSelector', () => {
  it("is named 'least-request' and compares 2 candidates by default", () => {
    expect(leastRequestSelector().name).toBe('least-request');
    expect(leastRequestSelector().choiceCount).toBe(2);
  });

  it('always prefers the idle one of two candidates (the two samples are distinct)', () => {
    const list = withInflight([10, 0]);
    const picker = leastRequestSelector().build(list, env(list));
    for (let i = 0; i < 1000; i++) expect(picker.pick({ now: 0 })).toBe(list[1]);
  });

  it('gives the least-loaded of n candidates d/n of the picks', () => {
    // P(the idle one is among d distinct samples of 10) = d / 10.
    const list = withInflight([5, 5, 5, 0, 5, 5, 5, 5, 5, 5]);
    for (const [choiceCount, share] of [
      [2, 0.2],
      [3, 0.3],
      [5, 0.5],
    ] as const) {
      const picker = leastRequestSelector({ choiceCount }).build(list, env(list, choiceCount));
      let idle = 0;
      for (let i = 0; i < 100_000; i++) if (picker.pick({ now: 0 }) === list[3]) idle++;
      expect(idle / 100_000).toBeCloseTo(share, 2);
    }
    const all = leastRequestSelector({ choiceCount: 10 }).build(list, env(list));
    for (let i = 0; i < 100; i++) expect(all.pick({ now: 0 })).toBe(list[3]);
  });

  it('balances in-flight attempts when picks add load', () => {
    const list = withInflight(new Array<number>(20).fill(0));
    const picker = leastRequestSelector().build(list, env(list, 5));
    for (let i = 0; i < 2000; i++) picker.pick({ now: 0 })!.inflight++;
    const loads = list.map((r) => r.inflight);
    // Two choices keep the spread to a few attempts (random picks would spread it to ~±30).
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(4);
  });

  it('breaks ties by the first sample, so equal loads stay uniform', () => {
    const list = withInflight([1, 1, 1, 1]);
    const picker = leastRequestSelector().build(list, env(list));
    const counts = new Map<EndpointRecord, number>();
    for (let i = 0; i < 40_000; i++) {
      const picked = picker.pick({ now: 0 })!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    for (const r of list) expect(counts.get(r)! / 40_000).toBeCloseTo(0.25, 1);
  });

  it('compares d distinct non-excluded candidates when at least d are left', () => {
    const list = withInflight([0, 0, 0, 7, 3]);
    const exclude = new Set(list.slice(0, 3));
    const picker = leastRequestSelector().build(list, env(list));
    for (let i = 0; i < 1000; i++) expect(picker.pick({ now: 0, exclude })).toBe(list[4]);
  });

  it('falls back to a scan when sampling keeps hitting excluded candidates', () => {
    const list = withInflight(Array.from({ length: 200 }, (_, i) => 100 - (i % 100)));
    const left = [list[17]!, list[150]!, list[199]!];
    const exclude = new Set(list.filter((r) => !left.includes(r)));
    const picker = leastRequestSelector({ choiceCount: 3 }).build(list, env(list));
    for (let i = 0; i < 200; i++) expect(left).toContain(picker.pick({ now: 0, exclude }));
  });

  it('returns undefined only when every candidate is excluded', () => {
    const list = withInflight([0, 0, 0]);
    const picker = leastRequestSelector({ choiceCount: 5 }).build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    expect(picker.pick({ now: 0, exclude: new Set(list.slice(1)) })).toBe(list[0]);
  });

  it('clamps choiceCount above 10 to 10 (gRFC A48)', () => {
    expect(leastRequestSelector({ choiceCount: 10 }).choiceCount).toBe(10);
    expect(leastRequestSelector({ choiceCount: 11 }).choiceCount).toBe(10);
    expect(leastRequestSelector({ choiceCount: 1000 }).choiceCount).toBe(10);
  });

  it.each([
    [1, '1'],
    [0, '0'],
    [-2, '-2'],
    [2.5, '2.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['3', '"3"'],
    [null, 'null'],
  ])('rejects choiceCount %s', (choiceCount, shown) => {
    const error = configError(() =>
      leastRequestSelector({ choiceCount: choiceCount as unknown as number }),
    );
    expect(error.option).toBe('selector.choiceCount');
    expect(error.value).toBe(choiceCount);
    expect(error.message).toContain(shown);
  });

  it('rejects unknown options and options that are not an object', () => {
    const unknown = configError(() =>
      leastRequestSelector({ choices: 3 } as unknown as { choiceCount: number }),
    );
    expect(unknown.option).toBe('selector.choices');
    expect(unknown.message).toContain('3');
    const notObject = configError(() => leastRequestSelector(4 as unknown as object));
    expect(notObject.option).toBe('selector');
    expect(notObject.message).toContain('4');
  });
});
