import { describe, it, expect } from 'vitest';
import { CHI2_P001, chiSquare } from '../test-support/chi-square.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { weightedRoundRobinSelector } from './weighted-round-robin.js';

function pickIds(weights: readonly number[], picks: number, seed = 1): string[] {
  const list = records(weights.map((weight) => ({ weight })));
  const picker = weightedRoundRobinSelector().build(list, env(list, seed));
  return Array.from({ length: picks }, () => picker.pick({ now: 0 })!.id);
}

describe('weightedRoundRobinSelector', () => {
  it("is named 'weighted-round-robin'", () => {
    expect(weightedRoundRobinSelector().name).toBe('weighted-round-robin');
  });

  it("spreads a heavy endpoint's picks out as nginx does (weights 5, 1, 1)", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const sequence = pickIds([5, 1, 1], 14, seed).join(' ');
      // Which of the two light endpoints comes first depends on the random scan start.
      expect([
        'e0 e0 e1 e0 e2 e0 e0 e0 e0 e1 e0 e2 e0 e0',
        'e0 e0 e2 e0 e1 e0 e0 e0 e0 e2 e0 e1 e0 e0',
      ]).toContain(sequence);
    }
  });

  it('gives each endpoint exactly its share in every round of Σw picks', () => {
    const weights = [3, 1, 4, 1, 5];
    const ids = pickIds(weights, 14 * 50);
    for (let round = 0; round < 50; round++) {
      const slice = ids.slice(round * 14, round * 14 + 14);
      weights.forEach((weight, i) =>
        expect(slice.filter((id) => id === `e${i}`).length).toBe(weight),
      );
    }
  });

  it('matches the weights (χ² over 100,000 picks, p = 0.001)', () => {
    const weights = [1, 2, 3, 4, 10];
    const counts = new Array<number>(weights.length).fill(0);
    for (const id of pickIds(weights, 100_000)) counts[Number(id.slice(1))]!++;
    expect(chiSquare(counts, weights)).toBeLessThan(CHI2_P001[4]!);
  });

  it('is uniform when weights are equal, and handles fractional weights', () => {
    const equal = new Array<number>(10).fill(0);
    for (const id of pickIds(new Array<number>(10).fill(1), 100_000)) equal[Number(id.slice(1))]!++;
    expect(chiSquare(equal, new Array<number>(10).fill(1))).toBeLessThan(CHI2_P001[9]!);
    const weights = [0.1, 0.25, 0.05, 1.6, 0.3];
    const counts = new Array<number>(weights.length).fill(0);
    for (const id of pickIds(weights, 100_000)) counts[Number(id.slice(1))]!++;
    expect(chiSquare(counts, weights)).toBeLessThan(CHI2_P001[4]!);
  });

  it('lets excluded candidates sit out and keeps the weights of the rest', () => {
    const list = records([4, 2, 1].map((weight) => ({ weight })));
    const picker = weightedRoundRobinSelector().build(list, env(list));
    const exclude = new Set([list[0]!]);
    const ids = Array.from({ length: 30 }, () => picker.pick({ now: 0, exclude })!.id);
    expect(ids.filter((id) => id === 'e1').length).toBe(20);
    expect(ids.filter((id) => id === 'e2').length).toBe(10);
  });

  it('returns undefined only when every candidate is excluded', () => {
    const list = records([{ weight: 1 }, { weight: 5 }]);
    const picker = weightedRoundRobinSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    expect(picker.pick({ now: 0, exclude: new Set([list[1]!]) })).toBe(list[0]);
  });
});
