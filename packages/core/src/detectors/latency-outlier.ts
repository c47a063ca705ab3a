/**
 * Latency outliers: ejects a replica that answers, but much more slowly than its peers (a gray
 * failure: a bad disk, a noisy neighbour, a GC spiral), which error-based detectors never see.
 *
 * Algorithm: every `intervalMs` (a clock timer, re-armed each sweep), each non-draining endpoint
 * is given its recent outcomes: those of the interval just ended, or, when they are fewer than
 * `requestVolume`, those of as many earlier intervals as it takes, back to `windowMs` (an endpoint
 * that traffic avoids, as P2C avoids a slow one, gets few calls per interval). An endpoint with
 * `requestVolume` outcomes that way qualifies, with the mean latency of those outcomes without
 * the slowest one. If there are at least `minimumHosts` qualifying endpoints, each one is
 * compared with the median of the *other* qualifying endpoints' latencies (so an outlier never
 * drags its own reference up), and it is an outlier when both
 *
 * - its latency is more than `factor` × that median, and
 * - it exceeds that median by at least `minimumLatencyMs`
 *
 * hold. An endpoint that is an outlier at `consecutiveSweeps` sweeps in a row is ejected
 * (`host.eject`, fault kind `error`, code `latency-outlier`), and its outcomes so far are
 * forgotten: back from the ejection, it is judged on new ones only.
 *
 * The absolute margin keeps fast services stable: 0.3 ms against 0.1 ms is three times slower
 * but not worth an ejection. Outcomes older than `windowMs` never count, so idle or ejected
 * endpoints are not judged on stale numbers. Leaving out the slowest outcome keeps one slow call
 * (the first on a new connection) from making an outlier: a replica that is really slow is slow
 * on every call. The second sweep in a row keeps a replica that stalled once (a GC pause, a
 * stolen CPU) from being ejected: after the stall it answers as fast as its peers, and its next
 * interval says so. (Judging the record's time-decayed EWMA instead ejected healthy replicas on
 * warm-up: the EWMA remembers a single 100 ms first call for seconds.)
 *
 * Defaults and why:
 * - `factor` 3: a replica three times slower than the median of its peers is far outside normal
 *   variation between identical replicas, yet an overloaded or degraded one gets there quickly.
 * - `minimumHosts` 2: works for a pair (one endpoint against the other); a fleet of one has
 *   nowhere better to send traffic.
 * - `minimumLatencyMs` 20: below this difference, moving traffic gains little and same-host or
 *   same-zone jitter would cause ejections.
 * - `requestVolume` 10 (outcomes): enough samples for the mean to reflect now.
 * - `intervalMs` 250 and `consecutiveSweeps` 2: a replica that turns slow is ejected within about
 *   half a second to a second, before the calls it still gets (P2C sends it a few whenever its
 *   latency estimate has decayed) reach 1 % of the traffic, where they would set the p99. With
 *   one sweep a second and one interval's outcomes, late calls went on for 0.8–4.9 s into the
 *   fault (`pnpm bench`, `gray`, `ejectMs` of the runs of 2026-11-22 18:30).
 * - `windowMs` 1000: outcomes at most a second old.
 *
 * There is no A50 or Envoy equivalent (both judge errors only); the median-of-peers comparison
 * follows the idea of Envoy's success-rate outliers applied to latency, and the EWMA is the one
 * Finagle and Linkerd use for load balancing. Peers' latencies are rarely normally distributed,
 * so a median and a ratio are used instead of a mean and a standard deviation.
 */
import type { Detector, DetectorHost, DetectorInstance } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Outcome } from '../outcome.js';
import * as v from '../validate.js';
import { sweepCounts } from './sweep.js';

export interface LatencyOutlierOptions {
  /** How many times the peers' median latency makes an outlier. ≥ 1. Default 3. */
  readonly factor?: number;
  /** Qualifying endpoints needed before any is judged. Integer ≥ 2. Default 2. */
  readonly minimumHosts?: number;
  /** An outlier also exceeds the peers' median by at least this many ms (≥ 0). Default 20. */
  readonly minimumLatencyMs?: number;
  /** Recent outcomes (see `windowMs`) for an endpoint to qualify. Integer ≥ 1. Default 10. */
  readonly requestVolume?: number;
  /** Time between sweeps, ms (> 0). Default 250. */
  readonly intervalMs?: number;
  /**
   * How far back an endpoint's outcomes may count, ms (≥ `intervalMs`): the last interval's,
   * and earlier intervals' while they are fewer than `requestVolume`. Default 1000, or
   * `intervalMs` when that is longer.
   */
  readonly windowMs?: number;
  /** Sweeps in a row that must find an endpoint an outlier before it is ejected. Integer ≥ 1. Default 2. */
  readonly consecutiveSweeps?: number;
}

const optionKeys = [
  'factor',
  'minimumHosts',
  'minimumLatencyMs',
  'requestVolume',
  'intervalMs',
  'windowMs',
  'consecutiveSweeps',
];

/**
 * The detector's name, which its ejections carry (`EndpointRecord.ejectedBy`). A call whose
 * eligible endpoints have all failed it retries on an endpoint this detector ejected, since it
 * answers, only slowly (see `Call`).
 */
export const latencyOutlierName = 'latency-outlier';

export function latencyOutlier(options: LatencyOutlierOptions = {}): Detector {
  const path = 'latencyOutlier';
  v.knownKeys(path, options, optionKeys);
  const factor = v.number(`${path}.factor`, options.factor, 3, 1);
  const minimumHosts = v.integer(`${path}.minimumHosts`, options.minimumHosts, 2, 2);
  const minimumLatencyMs = v.number(`${path}.minimumLatencyMs`, options.minimumLatencyMs, 20);
  const requestVolume = v.integer(`${path}.requestVolume`, options.requestVolume, 10, 1);
  const intervalMs = v.positive(`${path}.intervalMs`, options.intervalMs, 250);
  const windowMs = v.notBelow(
    `${path}.windowMs`,
    v.positive(`${path}.windowMs`, options.windowMs, Math.max(1000, intervalMs)),
    `${path}.intervalMs`,
    intervalMs,
  );
  const consecutiveSweeps = v.integer(`${path}.consecutiveSweeps`, options.consecutiveSweeps, 2, 1);
  // Intervals an outcome stays in the window: those that ended within the last `windowMs`.
  const intervalsKept = Math.max(1, Math.floor(windowMs / intervalMs));

  return Object.freeze({
    name: latencyOutlierName,
    attach(host: DetectorHost): DetectorInstance {
      /** Each endpoint's intervals with outcomes, newest first, within the window. */
      const history = new Map<EndpointRecord, IntervalLatency[]>();
      /** Sweeps in a row that found the endpoint an outlier, for those the last one did. */
      let strikes = new Map<EndpointRecord, number>();
      let sweeps = 0;

      /** `record`'s recent latency, or undefined when it has too few recent outcomes. */
      const recentLatency = (record: EndpointRecord): number | undefined => {
        const intervals = history.get(record);
        if (intervals === undefined) return undefined;
        while (
          intervals.length > 0 &&
          intervals[intervals.length - 1]!.sweep <= sweeps - intervalsKept
        ) {
          intervals.pop();
        }
        if (intervals.length === 0) {
          history.delete(record);
          return undefined;
        }
        let count = 0;
        let sum = 0;
        let max = 0;
        for (const stats of intervals) {
          count += stats.count;
          sum += stats.sum;
          if (stats.max > max) max = stats.max;
          if (count >= requestVolume) return count === 1 ? sum : (sum - max) / (count - 1);
        }
        return undefined;
      };

      const sweep = (interval: ReadonlyMap<EndpointRecord, IntervalLatency>): void => {
        sweeps++;
        for (const [record, stats] of interval) {
          if (stats.count === 0) continue;
          stats.sweep = sweeps;
          const intervals = history.get(record);
          if (intervals) intervals.unshift(stats);
          else history.set(record, [stats]);
        }
        const judged: { record: EndpointRecord; latency: number }[] = [];
        for (const record of host.members()) {
          if (record.status === 'draining') {
            history.delete(record);
            continue;
          }
          const latency = recentLatency(record);
          if (latency !== undefined) judged.push({ record, latency });
        }
        // Only the outliers of this sweep keep their count; an ejection ends it.
        const outliers = new Map<EndpointRecord, number>();
        if (judged.length >= minimumHosts) {
          judged.sort((a, b) => a.latency - b.latency);
          const sorted = judged.map((x) => x.latency);
          for (let i = 0; i < judged.length; i++) {
            const { record, latency } = judged[i]!;
            const median = medianWithout(sorted, i);
            if (latency <= factor * median || latency - median < minimumLatencyMs) continue;
            const times = (strikes.get(record) ?? 0) + 1;
            outliers.set(record, times);
            if (times < consecutiveSweeps) continue;
            const ejected = host.eject(record, {
              kind: 'error',
              code: 'latency-outlier',
              message:
                `latency ${latency.toFixed(1)} ms is over ${factor} × the median ` +
                `${median.toFixed(1)} ms of ${judged.length - 1} peers`,
            });
            if (ejected) {
              history.delete(record);
              outliers.delete(record);
            }
          }
        }
        strikes = outliers;
      };

      const counts = sweepCounts<IntervalLatency>(host, intervalMs, addLatency, sweep);
      // The counts' own `onOutcome` (it uses no `this`), with the history dropped alongside.
      return {
        ...counts,
        onRemoved(record: EndpointRecord): void {
          counts.onRemoved?.(record);
          history.delete(record);
          strikes.delete(record);
        },
        close(): void {
          counts.close();
          history.clear();
          strikes.clear();
        },
      };
    },
  });
}

/** An endpoint's outcomes in the current interval: how many, their latencies' sum and maximum. */
interface IntervalLatency {
  count: number;
  sum: number;
  max: number;
  /** The sweep that ended the interval (set by that sweep). */
  sweep: number;
}

function addLatency(stats: IntervalLatency | undefined, outcome: Outcome): IntervalLatency {
  const latency = outcome.latencyMs;
  if (!Number.isFinite(latency)) return stats ?? { count: 0, sum: 0, max: 0, sweep: 0 };
  if (stats === undefined) return { count: 1, sum: latency, max: latency, sweep: 0 };
  stats.count++;
  stats.sum += latency;
  if (latency > stats.max) stats.max = latency;
  return stats;
}

/** Median of ascending `sorted` without its element at `skip` (length ≥ 2), in O(1). */
export function medianWithout(sorted: readonly number[], skip: number): number {
  const n = sorted.length - 1;
  const at = (j: number): number => sorted[j < skip ? j : j + 1]!;
  const mid = n >> 1;
  return n % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}
