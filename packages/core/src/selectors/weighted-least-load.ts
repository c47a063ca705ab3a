/**
 * `weighted-least-load`: picks the candidate with the lowest load relative to its size,
 * argmin inflight_i / (w_i · c_i), where inflight_i is `candidate.inflight`, w_i
 * `endpoint.weight` and c_i `endpoint.capacity`. An endpoint with twice the weight or twice the
 * capacity is given twice the attempts in flight before it stops being the first choice.
 *
 * The issue that asked for this selector wrote the score as w_i·n_i/c_i; that would make weight
 * *lower* an endpoint's share, against what weight means for every other selector, so the score
 * divides by the weight.
 *
 * Ties (notably when nothing is in flight) are broken by a rotating start: each pick scans from
 * the candidate after the previous pick's start and keeps the first lowest score, so idle
 * endpoints take turns. The first start is drawn at build time. Excluded candidates are skipped.
 *
 * - Per pick: O(n), a full scan of the candidates' live in-flight counts. Prefer
 *   `least-request` (O(1)) for large candidate lists.
 * - Per build: O(n) (the candidate list and 1 / (w·c) for each).
 * - Options: none.
 */
import { randomInt } from '../random.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import { emptyPicker } from './sample.js';

export interface WeightedLeastLoadSelector extends Selector {
  readonly name: 'weighted-least-load';
}

class WeightedLeastLoadPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  /** 1 / (weight · capacity) for each candidate. */
  readonly #inverseSize: Float64Array;
  #start: number;

  constructor(candidates: readonly T[], start: number) {
    const n = candidates.length;
    const inverseSize = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const { weight, capacity } = candidates[i]!.endpoint;
      inverseSize[i] = 1 / (weight * capacity);
    }
    this.#candidates = candidates;
    this.#inverseSize = inverseSize;
    this.#start = start;
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const inverseSize = this.#inverseSize;
    const exclude = context.exclude;
    const n = candidates.length;
    const start = this.#start;
    this.#start = start + 1 === n ? 0 : start + 1;
    let best = -1;
    let bestScore = 0;
    for (let k = 0, i = start; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const candidate = candidates[i]!;
      if (exclude !== undefined && exclude.has(candidate)) continue;
      const inflight = candidate.inflight;
      // 0 · Infinity would be NaN when weight · capacity underflows to 0.
      const score = inflight === 0 ? 0 : inflight * inverseSize[i]!;
      if (best < 0 || score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best < 0 ? undefined : candidates[best];
  }
}

const selector: WeightedLeastLoadSelector = Object.freeze({
  name: 'weighted-least-load',
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
    if (candidates.length === 0) return emptyPicker<T>();
    return new WeightedLeastLoadPicker(
      candidates.slice(),
      randomInt(env.random, candidates.length),
    );
  },
});

/** Least in-flight attempts per unit of weight × capacity, over every candidate. */
export function weightedLeastLoadSelector(): WeightedLeastLoadSelector {
  return selector;
}
