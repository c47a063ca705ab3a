import { describe, it, expect } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Candidate, Picker } from '../selector.js';
import { configError } from '../test-support/config-error.js';
import { endpointRecord } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { seededRandom } from '../testing/seeded-random.js';
import {
  buildRing,
  consistentHashSelector,
  prefixBits,
  ringPointsPerEndpoint,
  ringPosition,
} from './consistent-hash.js';
import type { Ring } from './consistent-hash.js';
import { hashString } from './hash.js';

/** Records whose ids are their addresses, `10.0.0.<i>:443`: ring points hash the ids. */
function records(count: number): EndpointRecord[] {
  return Array.from({ length: count }, (_, i) =>
    endpointRecord({ id: `10.0.0.${i}:443`, address: `10.0.0.${i}:443` }, `e${i}`),
  );
}

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function owners<T extends Candidate>(picker: Picker<T>): T[] {
  return keys.map((key) => picker.pick({ now: 0, key })!);
}

/** The first point at or after `hash` by binary search over the whole ring (0 past the end). */
function plainPosition(ring: Ring<Candidate>, hash: number): number {
  let lo = 0;
  let hi = ring.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring.points[2 * mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.size ? 0 : lo;
}

/** What a pick must return: the plain search, then a plain walk asking about every point. */
function plainPick<T extends Candidate>(
  ring: Ring<T>,
  candidates: ReadonlySet<T>,
  exclude: ReadonlySet<T>,
  key: string,
): T | undefined {
  for (let step = 0, at = plainPosition(ring, hashString(key)); step < ring.size; step++) {
    const owner = ring.members[ring.points[2 * at + 1]!]!;
    if (candidates.has(owner) && !exclude.has(owner)) return owner;
    at = (at + 1) % ring.size;
  }
  return undefined;
}

describe('consistentHashSelector', () => {
  it("is named 'consistent-hash' with 100 virtual nodes per endpoint by default", () => {
    expect(consistentHashSelector().name).toBe('consistent-hash');
    expect(consistentHashSelector().virtualNodes).toBe(100);
  });

  it('sends the same key to the same endpoint across picks, builds and selectors', () => {
    const members = records(8);
    const first = owners(consistentHashSelector().build(members, env(members, 1)));
    const picker = consistentHashSelector().build(members, env(members, 2));
    expect(owners(picker)).toEqual(first);
    expect(owners(picker)).toEqual(first);
    // The ring depends on the set of ids, not on the order of the members.
    const reversed = members.slice().reverse();
    expect(owners(consistentHashSelector().build(reversed, env(reversed)))).toEqual(first);
  });

  it('spreads keys evenly enough with 100 virtual nodes', () => {
    const members = records(10);
    const counts = new Map<Candidate, number>();
    for (const owner of owners(consistentHashSelector().build(members, env(members)))) {
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    for (const count of counts.values()) {
      expect(count / keys.length).toBeGreaterThan(0.06);
      expect(count / keys.length).toBeLessThan(0.15);
    }
  });

  describe.each([5, 10])('when one of %i endpoints leaves', (n) => {
    const members = records(n);
    const selector = consistentHashSelector();
    const before = owners(selector.build(members, env(members)));

    it.each(Array.from({ length: n }, (_, i) => i))(
      'moves at most 1/N + 5% of the keys, and only those of the endpoint that left (#%i)',
      (leaving) => {
        const rest = members.filter((_, i) => i !== leaving);
        // Removed by discovery (a new members array) or ejected (still a member, not eligible).
        const removed = owners(selector.build(rest, env(rest)));
        const ejected = owners(selector.build(rest, env(members)));
        expect(ejected).toEqual(removed);
        let moved = 0;
        for (let k = 0; k < keys.length; k++) {
          if (removed[k] === before[k]) continue;
          moved++;
          expect(before[k]).toBe(members[leaving]);
        }
        expect(moved / keys.length).toBeLessThanOrEqual(1 / n + 0.05);
        // ... and every key of the endpoint that left did move.
        expect(moved).toBe(before.filter((owner) => owner === members[leaving]).length);
      },
    );

    it('moves the keys back when the endpoint returns', () => {
      const rest = members.slice(1);
      selector.build(rest, env(members));
      expect(owners(selector.build(members, env(members)))).toEqual(before);
    });
  });

  it('walks on to the next endpoint for an excluded one, as if it were ineligible', () => {
    const members = records(6);
    const selector = consistentHashSelector();
    const picker = selector.build(members, env(members));
    for (const key of keys.slice(0, 2000)) {
      const owner = picker.pick({ now: 0, key })!;
      const exclude = new Set([owner]);
      const next = picker.pick({ now: 0, key, exclude });
      const without = selector.build(
        members.filter((m) => m !== owner),
        env(members),
      );
      expect(next).not.toBe(owner);
      expect(next).toBe(without.pick({ now: 0, key }));
    }
  });

  it('returns undefined only when every candidate is excluded', () => {
    const members = records(5);
    const candidates = members.slice(0, 2);
    const picker = consistentHashSelector().build(candidates, env(members));
    expect(picker.pick({ now: 0, key: 'k', exclude: new Set(candidates) })).toBeUndefined();
    expect(picker.pick({ now: 0, key: 'k', exclude: new Set([candidates[0]!]) })).toBe(
      candidates[1],
    );
    expect(picker.pick({ now: 0, exclude: new Set([candidates[1]!]) })).toBe(candidates[0]);
  });

  it('spreads calls without a key over the eligible endpoints at random', () => {
    const members = records(4);
    const candidates = members.slice(1);
    const picker = consistentHashSelector().build(candidates, env(members));
    const counts = new Map<Candidate, number>();
    for (let i = 0; i < 30_000; i++) {
      const picked = picker.pick({ now: 0 })!;
      counts.set(picked, (counts.get(picked) ?? 0) + 1);
    }
    expect(new Set(counts.keys())).toEqual(new Set(candidates));
    for (const count of counts.values()) expect(count / 30_000).toBeCloseTo(1 / 3, 1);
  });

  it('builds the ring once per members array, not on every health change', () => {
    const members = records(20);
    let reads = 0;
    const watched = new Proxy(members, {
      get(target, property, receiver) {
        if (property === 'slice') reads++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const selector = consistentHashSelector();
    selector.build(members.slice(0, 10), env(watched));
    selector.build(members.slice(5), env(watched));
    selector.build(members, env(watched));
    expect(reads).toBe(1);
  });

  it('still picks candidates that are missing from the members (a contract breach)', () => {
    const members = records(3);
    const stray = records(5)[4]!;
    const picker = consistentHashSelector().build([stray], env(members));
    expect(picker.pick({ now: 0, key: 'k' })).toBe(stray);
  });

  it('bounds the ring for large pools: ≤ 800 bytes per endpoint, 32 MiB in all', () => {
    expect(ringPointsPerEndpoint(10, 100)).toBe(100);
    expect(ringPointsPerEndpoint(10, 10_000)).toBe(10_000);
    expect(ringPointsPerEndpoint(10_000, 100)).toBe(100);
    expect(ringPointsPerEndpoint(20_000, 1000)).toBe(100);
    expect(ringPointsPerEndpoint(100_000, 100)).toBe(41);
    expect(ringPointsPerEndpoint(10_000_000, 100)).toBe(1);
    for (const members of [10_486, 20_000, 41_943, 100_000, 1_000_000]) {
      for (const virtualNodes of [100, 1000, 10_000]) {
        const points = ringPointsPerEndpoint(members, virtualNodes);
        expect(points * 8).toBeLessThanOrEqual(800);
        expect(points * members).toBeLessThanOrEqual(2 ** 22);
      }
    }
  });

  it('sizes the prefix index to 8 to 16 points per bucket, 0.5 bytes per point at most', () => {
    for (const size of [0, 1, 2, 15, 16, 31]) expect(prefixBits(size)).toBe(1);
    expect(prefixBits(32)).toBe(2);
    for (const size of [32, 1000, 4099, 100_000, 1_048_600, 4_100_000, 2 ** 22, 10_000_000]) {
      const buckets = 2 ** prefixBits(size);
      expect(size / buckets).toBeGreaterThanOrEqual(8);
      expect(size / buckets).toBeLessThan(16);
      expect(4 * (buckets + 1)).toBeLessThanOrEqual(size / 2 + 4);
    }
    expect(prefixBits(4_100_000)).toBe(18); // 100,000 members: 1 MiB, 10.5 bytes per endpoint
    expect(prefixBits(2 ** 22)).toBe(19); // the cap: 2 MiB
    // Ring and index per endpoint: at most 850 bytes, the most at 100 points per endpoint.
    for (const members of [10_486, 20_971, 20_972, 41_943, 100_000, 1_000_000]) {
      const size = members * ringPointsPerEndpoint(members, 100);
      expect((8 * size + 4 * (2 ** prefixBits(size) + 1)) / members).toBeLessThanOrEqual(850);
    }
  });

  it.each([
    [1, 1],
    [1, 2],
    [1, 100],
    [2, 1],
    [3, 7],
    [10, 100],
    [1000, 100],
    [12_000, 100],
  ])(
    'finds the same ring position as a plain binary search (%i endpoints × %i points)',
    (count, virtualNodes) => {
      const ring = buildRing(records(count), virtualNodes) as Ring<Candidate>;
      expect(ring.size).toBe(count * virtualNodes);
      const random = seededRandom(count);
      const hashes = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
      for (let i = 0; i < 20_000; i++) hashes.push(Math.floor(random.next() * 2 ** 32));
      // Every point's hash and its neighbours (a sample of them on big rings).
      for (let i = 0; i < ring.size; i += Math.ceil(ring.size / 5000)) {
        const hash = ring.points[2 * i]!;
        hashes.push(hash, Math.max(0, hash - 1), Math.min(0xffffffff, hash + 1));
      }
      // Bucket edges: the first and last hash of some buckets.
      for (let b = 0; b < ring.index.length - 1; b += Math.ceil(ring.index.length / 500)) {
        const first = (b * 2 ** ring.shift) >>> 0;
        hashes.push(first, first + 2 ** ring.shift - 1);
      }
      const wrong = hashes.filter((hash) => ringPosition(ring, hash) !== plainPosition(ring, hash));
      expect(wrong).toEqual([]);
    },
  );

  it.each([
    [3, 100, 'all eligible', 1, 0],
    [3, 100, 'one excluded', 1, 1],
    [5, 20, 'two eligible, one excluded', 2.5, 1],
    [50, 10, 'one in ten eligible', 10, 0],
    [50, 10, 'half eligible, ten excluded', 2, 10],
    [200, 3, 'one eligible', 200, 0],
  ])(
    'picks what a plain walk picks (%i endpoints × %i points, %s)',
    (count, virtualNodes, _, every, excluded) => {
      const members = records(count);
      const candidates = members.filter((_, i) => i % every < 1);
      const exclude = new Set(candidates.slice(0, excluded));
      const picker = consistentHashSelector({ virtualNodes }).build(candidates, env(members));
      const ring = buildRing(members, virtualNodes);
      const eligible = new Set(candidates);
      const wrong = keys.filter(
        (key) =>
          picker.pick({ now: 0, key, exclude: excluded > 0 ? exclude : undefined }) !==
          plainPick(ring, eligible, exclude, key),
      );
      expect(wrong).toEqual([]);
    },
  );

  it('serves 100,000 members', () => {
    const members: Candidate[] = Array.from({ length: 100_000 }, (_, i) => ({
      endpoint: normalizeEndpoint(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:80`, `e${i}`),
      inflight: 0,
      latencyEstimate: () => Number.NaN,
    }));
    const selector = consistentHashSelector();
    const all = selector.build(members, env(members));
    const some = selector.build(members.slice(0, 50_000), env(members));
    const firstHalf = new Set(members.slice(0, 50_000));
    const seen = new Set<Candidate>();
    for (const key of keys) {
      const owner = all.pick({ now: 0, key })!;
      seen.add(owner);
      if (firstHalf.has(owner)) expect(some.pick({ now: 0, key })).toBe(owner);
    }
    expect(seen.size).toBeGreaterThan(9000);
  });

  it.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [10_001, '10001'],
    ['100', '"100"'],
    [null, 'null'],
  ])('rejects virtualNodes %s', (virtualNodes, shown) => {
    const error = configError(() =>
      consistentHashSelector({ virtualNodes: virtualNodes as unknown as number }),
    );
    expect(error.option).toBe('selector.virtualNodes');
    expect(error.value).toBe(virtualNodes);
    expect(error.message).toContain(shown);
  });

  it('rejects unknown options', () => {
    const error = configError(() =>
      consistentHashSelector({ replicas: 5 } as unknown as { virtualNodes: number }),
    );
    expect(error.option).toBe('selector.replicas');
  });
});
