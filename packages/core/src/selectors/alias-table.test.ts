import { describe, it, expect } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { AliasTable } from './alias-table.js';

/** χ² critical values at p = 0.001 by degrees of freedom (NIST/SEMATECH e-Handbook, 1.3.6.7.4). */
const CHI2_P001: Readonly<Record<number, number>> = { 4: 18.467, 19: 43.82 };

function chiSquare(counts: readonly number[], weights: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  return counts.reduce((chi2, count, i) => {
    const expected = (total * weights[i]!) / sum;
    return chi2 + (count - expected) ** 2 / expected;
  }, 0);
}

function draw(weights: readonly number[], samples: number, seed = 7): number[] {
  const table = new AliasTable(weights);
  const random = seededRandom(seed);
  const counts = new Array<number>(weights.length).fill(0);
  for (let i = 0; i < samples; i++) counts[table.sample(random)]!++;
  return counts;
}

describe('AliasTable', () => {
  it('always draws the only index of a one-entry table', () => {
    expect(draw([3], 1000)).toEqual([1000]);
  });

  it('draws in proportion to the weights', () => {
    const weights = [1, 2, 3, 4, 10];
    expect(chiSquare(draw(weights, 200_000), weights)).toBeLessThan(CHI2_P001[4]!);
  });

  it('handles uneven weights over many entries', () => {
    const random = seededRandom(99);
    const weights = Array.from({ length: 20 }, () => 0.5 + random.next() * 20);
    expect(chiSquare(draw(weights, 200_000), weights)).toBeLessThan(CHI2_P001[19]!);
  });

  it('does not overflow with huge weights', () => {
    const counts = draw([1e308, 1e308, 5e307], 50_000);
    expect(chiSquare(counts, [2, 2, 1])).toBeLessThan(13.816); // 2 degrees of freedom
  });

  it('never draws an index whose weight is negligible next to the others', () => {
    const counts = draw([1, 1e-12, 1], 50_000);
    expect(counts[1]).toBe(0);
    expect(new AliasTable([1, 2]).size).toBe(2);
  });
});
