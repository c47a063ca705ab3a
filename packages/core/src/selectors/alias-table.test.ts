import { describe, it, expect } from 'vitest';
import { CHI2_P001, chiSquare } from '../test-support/chi-square.js';
import { seededRandom } from '../testing/seeded-random.js';
import { AliasTable } from './alias-table.js';

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
    expect(chiSquare(counts, [2, 2, 1])).toBeLessThan(CHI2_P001[2]!);
  });

  it('never draws an index whose weight is negligible next to the others', () => {
    const counts = draw([1, 1e-12, 1], 50_000);
    expect(counts[1]).toBe(0);
    expect(new AliasTable([1, 2]).size).toBe(2);
  });
});
