import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { CHI2_P001, chiSquareUniform } from '../test-support/chi-square.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { roundRobinSelector } from './round-robin.js';

describe('roundRobinSelector', () => {
  it("is named 'round-robin'", () => {
    expect(roundRobinSelector().name).toBe('round-robin');
  });

  it('hands out every candidate once per round, in order', () => {
    const list = records(5);
    const picker = roundRobinSelector().build(list, env(list));
    const first = list.indexOf(picker.pick({ now: 0 })!);
    for (let i = 1; i < 23; i++) {
      expect(picker.pick({ now: 0 })).toBe(list[(first + i) % list.length]);
    }
  });

  it('is uniform (χ² over 100,000 picks, p = 0.001)', () => {
    const list = records(10);
    const picker = roundRobinSelector().build(list, env(list));
    const counts = new Array<number>(list.length).fill(0);
    for (let i = 0; i < 100_000; i++) counts[list.indexOf(picker.pick({ now: 0 })!)]!++;
    expect(chiSquareUniform(counts)).toBeLessThan(CHI2_P001[9]!);
  });

  it('starts each build at a random offset', () => {
    const list = records(10);
    const starts = new Set<EndpointRecord>();
    for (let seed = 1; seed <= 20; seed++) {
      starts.add(roundRobinSelector().build(list, env(list, seed)).pick({ now: 0 })!);
    }
    expect(starts.size).toBeGreaterThan(3);
  });

  it('skips excluded candidates and carries on after the one it picked', () => {
    const list = records(4);
    const picker = roundRobinSelector().build(list, env(list));
    const start = list.indexOf(picker.pick({ now: 0 })!);
    const at = (k: number): EndpointRecord => list[(start + k) % 4]!;
    const exclude = new Set([at(1), at(2)]);
    expect(picker.pick({ now: 0, exclude })).toBe(at(3));
    expect(picker.pick({ now: 0 })).toBe(at(0));
    expect(picker.pick({ now: 0 })).toBe(at(1));
  });

  it('returns undefined only when every candidate is excluded', () => {
    const list = records(3);
    const picker = roundRobinSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    expect(picker.pick({ now: 0, exclude: new Set([list[0]!, list[2]!]) })).toBe(list[1]);
  });
});
