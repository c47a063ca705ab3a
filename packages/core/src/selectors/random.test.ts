import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { CHI2_P001, chiSquareUniform } from '../test-support/chi-square.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { randomSelector } from './random.js';

describe('randomSelector', () => {
  it("is named 'random'", () => {
    expect(randomSelector().name).toBe('random');
  });

  it('picks uniformly (χ² over 100,000 picks, p = 0.001)', () => {
    const list = records(10);
    const picker = randomSelector().build(list, env(list));
    const counts = new Array<number>(list.length).fill(0);
    for (let i = 0; i < 100_000; i++) counts[list.indexOf(picker.pick({ now: 0 })!)]!++;
    expect(chiSquareUniform(counts)).toBeLessThan(CHI2_P001[9]!);
  });

  it('stays uniform over the candidates that are not excluded', () => {
    const list = records(10);
    const exclude = new Set([list[0]!, list[4]!, list[9]!]);
    const picker = randomSelector().build(list, env(list, 3));
    const counts = new Map<EndpointRecord, number>();
    for (let i = 0; i < 100_000; i++) {
      const picked = picker.pick({ now: 0, exclude })!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    expect([...counts.keys()].filter((r) => exclude.has(r))).toEqual([]);
    expect(counts.size).toBe(7);
    expect(chiSquareUniform([...counts.values()])).toBeLessThan(CHI2_P001[6]!);
  });

  it('finds the last candidate left by scanning when sampling keeps hitting excluded ones', () => {
    const list = records(1000);
    const left = list[637]!;
    const exclude = new Set(list.filter((r) => r !== left));
    const picker = randomSelector().build(list, env(list));
    for (let i = 0; i < 100; i++) expect(picker.pick({ now: 0, exclude })).toBe(left);
  });

  it('returns undefined only when every candidate is excluded', () => {
    const list = records(3);
    const picker = randomSelector().build(list, env(list));
    expect(picker.pick({ now: 0, exclude: new Set(list) })).toBeUndefined();
    expect(picker.pick({ now: 0, exclude: new Set(list.slice(1)) })).toBe(list[0]);
  });

  it('only picks candidates, not other members', () => {
    const members = records(6);
    const candidates = members.slice(2, 4);
    const picker = randomSelector().build(candidates, env(members));
    for (let i = 0; i < 1000; i++) expect(candidates).toContain(picker.pick({ now: 0 }));
  });

  it('repeats itself for the same seed', () => {
    const list = records(20);
    const run = (seed: number): string[] => {
      const picker = randomSelector().build(list, env(list, seed));
      return Array.from({ length: 50 }, () => picker.pick({ now: 0 })!.id);
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});
