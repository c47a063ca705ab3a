import { describe, it, expect } from 'vitest';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { weightedLeastLoadSelector } from './weighted-least-load.js';

describe('weightedLeastLoadSelector', () => {
  it("is named 'weighted-least-load'", () => {
    expect(weightedLeastLoadSelector().name).toBe('weighted-least-load');
  });

  it('picks the lowest inflight / (weight × capacity)', () => {
    const list = records([
      { inflight: 4, weight: 1, capacity: 1 }, // 4
      { inflight: 6, weight: 2, capacity: 2 }, // 1.5
      { inflight: 3, weight: 1, capacity: 2 }, // 1.5
      { inflight: 9, weight: 4, capacity: 2 }, // 1.125
    ]);
    const picker = weightedLeastLoadSelector().build(list, env(list));
    for (let i = 0; i < 10; i++) expect(picker.pick({ now: 0 })).toBe(list[3]);
  });

  it('gives weight and capacity a larger share of the load, not a smaller one', () => {
    const list = records([
      { weight: 1, capacity: 1 },
      { weight: 2, capacity: 1 },
      { weight: 1, capacity: 3 },
      { weight: 2, capacity: 2 },
    ]);
    const picker = weightedLeastLoadSelector().build(list, env(list));
    // Attempts that never finish: in-flight counts settle in proportion to weight × capacity.
    for (let i = 0; i < 1000; i++) picker.pick({ now: 0 })!.inflight++;
    expect(list.map((r) => r.inflight)).toEqual([100, 200, 300, 400]);
  });

  it('takes turns among equally loaded candidates', () => {
    const list = records([{}, {}, {}, {}, {}]);
    const picker = weightedLeastLoadSelector().build(list, env(list));
    const seen = new Set(Array.from({ length: 5 }, () => picker.pick({ now: 0 })));
    expect(seen.size).toBe(5);
  });

  it('skips excluded candidates and returns undefined only when all are', () => {
    const list = records([{ inflight: 0 }, { inflight: 5 }, { inflight: 9 }]);
    const picker = weightedLeastLoadSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set([list[0]!]) })).toBe(list[1]);
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
  });

  it('copes with weight × capacity that underflows to 0', () => {
    const list = records([
      { weight: 1e-200, capacity: 1e-200, inflight: 0 },
      { weight: 1e-200, capacity: 1e-200, inflight: 1 },
    ]);
    const picker = weightedLeastLoadSelector().build(list, env(list));
    for (let i = 0; i < 5; i++) expect(picker.pick({ now: 0 })).toBe(list[0]);
  });
});
