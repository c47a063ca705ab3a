import { describe, it, expect } from 'vitest';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Candidate, Picker, Selector, SelectorEnvironment } from '../selector.js';
import { configError } from '../test-support/config-error.js';
import { endpointRecord } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { consistentHashSelector } from './consistent-hash.js';
import { priorityGroupsSelector } from './priority-groups.js';
import { roundRobinSelector } from './round-robin.js';
import { weightedRandomSelector } from './weighted-random.js';

/** Endpoints `p<priority>-<i>`: `sizes[p]` of them in priority p. */
function records(sizes: readonly number[]): EndpointRecord[] {
  return sizes.flatMap((size, priority) =>
    Array.from({ length: size }, (_, i) =>
      endpointRecord(
        { id: `p${priority}-${i}`, address: `10.0.${priority}.${i}:80`, priority },
        `p${priority}-${i}`,
      ),
    ),
  );
}

function inPriority(list: readonly EndpointRecord[], priority: number): EndpointRecord[] {
  return list.filter((r) => r.endpoint.priority === priority);
}

function priorities(picks: readonly (EndpointRecord | undefined)[]): Set<number | undefined> {
  return new Set(picks.map((r) => r?.endpoint.priority));
}

describe('priorityGroupsSelector', () => {
  const members = records([4, 3, 2]);
  const selector = priorityGroupsSelector();
  const pickMany = (candidates: readonly EndpointRecord[], count = 200): EndpointRecord[] => {
    const picker = selector.build(candidates, env(members));
    return Array.from({ length: count }, () => picker.pick({ now: 0 })!);
  };

  it("is named 'priority-groups', round-robin within a group, 50% threshold by default", () => {
    expect(selector.name).toBe('priority-groups');
    expect(selector.within.name).toBe('round-robin');
    expect(selector.thresholdPercent).toBe(50);
  });

  it('sends all traffic to the primary while it is healthy, spread over its endpoints', () => {
    const picks = pickMany(members);
    expect(priorities(picks)).toEqual(new Set([0]));
    expect(new Set(picks)).toEqual(new Set(inPriority(members, 0)));
    expect(selector.build(members, env(members)).priority).toBe(0);
  });

  it('stays on the primary at exactly the threshold (2 of 4 eligible = 50%)', () => {
    const candidates = members.filter((r) => r.id !== 'p0-0' && r.id !== 'p0-1');
    expect(priorities(pickMany(candidates))).toEqual(new Set([0]));
  });

  it('spills to the next priority when the primary falls below the threshold', () => {
    const candidates = members.filter((r) => !['p0-0', 'p0-1', 'p0-2'].includes(r.id));
    const picks = pickMany(candidates);
    expect(priorities(picks)).toEqual(new Set([1]));
    expect(new Set(picks)).toEqual(new Set(inPriority(members, 1)));
  });

  it('skips every priority below the threshold', () => {
    const candidates = members.filter(
      (r) => !['p0-0', 'p0-1', 'p0-2', 'p1-0', 'p1-1'].includes(r.id),
    );
    expect(priorities(pickMany(candidates))).toEqual(new Set([2]));
  });

  it('goes back to the primary at the first build after it heals', () => {
    const sick = members.filter((r) => !['p0-0', 'p0-1', 'p0-2'].includes(r.id));
    expect(selector.build(sick, env(members)).priority).toBe(1);
    const healing = members.filter((r) => r.id !== 'p0-0' && r.id !== 'p0-1');
    expect(selector.build(healing, env(members)).priority).toBe(0);
    expect(priorities(pickMany(healing))).toEqual(new Set([0]));
    expect(priorities(pickMany(members))).toEqual(new Set([0]));
  });

  it('uses the lowest priority with any candidate when no priority reaches the threshold', () => {
    const candidates = members.filter((r) => ['p0-3', 'p1-2'].includes(r.id)); // 25%, 33%
    expect(priorities(pickMany(candidates))).toEqual(new Set([0]));
    const noPrimary = members.filter((r) => ['p1-2'].includes(r.id));
    expect(priorities(pickMany(noPrimary))).toEqual(new Set([1]));
  });

  it('falls over to the next group when the whole chosen group is excluded', () => {
    const picker = selector.build(members, env(members));
    const tried = new Set(inPriority(members, 0));
    for (let i = 0; i < 20; i++)
      expect(picker.pick({ now: 0, exclude: tried })!.endpoint.priority).toBe(1);
    for (const r of inPriority(members, 1)) tried.add(r);
    for (let i = 0; i < 20; i++)
      expect(picker.pick({ now: 0, exclude: tried })!.endpoint.priority).toBe(2);
    expect(picker.pick({ now: 0, exclude: new Set(members) })).toBeUndefined();
    // One untried endpoint of the primary is still preferred.
    const almost = new Set(inPriority(members, 0).slice(1));
    expect(picker.pick({ now: 0, exclude: almost })!.id).toBe('p0-0');
  });

  it('falls over past the chosen group in priority order, then wraps to those before it', () => {
    const candidates = members.filter((r) => !['p0-0', 'p0-1', 'p0-2'].includes(r.id));
    const picker = selector.build(candidates, env(members));
    expect(picker.priority).toBe(1);
    const tried = new Set(inPriority(members, 1));
    expect(picker.pick({ now: 0, exclude: tried })!.endpoint.priority).toBe(2);
    for (const r of inPriority(members, 2)) tried.add(r);
    expect(picker.pick({ now: 0, exclude: tried })!.id).toBe('p0-3');
  });

  it('honours thresholdPercent', () => {
    const candidates = members.filter((r) => !['p0-0', 'p0-1', 'p0-2'].includes(r.id)); // 25%
    const lenient = priorityGroupsSelector({ thresholdPercent: 25 });
    expect(lenient.build(candidates, env(members)).priority).toBe(0);
    const strict = priorityGroupsSelector({ thresholdPercent: 100 });
    expect(
      strict.build(
        members.filter((r) => r.id !== 'p0-0'),
        env(members),
      ).priority,
    ).toBe(1);
    expect(
      priorityGroupsSelector({ thresholdPercent: 0 }).build(candidates, env(members)).priority,
    ).toBe(0);
  });

  it('picks within the group with the `within` selector', () => {
    const weighted = records([3, 1]);
    const list = weighted.map((r, i) =>
      endpointRecord({ ...r.endpoint, weight: i === 0 ? 8 : 1 }, r.id),
    );
    const picker = priorityGroupsSelector({ within: weightedRandomSelector() }).build(
      list,
      env(list),
    );
    let heavy = 0;
    for (let i = 0; i < 10_000; i++) if (picker.pick({ now: 0 }) === list[0]) heavy++;
    expect(heavy / 10_000).toBeCloseTo(0.8, 1);
  });

  it("gives `within` the group's members, stable across builds, so hashing keeps its keys", () => {
    const hashing = priorityGroupsSelector({ within: consistentHashSelector() });
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    const all = hashing.build(members, env(members));
    const before = keys.map((key) => all.pick({ now: 0, key })!);
    const withoutOne = hashing.build(
      members.filter((r) => r.id !== 'p0-1'),
      env(members),
    );
    keys.forEach((key, k) => {
      const now = withoutOne.pick({ now: 0, key })!;
      expect(now.endpoint.priority).toBe(0);
      if (before[k]!.id !== 'p0-1') expect(now).toBe(before[k]);
    });
  });

  it('builds one sub-picker per group', () => {
    let builds = 0;
    const counting: Selector = {
      name: 'counting',
      build<T extends Candidate>(candidates: readonly T[], e: SelectorEnvironment<T>): Picker<T> {
        builds++;
        return roundRobinSelector().build(candidates, e);
      },
    };
    priorityGroupsSelector({ within: counting }).build(members, env(members));
    expect(builds).toBe(3);
  });

  it.each([
    [-1, '-1'],
    [100.5, '100.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['50', '"50"'],
    [null, 'null'],
  ])('rejects thresholdPercent %s', (thresholdPercent, shown) => {
    const error = configError(() =>
      priorityGroupsSelector({ thresholdPercent: thresholdPercent as unknown as number }),
    );
    expect(error.option).toBe('selector.thresholdPercent');
    expect(error.value).toBe(thresholdPercent);
    expect(error.message).toContain(shown);
  });

  it.each([
    ['round-robin', '"round-robin"'],
    [null, 'null'],
    [42, '42'],
    [{ name: 'x' }, '{"name":"x"}'],
    [{ build: () => undefined }, '{}'],
  ])('rejects within %s', (within, shown) => {
    const error = configError(() =>
      priorityGroupsSelector({ within: within as unknown as Selector }),
    );
    expect(error.option).toBe('selector.within');
    expect(error.value).toBe(within);
    expect(error.message).toContain(shown);
  });

  it('rejects unknown options', () => {
    const error = configError(() =>
      priorityGroupsSelector({ threshold: 50 } as unknown as { thresholdPercent: number }),
    );
    expect(error.option).toBe('selector.threshold');
  });
});
