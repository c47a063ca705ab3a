/**
 * `consistent-hash`: ring hash with virtual nodes (Karger et al.; the ring of Envoy's and gRPC's
 * `ring_hash`). A pick hashes `context.key` and walks clockwise from it to the first eligible,
 * non-excluded endpoint, so the same key keeps going to the same endpoint, and when an endpoint
 * leaves or is ejected only the keys it held move (to their next endpoint on the ring). A pick
 * without a key starts from a random point of the ring, which spreads keyless calls evenly.
 *
 * The ring:
 * - holds `virtualNodes` points per endpoint (default 100), the hashes of `${endpoint.id}#${i}`
 *   (FNV-1a with MurmurHash3's finalizer, `hash.ts`), sorted in one Uint32Array of (hash, owner)
 *   pairs, so that a point's owner is read from the cache line of its hash: 8 bytes per point.
 *   Ties between equal hashes go to the smaller id, so the ring depends only on the set of ids,
 *   not on their order.
 * - has a prefix index, built with it: a Uint32Array of 2^k + 1 entries, entry b the first
 *   point whose hash's top k bits are at least b, with k ≥ 1 the largest that leaves at least 8
 *   points per bucket on average (so under 16 on rings of 16 points or more). A lookup reads two
 *   adjacent entries and binary-searches one bucket (a cache line or two) instead of the whole
 *   ring. The index takes at most 1/16 of the ring's memory, 0.5 bytes per point: 1 MiB
 *   (k = 18) at 100,000 members, 10 bytes per endpoint; 2 MiB at the ring's cap.
 * - ignores `endpoint.weight`: every endpoint gets the same number of points, so its points
 *   never depend on the other endpoints. Use a weighted selector for weighted shares.
 * - is built over `env.members` (every non-draining endpoint, eligible or not) and cached per
 *   members array, so health changes only recompute the eligible members by ring index (one
 *   reference per member).
 * - stays bounded: it holds at most max(2^20, 100 × members) points and never more than 2^22
 *   (32 MiB, and 2 MiB of index), so above 10,485 members each endpoint has at most 100 points
 *   (≤ 800 bytes, ≤ 850 with the index), and above 41,943 members fewer (41 at 100,000
 *   members: 328 bytes, 338 with the index), down to 1. Point sets are prefixes
 *   (`#0`…`#p-1`), so when membership crosses one of those sizes only the keys of the points
 *   added or dropped move.
 *
 * - Per pick: O(key length) to hash, O(log points per bucket) expected to find the key's place
 *   (O(log ring size) at worst), then a walk past the points of ineligible or excluded
 *   endpoints (asking `exclude` once per run of an excluded endpoint's points): O(1) expected
 *   while most members are eligible, O(ring size) at worst, when nearly every member is
 *   ineligible or excluded. No allocation.
 * - Per build: O(members) for the eligible members and O(n log members) to place the
 *   candidates; when the members array changes, O(members × log members + ring size) to rebuild
 *   the ring (radix sort) and its index.
 * - Options: `virtualNodes`, points per endpoint, default 100, an integer from 1 to 10,000.
 */
import type { Random } from '../random.js';
import type {
  Candidate,
  Exclusion,
  PickContext,
  Picker,
  Selector,
  SelectorEnvironment,
} from '../selector.js';
import * as v from '../validate.js';
import { hashString, hashVirtualNode, virtualNodePrefix } from './hash.js';
import { emptyPicker } from './sample.js';

export interface ConsistentHashOptions {
  /** Points on the ring per endpoint. Default 100; an integer from 1 to 10,000. */
  readonly virtualNodes?: number;
}

export interface ConsistentHashSelector extends Selector {
  readonly name: 'consistent-hash';
  readonly virtualNodes: number;
}

const DEFAULT_VIRTUAL_NODES = 100;
const MAX_VIRTUAL_NODES = 10_000;
/** Ring points allowed whatever the member count. */
const RING_POINTS_FLOOR = 1 << 20;
/** Ring points per member allowed above the floor. */
const RING_POINTS_PER_MEMBER = 100;
/** Ring points allowed at most (32 MiB with owners, and 2 MiB of prefix index). */
const RING_POINTS_CAP = 1 << 22;
const TWO_TO_32 = 4294967296;
/** Least mean points per bucket of the prefix index (the mean is below twice this). */
const BUCKET_POINTS = 8;
/** Prefix index bits at most: reached only by rings of 2^27 points (over 100M members). */
const MAX_PREFIX_BITS = 24;

/** Points per endpoint on the ring of `memberCount` members (see the file comment). */
export function ringPointsPerEndpoint(memberCount: number, virtualNodes: number): number {
  if (memberCount === 0) return 0;
  const budget = Math.min(
    RING_POINTS_CAP,
    Math.max(RING_POINTS_FLOOR, RING_POINTS_PER_MEMBER * memberCount),
  );
  return Math.max(1, Math.min(virtualNodes, Math.floor(budget / memberCount)));
}

/** @internal The ring of a members array; exported for tests. */
export interface Ring<T extends Candidate> {
  /** The members, sorted by id. Owners index into it. */
  readonly members: readonly T[];
  /** Number of points. */
  readonly size: number;
  /**
   * The points sorted by hash, interleaved so that a point's owner shares its cache line:
   * `points[2i]` is the hash of point i and `points[2i + 1]` the index of its owner in `members`.
   */
  readonly points: Uint32Array;
  /**
   * The prefix index: `index[b]` is the first point whose hash's top `32 - shift` bits are at
   * least `b`, and `index[index.length - 1]` is `size`.
   */
  readonly index: Uint32Array;
  readonly shift: number;
}

function compareIds(a: Candidate, b: Candidate): number {
  const x = a.endpoint.id;
  const y = b.endpoint.id;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * @internal Bits of the prefix index of a ring of `size` points: 2^bits buckets of
 * BUCKET_POINTS to twice that on average (fewer on rings of under 2 × BUCKET_POINTS points).
 */
export function prefixBits(size: number): number {
  let bits = 1;
  while (bits < MAX_PREFIX_BITS && size / 2 ** (bits + 1) >= BUCKET_POINTS) bits++;
  return bits;
}

/** @internal Exported for tests. */
export function buildRing<T extends Candidate>(
  members: readonly T[],
  virtualNodes: number,
): Ring<T> {
  const sorted = members.slice().sort(compareIds);
  const perEndpoint = ringPointsPerEndpoint(sorted.length, virtualNodes);
  const size = sorted.length * perEndpoint;
  const points = new Uint32Array(2 * size);
  for (let m = 0, k = 0; m < sorted.length; m++) {
    const prefix = virtualNodePrefix(sorted[m]!.endpoint.id);
    for (let i = 0; i < perEndpoint; i++, k += 2) {
      points[k] = hashVirtualNode(prefix, i);
      points[k + 1] = m;
    }
  }
  sortByHash(points);
  const bits = prefixBits(size);
  const shift = 32 - bits;
  // Count the points of each bucket one slot to the right, then sum: index[b] = points before b.
  const index = new Uint32Array(2 ** bits + 1);
  for (let i = 0; i < size; i++) {
    const slot = (points[2 * i]! >>> shift) + 1;
    index[slot] = index[slot]! + 1;
  }
  for (let b = 1; b < index.length; b++) index[b] = index[b]! + index[b - 1]!;
  return { members: sorted, size, points, index, shift };
}

/**
 * Sorts interleaved (hash, owner) pairs by hash with a stable LSD radix sort (two 16-bit
 * passes). The points come in owner order, so equal hashes stay ordered by owner, that is by id.
 */
function sortByHash(points: Uint32Array): void {
  const spare = new Uint32Array(points.length);
  const counts = new Int32Array(0x10001);
  radixPass(points, spare, 0, counts);
  radixPass(spare, points, 16, counts);
}

function radixPass(from: Uint32Array, to: Uint32Array, shift: number, counts: Int32Array): void {
  counts.fill(0);
  const length = from.length;
  for (let i = 0; i < length; i += 2) {
    const digit = ((from[i]! >>> shift) & 0xffff) + 1;
    counts[digit] = counts[digit]! + 1;
  }
  for (let d = 1; d < counts.length; d++) counts[d] = counts[d]! + counts[d - 1]!;
  for (let i = 0; i < length; i += 2) {
    const hash = from[i]!;
    const digit = (hash >>> shift) & 0xffff;
    const at = counts[digit]!;
    counts[digit] = at + 1;
    to[2 * at] = hash;
    to[2 * at + 1] = from[i + 1]!;
  }
}

/**
 * @internal The first point whose hash is at least `hash`, or 0 past the last (the ring
 * wraps). Exported for tests.
 */
export function ringPosition(ring: Ring<Candidate>, hash: number): number {
  const points = ring.points;
  const index = ring.index;
  const bucket = hash >>> ring.shift;
  let lo = index[bucket]!;
  let hi = index[bucket + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[2 * mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.size ? 0 : lo;
}

/** Index of `candidate` among the ring's members (binary search by id), or -1. */
function memberIndex<T extends Candidate>(ring: Ring<T>, candidate: T): number {
  const members = ring.members;
  const id = candidate.endpoint.id;
  let lo = 0;
  let hi = members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (members[mid]!.endpoint.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < members.length && members[lo] === candidate ? lo : -1;
}

class ConsistentHashPicker<T extends Candidate> implements Picker<T> {
  readonly #ring: Ring<T>;
  /** By member index: the member if it is a candidate of this build, else undefined. */
  readonly #eligible: readonly (T | undefined)[];
  readonly #candidates: readonly T[];
  readonly #random: Random;

  constructor(
    ring: Ring<T>,
    eligible: readonly (T | undefined)[],
    candidates: readonly T[],
    random: Random,
  ) {
    this.#ring = ring;
    this.#eligible = eligible;
    this.#candidates = candidates;
    this.#random = random;
  }

  pick(context: PickContext<T>): T | undefined {
    const exclude = context.exclude;
    const key = context.key;
    const point = key === undefined ? Math.floor(this.#random.next() * TWO_TO_32) : hashString(key);
    const ring = this.#ring;
    const points = ring.points;
    const size = ring.size;
    const eligible = this.#eligible;
    let at = ringPosition(ring, point);
    // Walk clockwise to the first eligible, non-excluded owner. `rejected` is the last owner
    // found excluded: the rest of its run of points is passed without asking `exclude` again.
    let rejected = -1;
    for (let step = 0; step < size; step++) {
      const owner = points[2 * at + 1]!;
      if (owner !== rejected) {
        const candidate = eligible[owner];
        if (candidate !== undefined) {
          if (exclude === undefined || !exclude.has(candidate)) return candidate;
          rejected = owner;
        }
      }
      at = at + 1 === size ? 0 : at + 1;
    }
    return this.#stray(point, exclude);
  }

  /**
   * Candidates missing from `env.members` break the selector contract and have no ring
   * points; if one of them is all that is left, take the first from the key's position.
   */
  #stray(point: number, exclude: Exclusion<T> | undefined): T | undefined {
    const candidates = this.#candidates;
    const n = candidates.length;
    for (let k = 0, i = point % n; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const candidate = candidates[i]!;
      if (exclude === undefined || !exclude.has(candidate)) return candidate;
    }
    return undefined;
  }
}

/** Ring-hash affinity on `context.key`, stable under ejections and membership changes. */
export function consistentHashSelector(options?: ConsistentHashOptions): ConsistentHashSelector {
  v.knownKeys('selector', options, ['virtualNodes']);
  const virtualNodes = v.integer(
    'selector.virtualNodes',
    options?.virtualNodes,
    DEFAULT_VIRTUAL_NODES,
    1,
    MAX_VIRTUAL_NODES,
  );
  // A cache, not state: the ring is a pure function of the members array and `virtualNodes`.
  const rings = new WeakMap<readonly Candidate[], Ring<Candidate>>();
  function ringFor<T extends Candidate>(members: readonly T[]): Ring<T> {
    let ring = rings.get(members) as Ring<T> | undefined;
    if (ring === undefined) {
      ring = buildRing(members, virtualNodes);
      rings.set(members, ring);
    }
    return ring;
  }
  return Object.freeze({
    name: 'consistent-hash',
    virtualNodes,
    build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
      if (candidates.length === 0) return emptyPicker<T>();
      const ring = ringFor(env.members);
      const eligible = new Array<T | undefined>(ring.members.length).fill(undefined);
      for (const candidate of candidates) {
        const index = memberIndex(ring, candidate);
        if (index >= 0) eligible[index] = candidate;
      }
      return new ConsistentHashPicker(ring, eligible, candidates.slice(), env.random);
    },
  });
}
