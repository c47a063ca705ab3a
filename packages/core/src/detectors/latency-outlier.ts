/**
 * Latency outliers: ejects a replica that answers, but much more slowly than its peers (a gray
 * failure: a bad disk, a noisy neighbour, a GC spiral), which error-based detectors never see.
 *
 * Algorithm: every `intervalMs` (a clock timer, re-armed each sweep), take the non-draining
 * endpoints that had at least `requestVolume` outcomes since they were last judged (a healthy
 * endpoint with fewer keeps them for the next sweep, over at most `maxIntervals` intervals; an
 * ejected or probing one does not), and give each
 * the mean latency of those outcomes without the slowest one. If there are at least
 * `minimumHosts` of them, each one is compared with the median of the *other* qualifying
 * endpoints' latencies (so an outlier never drags its own reference up), and ejected
 * (`host.eject`, fault kind `error`, code `latency-outlier`) when both
 *
 * - its latency is more than `factor` × that median, and
 * - it exceeds that median by at least `minimumLatencyMs`
 *
 * hold. The absolute margin keeps fast services stable: 0.3 ms against 0.1 ms is three times
 * slower but not worth an ejection. Outcomes older than `maxIntervals` never count, so idle or
 * ejected endpoints are not judged on stale numbers; but a slow replica that the balancer
 * (P2C peak-EWMA) avoids still gets a call now and then, possibly under `requestVolume` in every
 * interval, so never judged, yet enough to be the clients' p99 (benchmark `gray`, 2026-11-22: a
 * 50 ms-late replica kept at least 1 % of the calls). Leaving out the slowest outcome keeps one slow call
 * (the first on a new connection, a GC pause) from making an outlier: a replica that is really
 * slow is slow on every call. (Judging the record's time-decayed EWMA instead ejected healthy
 * replicas on warm-up: the EWMA remembers a single 100 ms first call for seconds, and at 1 s
 * decay it still weighs about a third after one interval.)
 *
 * Defaults and why:
 * - `factor` 3: a replica three times slower than the median of its peers is far outside normal
 *   variation between identical replicas, yet an overloaded or degraded one gets there quickly.
 * - `minimumHosts` 2: works for a pair (one endpoint against the other); a fleet of one has
 *   nowhere better to send traffic.
 * - `minimumLatencyMs` 20: below this difference, moving traffic gains little and same-host or
 *   same-zone jitter would cause ejections.
 * - `requestVolume` 10 (outcomes per interval): enough samples for the EWMA to reflect now.
 * - `intervalMs` 1000: as `outlierDetection`.
 * - `maxIntervals` 5: a replica sent a call or two a second is judged within 5 s, on outcomes
 *   at most 5 s old.
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
  /** Outcomes since the previous sweep for an endpoint to qualify. Integer ≥ 1. Default 10. */
  readonly requestVolume?: number;
  /** Time between sweeps, ms (> 0). Default 1000. */
  readonly intervalMs?: number;
  /**
   * Intervals an endpoint's outcomes may be gathered over to reach `requestVolume`: one with
   * fewer outcomes keeps them for the next sweep, up to this many intervals, then starts again.
   * Integer ≥ 1 (1: each interval alone). Default 5.
   */
  readonly maxIntervals?: number;
}

const optionKeys = [
  'factor',
  'minimumHosts',
  'minimumLatencyMs',
  'requestVolume',
  'intervalMs',
  'maxIntervals',
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
  const intervalMs = v.positive(`${path}.intervalMs`, options.intervalMs, 1000);
  const maxIntervals = v.integer(`${path}.maxIntervals`, options.maxIntervals, 5, 1);

  return Object.freeze({
    name: latencyOutlierName,
    attach(host: DetectorHost): DetectorInstance {
      const sweep = (
        interval: ReadonlyMap<EndpointRecord, IntervalLatency>,
      ): Map<EndpointRecord, IntervalLatency> => {
        const judged: { record: EndpointRecord; latency: number }[] = [];
        const carried = new Map<EndpointRecord, IntervalLatency>();
        for (const record of host.members()) {
          if (record.status === 'draining') continue;
          const stats = interval.get(record);
          if (stats === undefined) continue;
          if (stats.count < requestVolume) {
            // Too few to judge yet (a replica the balancer avoids gets few calls, and can still
            // slow many of them): gathered over up to maxIntervals, while the endpoint stays
            // healthy. An ejected or probing one starts again, so that what it did before an
            // ejection (timeouts while frozen) is never held against it once it is back.
            if (stats.intervals < maxIntervals && record.status === 'healthy') {
              stats.intervals++;
              carried.set(record, stats);
            }
            continue;
          }
          const latency =
            stats.count === 1 ? stats.sum : (stats.sum - stats.max) / (stats.count - 1);
          judged.push({ record, latency });
        }
        if (judged.length < minimumHosts) return carried;
        judged.sort((a, b) => a.latency - b.latency);
        const sorted = judged.map((x) => x.latency);
        for (let i = 0; i < judged.length; i++) {
          const { record, latency } = judged[i]!;
          const median = medianWithout(sorted, i);
          if (latency <= factor * median || latency - median < minimumLatencyMs) continue;
          host.eject(record, {
            kind: 'error',
            code: 'latency-outlier',
            message:
              `latency ${latency.toFixed(1)} ms is over ${factor} × the median ` +
              `${median.toFixed(1)} ms of ${judged.length - 1} peers`,
          });
        }
        return carried;
      };

      return sweepCounts<IntervalLatency>(host, intervalMs, addLatency, sweep);
    },
  });
}

/**
 * An endpoint's outcomes since it was last judged: how many, their latencies' sum and maximum,
 * and over how many intervals they were gathered.
 */
interface IntervalLatency {
  count: number;
  sum: number;
  max: number;
  intervals: number;
}

function addLatency(stats: IntervalLatency | undefined, outcome: Outcome): IntervalLatency {
  const latency = outcome.latencyMs;
  if (!Number.isFinite(latency)) return stats ?? { count: 0, sum: 0, max: 0, intervals: 1 };
  if (stats === undefined) return { count: 1, sum: latency, max: latency, intervals: 1 };
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
