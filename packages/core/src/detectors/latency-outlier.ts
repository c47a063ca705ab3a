/**
 * Latency outliers: ejects a replica that answers, but much more slowly than its peers (a gray
 * failure: a bad disk, a noisy neighbour, a GC spiral), which error-based detectors never see.
 *
 * Algorithm: every `intervalMs` (a clock timer, re-armed each sweep), take the non-draining
 * endpoints that had at least `requestVolume` outcomes since the previous sweep and have a
 * latency estimate (`ewmaLatencyMs`, the record's time-decayed EWMA, not NaN). If there are at
 * least `minimumHosts` of them, each one is compared with the median EWMA of the *other*
 * qualifying endpoints (so an outlier never drags its own reference up), and ejected
 * (`host.eject`, fault kind `error`, code `latency-outlier`) when both
 *
 * - its EWMA is more than `factor` × that median, and
 * - it exceeds that median by at least `minimumLatencyMs`
 *
 * hold. The absolute margin keeps fast services stable: 0.3 ms against 0.1 ms is three times
 * slower but not worth an ejection. Counting outcomes per interval ignores idle or ejected
 * endpoints, whose EWMA is stale.
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

export function latencyOutlier(options: LatencyOutlierOptions = {}): Detector {
  const path = 'latencyOutlier';
  v.knownKeys(path, options, optionKeys);
  const factor = v.number(`${path}.factor`, options.factor, 3, 1);
  const minimumHosts = v.integer(`${path}.minimumHosts`, options.minimumHosts, 2, 2);
  const minimumLatencyMs = v.number(`${path}.minimumLatencyMs`, options.minimumLatencyMs, 20);
  const requestVolume = v.integer(`${path}.requestVolume`, options.requestVolume, 10, 1);
  const intervalMs = v.positive(`${path}.intervalMs`, options.intervalMs, 1000);

  return Object.freeze({
    name: 'latency-outlier',
    attach(host: DetectorHost): DetectorInstance {
      const sweep = (interval: ReadonlyMap<EndpointRecord, number>): void => {
        const judged: { record: EndpointRecord; latency: number }[] = [];
        for (const record of host.members()) {
          if (record.status === 'draining') continue;
          const latency = record.ewmaLatencyMs;
          if ((interval.get(record) ?? 0) < requestVolume || Number.isNaN(latency)) continue;
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

      return sweepCounts<number>(host, intervalMs, (count) => (count ?? 0) + 1, sweep);
    },
  });
}

/** Median of ascending `sorted` without its element at `skip` (length ≥ 2), in O(1). */
export function medianWithout(sorted: readonly number[], skip: number): number {
  const n = sorted.length - 1;
  const at = (j: number): number => sorted[j < skip ? j : j + 1]!;
  const mid = n >> 1;
  return n % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}
