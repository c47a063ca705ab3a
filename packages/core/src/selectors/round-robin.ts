/**
 * `round-robin`: hands out candidates in turn. Like grpc-js, each build starts at a random
 * offset, so clients that build at the same moment do not all start on the same endpoint.
 * Weight and load are ignored.
 *
 * - Per pick: O(1); an excluded candidate is skipped by moving on to the next one, so a pick
 *   costs O(1 + excluded candidates in a row), and O(n) only to find that all are excluded.
 * - Per build: O(n) (a snapshot of the candidate list).
 * - Options: none. The start offset comes from `env.random`.
 */
import { randomInt } from '../random.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import { emptyPicker } from './sample.js';

export interface RoundRobinSelector extends Selector {
  readonly name: 'round-robin';
}

class RoundRobinPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  #next: number;

  constructor(candidates: readonly T[], start: number) {
    this.#candidates = candidates;
    this.#next = start;
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const n = candidates.length;
    const exclude = context.exclude;
    let i = this.#next;
    for (let step = 0; step < n; step++) {
      const candidate = candidates[i]!;
      i = i + 1 === n ? 0 : i + 1;
      if (exclude === undefined || !exclude.has(candidate)) {
        this.#next = i;
        return candidate;
      }
    }
    return undefined;
  }
}

const selector: RoundRobinSelector = Object.freeze({
  name: 'round-robin',
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
    if (candidates.length === 0) return emptyPicker<T>();
    return new RoundRobinPicker(candidates.slice(), randomInt(env.random, candidates.length));
  },
});

/** Round-robin from a random start. */
export function roundRobinSelector(): RoundRobinSelector {
  return selector;
}
