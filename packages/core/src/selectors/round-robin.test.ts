import { describe, it, expect } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import type { EndpointInit } from '../endpoint.js';
import { EndpointRecord } from '../health/endpoint-record.js';
import type { SelectorEnvironment } from '../selector.js';
import { ManualClock } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import { roundRobinSelector } from './round-robin.js';

const settings = { windowMs: 10_000, windowBuckets: 10, latencyDecayMs: 10_000, faultLogSize: 8 };

function records(count: number, init: Partial<EndpointInit> = {}): EndpointRecord[] {
  return Array.from(
    { length: count },
    (_, i) =>
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

/** χ² critical value at p = 0.001 for 9 degrees of freedom (NIST/SEMATECH e-Handbook). */
const CHI2_P001_DF9 = 27.877;

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
    const chi2 = counts.reduce((sum, count) => sum + (count - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(CHI2_P001_DF9);
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
