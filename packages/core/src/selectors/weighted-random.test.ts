import { describe, it, expect } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import type { EndpointInit } from '../endpoint.js';
import { EndpointRecord } from '../health/endpoint-record.js';
import type { SelectorEnvironment } from '../selector.js';
import { ManualClock } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import { weightedRandomSelector } from './weighted-random.js';

const settings = { windowMs: 10_000, windowBuckets: 10, latencyDecayMs: 10_000, faultLogSize: 8 };

function records(inits: readonly Partial<EndpointInit>[]): EndpointRecord[] {
  return inits.map(
    (init, i) =>
      new EndpointRecord(
        normalizeEndpoint({ id: `e${i}`, address: `10.0.0.${i}:80`, ...init }, `e${i}`),
        settings,
        0,
      ),
  );
}

function env(members: readonly EndpointRecord[], seed = 1): SelectorEnvironment<EndpointRecord> {
  return { random: seededRandom(seed), clock: new ManualClock(), members };
}

/** χ² critical values at p = 0.001 by degrees of freedom (NIST/SEMATECH e-Handbook, 1.3.6.7.4). */
const CHI2_P001: Readonly<Record<number, number>> = { 2: 13.816, 4: 18.467, 9: 27.877 };

/** Pearson's χ² of pick counts against shares proportional to the records' weights. */
function chiSquare(counts: ReadonlyMap<EndpointRecord, number>, expectedOf: EndpointRecord[]) {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const sum = expectedOf.reduce((a, r) => a + r.endpoint.weight, 0);
  return expectedOf.reduce((chi2, r) => {
    const expected = (total * r.endpoint.weight) / sum;
    return chi2 + ((counts.get(r) ?? 0) - expected) ** 2 / expected;
  }, 0);
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
    expect(chiSquare(counts, list)).toBeLessThan(CHI2_P001[4]!);
  });

  it('picks uniformly when weights are equal', () => {
    const list = records(Array.from({ length: 10 }, () => ({ weight: 3 })));
    expect(chiSquare(countPicks(list, 100_000, undefined, 9), list)).toBeLessThan(CHI2_P001[9]!);
  });

  it('keeps the weights among the candidates left when the heaviest is excluded', () => {
    // The excluded candidate holds 97% of the weight, so most picks take the scan fallback.
    const list = records([100, 1, 2, 0.5].map((weight) => ({ weight })));
    const exclude = new Set([list[0]!]);
    const counts = countPicks(list, 100_000, exclude, 4);
    expect(counts.has(list[0]!)).toBe(false);
    expect(chiSquare(counts, list.slice(1))).toBeLessThan(CHI2_P001[2]!);
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
