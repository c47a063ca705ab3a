/**
 * `weighted-round-robin`: nginx's smooth weighted round-robin. On each pick every candidate's
 * current weight grows by its weight (`endpoint.weight`), the candidate with the largest
 * current weight is chosen, and its current weight drops by the sum of the weights. Over any
 * Σw/min(w) consecutive picks each candidate gets its share, and the picks of a heavy candidate
 * are spread out rather than sent in a burst (weights 5, 1, 1 give a a b a c a a, not
 * a a a a a b c). See nginx's `ngx_http_upstream_get_peer()`.
 *
 * Excluded candidates sit the pick out as nginx's down peers do: their current weight neither
 * grows nor is chosen. Ties go to the first candidate in scan order; the scan starts at an
 * offset drawn at build time, so clients with the same weights do not pick in lockstep.
 *
 * - Per pick: O(n), a scan over every candidate (no sampling; exclusion costs nothing extra).
 *   Prefer `weighted-random` (O(1)) for large candidate lists.
 * - Per build: O(n); current weights start at 0.
 * - Options: none.
 */
import { randomInt } from '../random.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import { relativeWeights } from './relative-weights.js';
import { emptyPicker } from './sample.js';

export interface WeightedRoundRobinSelector extends Selector {
  readonly name: 'weighted-round-robin';
}

class WeightedRoundRobinPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  readonly #weights: Float64Array;
  readonly #current: Float64Array;
  readonly #start: number;

  constructor(candidates: readonly T[], start: number) {
    this.#candidates = candidates;
    this.#weights = relativeWeights(candidates);
    this.#current = new Float64Array(candidates.length);
    this.#start = start;
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const weights = this.#weights;
    const current = this.#current;
    const exclude = context.exclude;
    const n = candidates.length;
    let total = 0;
    let best = -1;
    let bestCurrent = 0;
    for (let k = 0, i = this.#start; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      if (exclude !== undefined && exclude.has(candidates[i]!)) continue;
      const weight = weights[i]!;
      const value = current[i]! + weight;
      current[i] = value;
      total += weight;
      if (best < 0 || value > bestCurrent) {
        best = i;
        bestCurrent = value;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestCurrent - total;
    return candidates[best];
  }
}

const selector: WeightedRoundRobinSelector = Object.freeze({
  name: 'weighted-round-robin',
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
    if (candidates.length === 0) return emptyPicker<T>();
    return new WeightedRoundRobinPicker(
      candidates.slice(),
      randomInt(env.random, candidates.length),
    );
  },
});

/** Smooth weighted round-robin (nginx). */
export function weightedRoundRobinSelector(): WeightedRoundRobinSelector {
  return selector;
}
