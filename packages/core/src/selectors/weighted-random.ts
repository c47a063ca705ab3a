/**
 * `weighted-random`: picks candidate i with probability w_i / Σw, where w_i is
 * `endpoint.weight`, using Vose's alias method (`alias-table.ts`).
 *
 * - Per pick: O(1), two random numbers. An excluded draw is replaced by another draw, up to 8
 *   times (rejection keeps the distribution exactly proportional to the weights of the
 *   candidates left); then the pick falls back to an O(n) weighted scan over the non-excluded
 *   candidates. That fallback is rare unless the excluded candidates carry most of the weight.
 * - Per build: O(n) to build the alias table (12 bytes per candidate) and a weight array.
 * - Options: none. Randomness comes from `env.random`.
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
import { AliasTable } from './alias-table.js';
import { relativeWeights } from './relative-weights.js';
import { emptyPicker, SAMPLE_ATTEMPTS } from './sample.js';

export interface WeightedRandomSelector extends Selector {
  readonly name: 'weighted-random';
}

class WeightedRandomPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  readonly #weights: Float64Array;
  readonly #table: AliasTable;
  readonly #random: Random;

  constructor(candidates: readonly T[], random: Random) {
    const weights = relativeWeights(candidates);
    this.#candidates = candidates;
    this.#weights = weights;
    this.#table = new AliasTable(weights);
    this.#random = random;
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const exclude = context.exclude;
    if (exclude === undefined) return candidates[this.#table.sample(this.#random)];
    for (let attempt = 0; attempt < SAMPLE_ATTEMPTS; attempt++) {
      const candidate = candidates[this.#table.sample(this.#random)]!;
      if (!exclude.has(candidate)) return candidate;
    }
    return this.#scan(exclude);
  }

  /** Weighted draw over the non-excluded candidates by two linear passes. */
  #scan(exclude: Exclusion<T>): T | undefined {
    const candidates = this.#candidates;
    const weights = this.#weights;
    const n = candidates.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      if (!exclude.has(candidates[i]!)) total += weights[i]!;
    }
    if (total === 0) return undefined;
    let r = this.#random.next() * total;
    let last: T | undefined;
    for (let i = 0; i < n; i++) {
      const candidate = candidates[i]!;
      if (exclude.has(candidate)) continue;
      r -= weights[i]!;
      if (r < 0) return candidate;
      last = candidate;
    }
    return last; // rounding left r at or just above 0
  }
}

const selector: WeightedRandomSelector = Object.freeze({
  name: 'weighted-random',
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
    if (candidates.length === 0) return emptyPicker<T>();
    return new WeightedRandomPicker(candidates.slice(), env.random);
  },
});

/** Random selection in proportion to `endpoint.weight`. */
export function weightedRandomSelector(): WeightedRandomSelector {
  return selector;
}
