/**
 * A fast, allocation-free 32-bit string hash for consistent hashing: FNV-1a over the string's
 * UTF-16 code units, then MurmurHash3's `fmix32` finalizer so that near-identical inputs
 * (`a#1`, `a#2`) land far apart on the ring. Not cryptographic and not meant to be; it only
 * needs to spread keys evenly and give the same value in every process and runtime.
 *
 * Cost: O(length of the string), no allocation.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const HASH_CHAR = 0x23; // '#'
const DIGIT_ZERO = 0x30; // '0'

/** Feeds `text` into a running FNV-1a state and returns the new (unsigned) state. */
function feed(state: number, text: string): number {
  let h = state;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: full avalanche of the FNV state. */
export function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 32-bit hash of `text`, an unsigned integer in [0, 2^32). */
export function hashString(text: string): number {
  return fmix32(feed(FNV_OFFSET_BASIS, text));
}

/**
 * The FNV state after `${id}#`: computed once per endpoint, then `hashVirtualNode()` finishes
 * it for each virtual node without building the `${id}#${i}` strings.
 */
export function virtualNodePrefix(id: string): number {
  let h = feed(FNV_OFFSET_BASIS, id);
  h ^= HASH_CHAR;
  return Math.imul(h, FNV_PRIME) >>> 0;
}

/**
 * `hashString(`${id}#${index}`)`, given `virtualNodePrefix(id)`. `index` is a non-negative
 * integer, fed as its decimal digits.
 */
export function hashVirtualNode(prefix: number, index: number): number {
  let h = prefix;
  let power = 1;
  while (power * 10 <= index) power *= 10;
  for (; power >= 1; power /= 10) {
    h ^= DIGIT_ZERO + (Math.floor(index / power) % 10);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h >>> 0);
}
