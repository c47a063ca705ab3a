/**
 * A pool-wide latency histogram over a sliding time window, for adaptive hedging delays ("hedge
 * after the p95 latency of the last 30 s"), after Finagle's `WindowedPercentileHistogram`
 * behind `BackupRequestFilter` (3 slices of 10 s).
 *
 * Algorithm: log-linear buckets. A latency `x` ms goes to counter `floor(log(x / 0.01) /
 * log(1.02))`, so counter `i` holds [0.01 × 1.02^i, 0.01 × 1.02^(i+1)) and reports its upper
 * bound: at most 2 % above any sample in it, never below. The range is 0.01 ms to 10 minutes
 * (905 counters); samples below count as 0.01 ms, samples above as 10 minutes, and NaN is
 * ignored. The window is a ring of `buckets` slices of `windowMs / buckets` each, one
 * `Uint32Array` of counters per slice, plus a running sum over the slices; when time moves past
 * a slice, the oldest slice is subtracted from the sum and cleared. The window thus covers the
 * current slice and the `buckets − 1` before it: between (buckets−1)/buckets and all of
 * `windowMs`.
 *
 * Cost: `record` is O(1) (a logarithm and two increments); `percentile` walks the 905 summed
 * counters, O(counters) — fine because hedging reads it at most once per call (Finagle refreshes
 * its percentile every few seconds instead). Memory: (buckets + 1) × 905 × 4 bytes, 14.5 KB
 * with the defaults, once per pool.
 *
 * Defaults: `windowMs` 30 000 ms in `buckets` 3 slices: Finagle's 3 × 10 s. Thirty seconds hold
 * enough calls for a stable p99 at modest rates while following a change in latency within
 * half a minute; three slices make the window slide in 10 s steps.
 *
 * Spec: https://github.com/twitter/finagle/blob/develop/finagle-core/src/main/scala/com/twitter/finagle/util/WindowedPercentileHistogram.scala ;
 * https://github.com/twitter/finagle/blob/develop/finagle-core/src/main/scala/com/twitter/finagle/client/BackupRequestFilter.scala
 */
import * as v from '../validate.js';

export interface LatencyHistogramOptions {
  /** Length of the window, in ms. > 0. Default 30 000 (Finagle: 3 × 10 s). */
  readonly windowMs?: number;
  /** Slices the window is kept in; it slides one slice at a time. Integer 1–60. Default 3. */
  readonly buckets?: number;
}

const minMs = 0.01;
const maxMs = 600_000;
const growth = 1.02;
const logGrowth = Math.log(growth);
const counters = Math.ceil(Math.log(maxMs / minMs) / logGrowth); // 905
const optionKeys = ['windowMs', 'buckets'];

export class LatencyHistogram {
  /** Smallest latency told apart, in ms; smaller samples count as this. */
  static readonly minMs = minMs;
  /** Largest latency told apart, in ms (10 minutes); larger samples count as this. */
  static readonly maxMs = maxMs;
  /** Largest relative error of a percentile (always an overestimate). */
  static readonly relativeError = growth - 1;

  readonly windowMs: number;
  readonly buckets: number;
  readonly #slices: Uint32Array; // slice s holds counters [s × counters, (s + 1) × counters)
  readonly #sliceCounts: Uint32Array;
  readonly #sum = new Uint32Array(counters);
  readonly #sliceMs: number;
  #count = 0;
  #head = 0;
  #headStart: number;

  /** `path` names the options in configuration errors. */
  constructor(options: LatencyHistogramOptions, now: number, path = 'latencyHistogram') {
    v.knownKeys(path, options, optionKeys);
    this.windowMs = v.positive(`${path}.windowMs`, options.windowMs, 30_000);
    this.buckets = v.integer(`${path}.buckets`, options.buckets, 3, 1, 60);
    this.#sliceMs = this.windowMs / this.buckets;
    this.#slices = new Uint32Array(this.buckets * counters);
    this.#sliceCounts = new Uint32Array(this.buckets);
    this.#headStart = now;
  }

  #advance(now: number): void {
    const elapsed = now - this.#headStart;
    if (!(elapsed >= this.#sliceMs)) return; // also when time stands still or goes back
    const steps = Math.floor(elapsed / this.#sliceMs);
    const clear = Math.min(steps, this.buckets);
    for (let k = 1; k <= clear; k++) {
      const s = (this.#head + k) % this.buckets;
      if (this.#sliceCounts[s] === 0) continue;
      const base = s * counters;
      for (let i = 0; i < counters; i++) {
        const c = this.#slices[base + i]!;
        if (c !== 0) {
          this.#sum[i]! -= c;
          this.#slices[base + i] = 0;
        }
      }
      this.#count -= this.#sliceCounts[s]!;
      this.#sliceCounts[s] = 0;
    }
    this.#head = (this.#head + steps) % this.buckets;
    this.#headStart += steps * this.#sliceMs;
  }

  /** Records one call's latency, in ms, at `now`. */
  record(now: number, latencyMs: number): void {
    if (Number.isNaN(latencyMs)) return;
    this.#advance(now);
    let i = latencyMs > minMs ? Math.floor(Math.log(latencyMs / minMs) / logGrowth) : 0;
    if (i >= counters) i = counters - 1;
    this.#slices[this.#head * counters + i]! += 1;
    this.#sliceCounts[this.#head]! += 1;
    this.#sum[i]! += 1;
    this.#count += 1;
  }

  /**
   * The `p`th percentile (0–100, clamped) of the window ending at `now`, in ms, by nearest rank:
   * the upper bound of the counter holding the ⌈p/100 × count⌉-th smallest sample (the smallest
   * for p = 0). At most 2 % above the exact value. NaN when the window holds no samples.
   */
  percentile(now: number, p: number): number {
    this.#advance(now);
    if (this.#count === 0 || Number.isNaN(p)) return NaN;
    const clamped = p < 0 ? 0 : p > 100 ? 100 : p;
    const rank = Math.max(1, Math.ceil((clamped * this.#count) / 100));
    let seen = 0;
    for (let i = 0; i < counters; i++) {
      seen += this.#sum[i]!;
      if (seen >= rank) return Math.min(maxMs, minMs * growth ** (i + 1));
    }
    return maxMs; // unreachable: the counters add up to count
  }

  /** Samples in the window ending at `now`. */
  count(now: number): number {
    this.#advance(now);
    return this.#count;
  }
}
