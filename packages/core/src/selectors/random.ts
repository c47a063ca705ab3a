/**
 * `random`: picks a candidate uniformly at random, ignoring weight and load.
 *
 * - Per pick: O(1) expected. An excluded sample is replaced by another random sample, up to 8
 *   times, then the pick falls back to an O(n) scan that stays uniform over the candidates
 *   left (rare: exclusion sets hold only the endpoints a call already tried).
 * - Per build: O(n) (a snapshot of the candidate list).
 * - Options: none. Randomness comes from `env.random`.
 */
import type { Random } from '../random.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import { emptyPicker, uniformIndex } from './sample.js';

export interface RandomSelector extends Selector {
  readonly name: 'random';
}

class RandomPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  readonly #random: Random;

  constructor(candidates: readonly T[], random: Random) {
    this.#candidates = candidates;
    this.#random = random;
  }

  pick(context: PickContext<T>): T | undefined {
    const i = uniformIndex(this.#candidates, this.#random, context.exclude);
    return i < 0 ? undefined : this.#candidates[i];
  }
}

const selector: RandomSelector = Object.freeze({
  name: 'random',
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
    if (candidates.length === 0) return emptyPicker<T>();
    return new RandomPicker(candidates.slice(), env.random);
  },
});

/** Uniform random selection. */
export function randomSelector(): RandomSelector {
  return selector;
}
