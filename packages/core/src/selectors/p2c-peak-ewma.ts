/**
 * `p2c-peak-ewma`: power of two choices on peak-EWMA cost, as Linkerd and Finagle balance.
 * Each pick samples two distinct candidates at random and takes the one with the lower cost
 *
 *     cost = latency × (inflight + 1)
 *
 * where latency is `candidate.latencyEstimate(context.now)` (the pool's peak-EWMA estimate in
 * ms, failure penalty included, which decays towards zero while an endpoint is idle with the
 * pool's `stats.latencyDecayMs`). Before an endpoint's first sample its cost is 0 while nothing
 * is in flight on it, so a new or restarted endpoint is tried at once, and `defaultRttMs` ×
 * (inflight + 1) after that, so it is tried one attempt at a time until it has a sample
 * (Finagle gives such a host a penalty once it has pending work). A fixed default instead would starve an endpoint whose peers
 * answer faster than the default: P2C would never pick it, so it would never get a sample.
 * Ties go to the first sampled.
 * Latencies under 0.001 ms count as 0.001 ms, so that in-flight attempts still count for an
 * endpoint whose estimate has decayed to (nearly) zero.
 * See https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/.
 *
 * - Per pick: O(1) expected. Excluded samples are replaced by further samples, up to 8 for each
 *   of the two, then an O(n) scan (rare: exclusion sets are tiny). With a single non-excluded
 *   candidate, that candidate is returned.
 * - Per build: O(n) (a snapshot of the candidate list).
 * - Options: `defaultRttMs`, default 30 (ms, Linkerd's default), a finite number > 0.
 */
import type { Random } from '../random.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import * as v from '../validate.js';
import { emptyPicker, uniformIndex, uniformOtherIndex } from './sample.js';
import { sharedLoad } from './shared-load.js';
import type { SharedLoad } from './shared-load.js';

export interface P2cPeakEwmaOptions {
  /**
   * Latency (ms) assumed for an endpoint with no sample yet while an attempt is in flight on it
   * (with none in flight its cost is 0, so it is tried at once). Default 30 (Linkerd).
   */
  readonly defaultRttMs?: number;
}

export interface P2cPeakEwmaSelector extends Selector {
  readonly name: 'p2c-peak-ewma';
  readonly defaultRttMs: number;
}

const DEFAULT_RTT_MS = 30;
const MIN_LATENCY_MS = 0.001;

class P2cPeakEwmaPicker<T extends Candidate> implements Picker<T> {
  readonly #candidates: readonly T[];
  readonly #random: Random;
  readonly #defaultRttMs: number;
  readonly #shared: SharedLoad | undefined;

  constructor(candidates: readonly T[], random: Random, defaultRttMs: number) {
    this.#candidates = candidates;
    this.#shared = sharedLoad(candidates);
    this.#random = random;
    this.#defaultRttMs = defaultRttMs;
  }

  pick(context: PickContext<T>): T | undefined {
    const candidates = this.#candidates;
    const exclude = context.exclude;
    const i = uniformIndex(candidates, this.#random, exclude);
    if (i < 0) return undefined;
    const j = uniformOtherIndex(candidates, this.#random, exclude, i);
    if (j < 0) return candidates[i];
    const now = context.now;
    const shared = this.#shared;
    if (shared) {
      const { table, slots } = shared;
      return this.#cost(table.latencyEstimate(slots[j]!, now), table.inflight[slots[j]!]!) <
        this.#cost(table.latencyEstimate(slots[i]!, now), table.inflight[slots[i]!]!)
        ? candidates[j]
        : candidates[i];
    }
    const first = candidates[i]!;
    const second = candidates[j]!;
    return this.#cost(second.latencyEstimate(now), second.inflight) <
      this.#cost(first.latencyEstimate(now), first.inflight)
      ? second
      : first;
  }

  #cost(latency: number, inflight: number): number {
    if (latency !== latency) {
      // NaN: no sample yet. Free while idle, so it gets its first attempt; then the default.
      if (inflight === 0) return 0;
      latency = this.#defaultRttMs;
    } else if (latency < MIN_LATENCY_MS) latency = MIN_LATENCY_MS;
    return latency * (inflight + 1);
  }
}

/** Power of two choices on latency × (in-flight + 1) (Linkerd's peak EWMA). */
export function p2cPeakEwmaSelector(options?: P2cPeakEwmaOptions): P2cPeakEwmaSelector {
  v.knownKeys('selector', options, ['defaultRttMs']);
  const defaultRttMs = v.positive('selector.defaultRttMs', options?.defaultRttMs, DEFAULT_RTT_MS);
  return Object.freeze({
    name: 'p2c-peak-ewma',
    defaultRttMs,
    build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T> {
      if (candidates.length === 0) return emptyPicker<T>();
      return new P2cPeakEwmaPicker(candidates.slice(), env.random, defaultRttMs);
    },
  });
}
