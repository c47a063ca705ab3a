import { describe, it, expect } from 'vitest';
import { CHI2_P001, chiSquareUniform } from '../test-support/chi-square.js';
import { fmix32, hashString, hashVirtualNode, virtualNodePrefix } from './hash.js';

describe('hashString', () => {
  it('is a stable unsigned 32-bit value', () => {
    // Pinned: a change would move every consistent-hash key in every deployed client.
    expect(hashString('')).toBe(fmix32(0x811c9dc5));
    expect(hashString('user-42')).toBe(hashString('user-42'));
    for (const text of ['', 'a', 'user-42', 'ünïcödé ✓', 'x'.repeat(1000)]) {
      const h = hashString(text);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
  });

  it('spreads similar keys evenly over 16 buckets', () => {
    const buckets = new Array<number>(16).fill(0);
    const n = 160_000;
    for (let i = 0; i < n; i++) buckets[hashString(`key-${i}`) >>> 28]!++;
    expect(chiSquareUniform(buckets)).toBeLessThan(CHI2_P001[15]!);
  });
});

describe('hashVirtualNode', () => {
  it('equals hashString of `${id}#${index}` without building the string', () => {
    for (const id of ['', 'a', '10.0.0.1:443', 'ünï']) {
      const prefix = virtualNodePrefix(id);
      for (const index of [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12_345, 1_000_000]) {
        expect(hashVirtualNode(prefix, index)).toBe(hashString(`${id}#${index}`));
      }
    }
  });
});
