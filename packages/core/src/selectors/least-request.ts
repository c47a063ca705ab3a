/**
 * `least-request`: the power of d choices (Mitzenmacher). Each pick samples `choiceCount`
 * distinct candidates uniformly at random and takes the one with the fewest attempts in flight
 * (`candidate.inflight`); ties go to the first sampled. Weight is ignored. See gRFC A48
 * (https://github.com/grpc/proposal/blob/master/A48-xds-least-request-lb-policy.md).
 *
 * Samples are drawn without replacement (A48 and Envoy draw with replacement, and note that a
 * frozen endpoint can then be compared with itself and still be picked), so the d choices are
 * distinct whenever at least d candidates are not excluded: the k-th draw takes r from n - k
 * and shifts it past the indexes already drawn (kept sorted in a small array made at build
 * time). Excluded draws are skipped and replaced by further draws, up to 8 of them; past that
 * the pick falls back to a full O(n) scan for the least-loaded non-excluded candidate (rare:
 * exclusion sets are tiny).
 *
 * - Per pick: O(d²) with d = `choiceCount` (d ≤ 10); O(n) in the rare fallback.
 * - Per build: O(n) (a snapshot of the candidate list).
 * - Options: `choiceCount`, default 2, an integer ≥ 2; values above 10 are clamped to 10, as
 *   gRFC A48 does.
 */
import { randomInt } from '../random.js';
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
import { emptyPicker, SAMPLE_ATTEMPTS } from './sample.js';
import { sharedLoad } from './shared-load.js';
import type { SharedLoad } from './shared-load.js';

export interface LeastRequestOptions {
  /** Candidates compared per pick. Default 2; an integer ≥ 2, clamped to 10. */
  readonly choiceCount?: number;
}

export interface LeastRequestSelector extends Selector {
  readonly name: 'least-request';
  readonly choiceCount: number;
}

const DEFAULT_CHOICE_COUNT = 2;
const MAX_CHOICE_COUNT = 10;

class LeastRequestPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  readonly #random: Random;
  readonly #choices: number;
  /** Indexes drawn in the current pick, sorted ascending; reused by every pick. */
  readonly #drawn: Int32Array;
  readonly #shared: SharedLoad | undefined;

  constructor(candidates: readonly T[], random: Random, choices: number) {
    this.#candidates = candidates;
    this.#shared = sharedLoad(candidates);
    this.#random = random;
    this.#choices = choices;
    this.#drawn = new Int32Array(Math.min(candidates.length, choices + SAMPLE_ATTEMPTS));
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const drawn = this.#drawn;
    const exclude = context.exclude;
    const n = candidates.length;
    const limit = drawn.length;
    const shared = this.#shared;
    let count = 0;
    let good = 0;
    let best: T | undefined;
    let bestLoad = 0;
    while (good < this.#choices && count < limit) {
      // The r-th index not drawn yet: shift r past every smaller drawn index.
      let r = randomInt(this.#random, n - count);
      let at = 0;
      while (at < count && drawn[at]! <= r) {
        r++;
        at++;
      }
      // Insert r at `at`, keeping the (at most 18) drawn indexes sorted. A loop, not copyWithin:
      // for a handful of entries the builtin's call costs more than the moves.
      for (let k = count; k > at; k--) drawn[k] = drawn[k - 1]!;
      drawn[at] = r;
      count++;
      const candidate = candidates[r]!;
      if (exclude !== undefined && exclude.has(candidate)) continue;
      good++;
      const load = shared ? shared.table.inflight[shared.slots[r]!]! : candidate.inflight;
      if (best === undefined || load < bestLoad) {
        best = candidate;
        bestLoad = load;
      }
    }
    if (good === this.#choices || count === n) return best;
    return this.#scan(exclude!);
  }

  /** The least-loaded non-excluded candidate, by a full scan from a random start. */
  #scan(exclude: Exclusion<T>): T | undefined {
    const candidates = this.#candidates;
    const n = candidates.length;
    let best: T | undefined;
    let bestLoad = 0;
    for (let k = 0, i = randomInt(this.#random, n); k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const candidate = candidates[i]!;
      if (exclude.has(candidate)) continue;
      const load = candidate.inflight;
      if (best === undefined || load < bestLoad) {
        best = candidate;
        bestLoad = load;
      }
    }
    return best;
  }
}

/** Power of d choices on in-flight attempts (gRFC A48). */
export function leastRequestSelector(options?: LeastRequestOptions): LeastRequestSelector {
  v.knownKeys('selector', options, ['choiceCount']);
  const choiceCount = Math.min(
    MAX_CHOICE_COUNT,
    v.integer('selector.choiceCount', options?.choiceCount, DEFAULT_CHOICE_COUNT, 2),
  );
  return Object.freeze({
    name: 'least-request',
    choiceCount,
    build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
      if (candidates.length === 0) return emptyPicker<T>();
      return new LeastRequestPicker(candidates.slice(), env.random, choiceCount);
    },
  });
}
