/**
 * Allocation-free sampling shared by the selectors, with the exclusion rule every picker
 * follows: a pick never returns an excluded candidate, and returns `undefined` only when every
 * candidate is excluded.
 *
 * Exclusion sets are tiny (the endpoints one call already tried) while candidate lists may hold
 * 100,000 endpoints, so a sampled candidate that turns out to be excluded is replaced by
 * another random sample, up to `SAMPLE_ATTEMPTS` times. Only when all of those are excluded
 * (nearly every candidate is excluded, or the excluded ones carry nearly all the weight) does a
 * pick fall back to a linear scan: O(n), but rare, and still uniform (or weighted) over the
 * candidates left.
 */
import { randomInt } from '../random.js';
import type { Random } from '../random.js';
import type { Candidate, Exclusion, Picker } from '../selector.js';

/** Random samples a pick tries before it falls back to a linear scan. */
export const SAMPLE_ATTEMPTS = 8;

const empty: Picker = { pick: () => undefined };

/** A picker over no candidates. `build()` is never given none; this keeps it safe if it is. */
export function emptyPicker<T extends Candidate>(): Picker<T> {
  return empty as Picker<T>;
}

function allowed<T extends Candidate>(candidate: T, exclude: Exclusion<T> | undefined): boolean {
  return exclude === undefined || !exclude.has(candidate);
}

/**
 * A uniformly random index of a non-excluded candidate other than `skip` (-1 to skip none), or
 * -1 when there is none. Two passes: count, then take the r-th. O(n), no allocation.
 */
export function uniformScan<T extends Candidate>(
  candidates: readonly T[],
  random: Random,
  exclude: Exclusion<T> | undefined,
  skip: number,
): number {
  const n = candidates.length;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (i !== skip && allowed(candidates[i]!, exclude)) count++;
  }
  if (count === 0) return -1;
  let r = randomInt(random, count);
  for (let i = 0; i < n; i++) {
    if (i !== skip && allowed(candidates[i]!, exclude)) {
      if (r === 0) return i;
      r--;
    }
  }
  return -1;
}

/**
 * A uniformly random index of a non-excluded candidate, or -1 when every candidate is excluded.
 * O(1) expected; O(n) only after `SAMPLE_ATTEMPTS` excluded samples in a row.
 */
export function uniformIndex<T extends Candidate>(
  candidates: readonly T[],
  random: Random,
  exclude: Exclusion<T> | undefined,
): number {
  const n = candidates.length;
  if (exclude === undefined) return n === 0 ? -1 : randomInt(random, n);
  for (let attempt = 0; attempt < SAMPLE_ATTEMPTS && n > 0; attempt++) {
    const i = randomInt(random, n);
    if (!exclude.has(candidates[i]!)) return i;
  }
  return uniformScan(candidates, random, exclude, -1);
}

/**
 * A uniformly random index of a non-excluded candidate other than `first`, or -1 when there is
 * none. Samples j from n - 1 and shifts it past `first`, so the two are always distinct.
 * O(1) expected; O(n) only after `SAMPLE_ATTEMPTS` excluded samples in a row.
 */
export function uniformOtherIndex<T extends Candidate>(
  candidates: readonly T[],
  random: Random,
  exclude: Exclusion<T> | undefined,
  first: number,
): number {
  const n = candidates.length;
  if (n < 2) return -1;
  for (let attempt = 0; attempt < SAMPLE_ATTEMPTS; attempt++) {
    let j = randomInt(random, n - 1);
    if (j >= first) j++;
    if (allowed(candidates[j]!, exclude)) return j;
  }
  return uniformScan(candidates, random, exclude, first);
}
