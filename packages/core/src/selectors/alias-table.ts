/**
 * Vose's alias method: after O(n) preparation, draws index i with probability
 * w_i / Σw in O(1) time with two random numbers and no allocation.
 *
 * Each of the n columns holds a probability `prob[i]` of keeping i and an `alias[i]` to use
 * otherwise; a draw picks a column uniformly, then flips its biased coin. See M. D. Vose,
 * "A linear algorithm for generating random numbers with a given distribution" (1991), and
 * Keith Schwarz, "Darts, Dice, and Coins".
 *
 * Memory: 12 bytes per index (a Float64Array and an Int32Array).
 */
import { randomInt } from '../random.js';
import type { Random } from '../random.js';

export class AliasTable {
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;

  /** `weights`: finite numbers > 0, at least one. */
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    const prob = new Float64Array(n);
    const alias = new Int32Array(n);
    // Scale by the largest weight first so that the sum cannot overflow.
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, weights[i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i]! / max;
    // scaled[i] = n·p_i: the mean column height is 1.
    const scaled = new Float64Array(n);
    for (let i = 0; i < n; i++) scaled[i] = ((weights[i]! / max) * n) / sum;
    // Two stacks in one array: small columns grow from the front, large from the back.
    const work = new Int32Array(n);
    let small = 0;
    let large = n;
    for (let i = 0; i < n; i++) {
      if (scaled[i]! < 1) work[small++] = i;
      else work[--large] = i;
    }
    while (small > 0 && large < n) {
      const less = work[--small]!;
      const more = work[large++]!;
      prob[less] = scaled[less]!;
      alias[less] = more;
      scaled[more] = scaled[more]! + scaled[less]! - 1;
      if (scaled[more] < 1) work[small++] = more;
      else work[--large] = more;
    }
    // What is left is 1 up to rounding error.
    while (large < n) {
      const i = work[large++]!;
      prob[i] = 1;
      alias[i] = i;
    }
    while (small > 0) {
      const i = work[--small]!;
      prob[i] = 1;
      alias[i] = i;
    }
    this.#prob = prob;
    this.#alias = alias;
  }

  get size(): number {
    return this.#prob.length;
  }

  /** An index drawn with probability w_i / Σw. O(1), no allocation. */
  sample(random: Random): number {
    const i = randomInt(random, this.#prob.length);
    return random.next() < this.#prob[i]! ? i : this.#alias[i]!;
  }
}
