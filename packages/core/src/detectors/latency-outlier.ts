/**
 * Latency outliers: ejects a replica that answers, but much more slowly than its peers (a gray
 * failure: a bad disk, a noisy neighbour, a GC spiral), which error-based detectors never see.
 *
 * Algorithm: every `intervalMs` (a clock timer, re-armed each sweep), take the non-draining
 * endpoints that had at least `requestVolume` outcomes since the previous sweep, and give each
 * the mean latency of those outcomes without the slowest one. If there are at least
 * `minimumHosts` of them, each one is compared with the median of the *other* qualifying
 * endpoints' latencies (so an outlier never drags its own reference up), and ejected
 * (`host.eject`, fault kind `error`, code `latency-outlier`) when both
 *
 * - its latency is more than `factor` × that median, and
 * - it exceeds that median by at least `minimumLatencyMs`
 *
 * hold. The absolute margin keeps fast services stable: 0.3 ms against 0.1 ms is three times
 * slower but not worth an ejection. Only the interval's own outcomes count, so idle or ejected
 * endpoints are not judged on stale numbers. Leaving out the slowest outcome keeps one slow call
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
}

const optionKeys = ['factor', 'minimumHosts', 'minimumLatencyMs', 'requestVolume', 'intervalMs'];

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

  return Object.freeze({
    name: latencyOutlierName,
    attach(host: DetectorHost): DetectorInstance {
      const sweep = (interval: ReadonlyMap<EndpointRecord, IntervalLatency>): void => {
        const judged: { record: EndpointRecord; latency: number }[] = [];
        for (const record of host.members()) {
          if (record.status === 'draining') continue;
          const stats = interval.get(record);
          if (stats === undefined || stats.count < requestVolume) continue;
          const latency =
            stats.count === 1 ? stats.sum : (stats.sum - stats.max) / (stats.count - 1);
          judged.push({ record, latency });
        }
        if (judged.length < minimumHosts) return;
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
      };

      return sweepCounts<IntervalLatency>(host, intervalMs, addLatency, sweep);
    },
  });
}

/** An endpoint's outcomes in the current interval: how many, their latencies' sum and maximum. */
interface IntervalLatency {
  count: number;
  sum: number;
  max: number;
}

function addLatency(stats: IntervalLatency | undefined, outcome: Outcome): IntervalLatency {
  const latency = outcome.latencyMs;
  if (!Number.isFinite(latency)) return stats ?? { count: 0, sum: 0, max: 0 };
  if (stats === undefined) return { count: 1, sum: latency, max: latency };
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
