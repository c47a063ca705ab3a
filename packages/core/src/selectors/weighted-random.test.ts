import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { CHI2_P001, chiSquare } from '../test-support/chi-square.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { weightedRandomSelector } from './weighted-random.js';

/** Pearson's χ² of pick counts against shares proportional to the records' weights. */
function chiSquareOfPicks(
  counts: ReadonlyMap<EndpointRecord, number>,
  expectedOf: readonly EndpointRecord[],
): number {
  return chiSquare(
    expectedOf.map((r) => counts.get(r) ?? 0),
    expectedOf.map((r) => r.endpoint.weight),
  );
}

function countPicks(
  list: EndpointRecord[],
  picks: number,
  exclude?: ReadonlySet<EndpointRecord>,
  seed = 1,
): Map<EndpointRecord, number> {
  const picker = weightedRandomSelector().build(list, env(list, seed));
  const counts = new Map<EndpointRecord, number>();
  for (let i = 0; i < picks; i++) {
    const picked = picker.pick({ now: 0, exclude })!;
    counts.set(picked, (counts.get(picked) ?? 0) + 1);
  }
  return counts;
}

describe('weightedRandomSelector', () => {
  it("is named 'weighted-random'", () => {
    expect(weightedRandomSelector().name).toBe('weighted-random');
  });

  it('picks in proportion to weight (χ² over 100,000 picks, p = 0.001)', () => {
    const list = records([1, 2, 3, 4, 10].map((weight) => ({ weight })));
    const counts = countPicks(list, 100_000);
    expect(chiSquareOfPicks(counts, list)).toBeLessThan(CHI2_P001[4]!);
  });

  it('picks uniformly when weights are equal', () => {
    const list = records(Array.from({ length: 10 }, () => ({ weight: 3 })));
    expect(chiSquareOfPicks(countPicks(list, 100_000, undefined, 9), list)).toBeLessThan(
      CHI2_P001[9]!,
    );
  });

  it('keeps the weights among the candidates left when the heaviest is excluded', () => {
    // The excluded candidate holds 97% of the weight, so most picks take the scan fallback.
    const list = records([100, 1, 2, 0.5].map((weight) => ({ weight })));
    const exclude = new Set([list[0]!]);
    const counts = countPicks(list, 100_000, exclude, 4);
    expect(counts.has(list[0]!)).toBe(false);
    expect(chiSquareOfPicks(counts, list.slice(1))).toBeLessThan(CHI2_P001[2]!);
  });

  it('returns undefined only when every candidate is excluded', () => {
    const list = records([{ weight: 1 }, { weight: 5 }]);
    const picker = weightedRandomSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    expect(picker.pick({ now: 0, exclude: new Set([list[1]!]) })).toBe(list[0]);
  });

  it('only picks candidates, not other members', () => {
    const members = records([{ weight: 50 }, { weight: 1 }, { weight: 1 }]);
    const candidates = members.slice(1);
    const picker = weightedRandomSelector().build(candidates, env(members));
    for (let i = 0; i < 1000; i++) expect(candidates).toContain(picker.pick({ now: 0 }));
  });
});
