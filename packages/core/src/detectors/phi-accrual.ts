/**
 * φ accrual failure detector (Hayashibara, Défago, Yared, Katayama, "The φ accrual failure
 * detector", SRDS 2004), in the form Akka uses: instead of a yes/no timeout it computes a
 * suspicion level φ from the time since the last heartbeat and the observed distribution of
 * heartbeat intervals, and holds the endpoint out while φ ≥ `threshold`.
 *
 * Algorithm (Akka's `PhiAccrualFailureDetector`):
 * - Heartbeats arrive through `onHeartbeat(record, at)`: the pool sends one for each successful
 *   probe of the `heartbeat` detector. With `countResponses`, each successful outcome is a
 *   heartbeat too.
 * - An endpoint's first heartbeat starts its history with two made-up intervals,
 *   {mean − σ, mean + σ} with mean = `firstHeartbeatEstimateMs` and σ = mean / 4, so that an
 *   endpoint that sends one heartbeat and then falls silent is still suspected. Each later
 *   heartbeat adds the interval since the previous one; the last `maxSampleSize` intervals are
 *   kept in a `Float64Array` ring with a running sum and sum of squares (exact sums are
 *   recomputed once per lap of the ring, so rounding never accumulates).
 * - φ(t) = −log10(1 − F(t − last)), F the normal CDF with the history's mean (plus
 *   `acceptableHeartbeatPauseMs`) and its population standard deviation, floored at
 *   `minStdDeviationMs`; F uses the logistic approximation 1 / (1 + e^(−y(1.5976 + 0.070566 y²)))
 *   (error 0.00014 at y = ±3.16), see `phi()`.
 * - A timer every `checkIntervalMs` computes φ(now) for each non-draining endpoint with at least
 *   one heartbeat; φ ≥ `threshold` → `host.hold(record, { kind: 'probe-failed', code: 'phi' })`.
 * - A heartbeat that arrives while the endpoint is held (or while φ ≥ `threshold`) releases it,
 *   and its interval is not added to the history: "a long pause will skew the stats" (Akka).
 *
 * A held endpoint takes no calls, so it can only be released by a heartbeat that does not depend
 * on calls: a probe. An endpoint whose heartbeats so far all came from responses
 * (`countResponses` without the `heartbeat` detector) is therefore given a timed ejection
 * (`host.eject`, fault kind `timeout`, code `phi`) instead of a hold: the pool brings it back
 * to probing after the ejection time and its trial calls are its next heartbeats. For such
 * endpoints φ is only computed while they are healthy, and every status change restarts the
 * silence (an ejected endpoint is silent because it takes no calls, not because it is dead).
 *
 * Defaults and why (Akka's cluster failure detector and Cassandra for comparison):
 * - `threshold` 8: Akka's cluster default and Cassandra's `phi_convict_threshold`. Under the normal
 *   model, a false suspicion at each check has a chance of about 10⁻⁸.
 * - `maxSampleSize` 100 intervals (Akka and Cassandra: 1000): 800 bytes per endpoint instead of
 *   8 kB, and the history adapts to a changed heartbeat rate within 100 heartbeats.
 * - `minStdDeviationMs` 100 (Akka: 100 ms): timer-driven heartbeats are so regular that σ would
 *   otherwise approach 0 and φ would explode at the first late heartbeat.
 * - `acceptableHeartbeatPauseMs` 1000 (Akka cluster: 3 s, which tolerates long GC pauses of the
 *   monitored JVM): with 1 s heartbeats, 100 ms σ and threshold 8, φ reaches 8 about 2.52 s
 *   after the last heartbeat, so one lost probe is tolerated and two are not, like the
 *   heartbeat detector's `unhealthyThreshold` of 2. At 0 it would reach 8 after 1.52 s and a
 *   single lost probe would hold the endpoint until the next heartbeat.
 * - `firstHeartbeatEstimateMs` 1000: Akka's `heartbeat-interval`, and the `heartbeat`
 *   detector's default `intervalMs`.
 * - `checkIntervalMs` 100: how often φ is computed; it bounds the detection delay beyond the
 *   φ crossing, at O(endpoints) work per check.
 * - `countResponses` false: responses arrive when the application calls, not on a schedule, so
 *   a quiet client would suspect every endpoint. Turn it on only for steady traffic.
 *
 * Spec: Hayashibara et al. 2004 (JAIST IS-RR-2004-010); Akka
 * `akka-remote/src/main/scala/akka/remote/PhiAccrualFailureDetector.scala` and
 * https://doc.akka.io/docs/akka/current/typed/failure-detector.html; Cassandra
 * `org.apache.cassandra.gms.FailureDetector`.
 */
import type { Detector, DetectorHost, DetectorInstance } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Outcome } from '../outcome.js';
import * as v from '../validate.js';
import { sweepEvery } from './sweep.js';

export interface PhiAccrualOptions {
  /** Suspicion level that holds an endpoint out (> 0). Default 8 (Akka, Cassandra). */
  readonly threshold?: number;
  /** Heartbeat intervals kept per endpoint. Integer ≥ 2. Default 100 (Akka: 1000). */
  readonly maxSampleSize?: number;
  /** Floor of the intervals' standard deviation, ms (> 0). Default 100 (Akka). */
  readonly minStdDeviationMs?: number;
  /** Added to the mean interval: a pause tolerated without suspicion, ms (≥ 0). Default 0 (Akka: 3000). */
  readonly acceptableHeartbeatPauseMs?: number;
  /** Assumed mean interval before the second heartbeat, ms (> 0). Default 1000 (Akka). */
  readonly firstHeartbeatEstimateMs?: number;
  /** How often φ is computed, ms (> 0). Default 100. */
  readonly checkIntervalMs?: number;
  /** Count successful outcomes as heartbeats. Default false. */
  readonly countResponses?: boolean;
}

const optionKeys = [
  'threshold',
  'maxSampleSize',
  'minStdDeviationMs',
  'acceptableHeartbeatPauseMs',
  'firstHeartbeatEstimateMs',
  'checkIntervalMs',
  'countResponses',
];

/**
 * φ for a silence of `timeSinceLastMs` when intervals are normal with `meanMs` and `stdDevMs`:
 * −log10(1 − F), F the logistic approximation of the normal CDF that Akka uses. Computed as
 * softplus(y(1.5976 + 0.070566 y²)) / ln 10, which equals Akka's two-branch formula but stays
 * finite for long silences (Akka's reaches Infinity once e^(−…) underflows).
 */
export function phi(timeSinceLastMs: number, meanMs: number, stdDevMs: number): number {
  const y = (timeSinceLastMs - meanMs) / stdDevMs;
  const a = y * (1.5976 + 0.070566 * y * y);
  // −log10(e / (1 + e)) with e = exp(−a), i.e. log10(1 + exp(a)), without overflow.
  const softplus = a >= 0 ? a + Math.log1p(Math.exp(-a)) : Math.log1p(Math.exp(a));
  return softplus / Math.LN10;
}

/** The last `capacity` heartbeat intervals, with running sums. */
class IntervalHistory {
  readonly #samples: Float64Array;
  #size = 0;
  #next = 0;
  #sum = 0;
  #squares = 0;

  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity);
  }

  add(interval: number): void {
    const capacity = this.#samples.length;
    if (this.#size === capacity) {
      const oldest = this.#samples[this.#next]!;
      this.#sum -= oldest;
      this.#squares -= oldest * oldest;
    } else {
      this.#size++;
    }
    this.#samples[this.#next] = interval;
    this.#sum += interval;
    this.#squares += interval * interval;
    this.#next = (this.#next + 1) % capacity;
    if (this.#next === 0) this.#resum();
  }

  get mean(): number {
    return this.#sum / this.#size;
  }

  /** Population standard deviation. */
  get stdDev(): number {
    const mean = this.mean;
    return Math.sqrt(Math.max(0, this.#squares / this.#size - mean * mean));
  }

  #resum(): void {
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < this.#size; i++) {
      const x = this.#samples[i]!;
      sum += x;
      squares += x * x;
    }
    this.#sum = sum;
    this.#squares = squares;
  }
}

interface EndpointState {
  readonly history: IntervalHistory;
  /** Clock time of the last heartbeat (or of the last restart of the silence). */
  last: number;
  /** Whether any heartbeat came from `onHeartbeat` (a probe) rather than from a response. */
  probed: boolean;
  /** Do not add the next interval to the history (after a suspicion or a restart). */
  skipNext: boolean;
}

export function phiAccrual(options: PhiAccrualOptions = {}): Detector {
  const path = 'phiAccrual';
  v.knownKeys(path, options, optionKeys);
  const threshold = v.positive(`${path}.threshold`, options.threshold, 8);
  const maxSampleSize = v.integer(`${path}.maxSampleSize`, options.maxSampleSize, 100, 2);
  const minStdDeviationMs = v.positive(`${path}.minStdDeviationMs`, options.minStdDeviationMs, 100);
  const pauseMs = v.number(
    `${path}.acceptableHeartbeatPauseMs`,
    options.acceptableHeartbeatPauseMs,
    1000,
  );
  const firstEstimateMs = v.positive(
    `${path}.firstHeartbeatEstimateMs`,
    options.firstHeartbeatEstimateMs,
    1000,
  );
  const checkIntervalMs = v.positive(`${path}.checkIntervalMs`, options.checkIntervalMs, 100);
  const countResponses = v.boolean(`${path}.countResponses`, options.countResponses, false);

  const phiAt = (state: EndpointState, now: number): number =>
    phi(
      now - state.last,
      state.history.mean + pauseMs,
      Math.max(state.history.stdDev, minStdDeviationMs),
    );

  return Object.freeze({
    name: 'phi-accrual',
    attach(host: DetectorHost): DetectorInstance {
      const states = new Map<EndpointRecord, EndpointState>();
      let closed = false;

      const heartbeat = (record: EndpointRecord, at: number, fromProbe: boolean): void => {
        if (closed || record.status === 'draining') return;
        let state = states.get(record);
        if (!state) {
          const history = new IntervalHistory(maxSampleSize);
          history.add(firstEstimateMs * 0.75);
          history.add(firstEstimateMs * 1.25);
          state = { history, last: at, probed: fromProbe, skipNext: false };
          states.set(record, state);
          return;
        }
        if (at < state.last) return; // out of order: the later heartbeat already counted
        if (fromProbe) state.probed = true;
        const held = host.holding(record);
        if (!held && !state.skipNext && phiAt(state, at) < threshold) {
          state.history.add(at - state.last);
        }
        state.skipNext = false;
        state.last = at;
        if (held) host.release(record);
      };

      const check = (): void => {
        const now = host.clock.now();
        for (const [record, state] of states) {
          if (record.status === 'draining' || host.holding(record)) continue;
          if (!state.probed && record.status !== 'healthy') continue;
          const level = phiAt(state, now);
          if (level < threshold) continue;
          const fault = {
            kind: state.probed ? ('probe-failed' as const) : ('timeout' as const),
            code: 'phi',
            message: `phi=${level.toFixed(1)}`,
          };
          state.skipNext = true;
          if (state.probed) {
            host.hold(record, fault);
          } else {
            // Response-only heartbeats: a hold could never end (see above). Restart the
            // silence so that a refused ejection is retried only after another full φ rise.
            state.last = now;
            host.eject(record, fault);
          }
        }
      };

      const timer = sweepEvery(host.clock, checkIntervalMs, check);

      return {
        onHeartbeat(record: EndpointRecord, at: number): void {
          heartbeat(record, at, true);
        },
        onOutcome(record: EndpointRecord, outcome: Outcome): void {
          if (countResponses && outcome.kind === 'success') {
            heartbeat(record, host.clock.now(), false);
          }
        },
        onStatusChange(record: EndpointRecord): void {
          const state = states.get(record);
          if (!state || state.probed) return;
          state.last = host.clock.now();
          state.skipNext = true;
        },
        onRemoved(record: EndpointRecord): void {
          states.delete(record);
        },
        close(): void {
          closed = true;
          timer.cancel();
          states.clear();
        },
      };
    },
  });
}
