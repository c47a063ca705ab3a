/**
 * Outlier detection: gRFC A50's two statistical algorithms, run in a sweep every `intervalMs`.
 *
 * Each sweep looks at the calls counted (from `onOutcome`) per non-draining endpoint over the
 * last `windowMs` (a sliding window of `windowMs / intervalMs` interval counts; A50 judges one
 * 10 s interval, every 10 s). `timeout` and `rejected` outcomes count as failures, as `error`
 * does. An endpoint's history is forgotten while it is ejected, so it comes back with a clean
 * slate. Then, in A50's order:
 *
 * 1. **Success rate.** Among the endpoints with at least `successRate.requestVolume` calls, if
 *    there are at least `successRate.minimumHosts` of them: compute the mean and the population
 *    standard deviation σ of their success rates, and eject every endpoint whose rate is below
 *    `mean − stdevFactor × σ` **and** at least `minimumGapPercent` points below the mean.
 * 2. **Failure percentage.** Among the endpoints with at least `failurePercentage.requestVolume`
 *    calls, if there are at least `failurePercentage.minimumHosts` of them: eject every endpoint
 *    whose failure percentage is above `thresholdPercent`.
 *
 * Each ejection is enforced with probability `enforcementPercent / 100` (drawn from
 * `host.random`), as in A50. An endpoint is ejected at most once per sweep. A50's
 * `max_ejection_percent` and its growing ejection time (`base_ejection_time` × multiplier) are
 * the pool's business: it may refuse an ejection (`host.eject` returns false) and it decides how
 * long an ejection lasts.
 *
 * **Defaults are tuned for fleets of two or three replicas**, where A50's defaults never fire:
 * A50 and Envoy need `minimum_hosts` 5 and 100 (success rate) or 50 (failure percentage) calls
 * per host in a 10 s interval. Here:
 *
 * - `intervalMs` 1000 (A50 and Envoy: 10 s) and `windowMs` 10 000: judged on the same 10 s of
 *   calls as A50, but every second, so a sick replica is caught a second after it has
 *   `requestVolume` calls in the window rather than at the end of A50's interval. The window
 *   matters for sick replicas that latency-aware selection already avoids: a replica failing
 *   half its calls gets its latency estimate penalised, P2C sends it a few calls a second, and a
 *   1 s window would never hold `requestVolume` of them.
 * - `failurePercentage`: `thresholdPercent` 40 (A50: 85), `minimumHosts` 2 (A50: 5),
 *   `requestVolume` 10 (A50: 50), `enforcementPercent` 100 (A50: 100; Envoy: 0, i.e. off).
 *   A replica failing more than 40 % of at least 10 calls while a peer is also judged is sick;
 *   85 % only catches replicas that are already dead, which consecutive failures catch sooner.
 *   With `minimumHosts` 2 a fleet of one is never judged (there is nowhere better to send
 *   traffic; consecutive failures still applies).
 * - `successRate`: `stdevFactor` 0.9 (A50: 1900/1000 = 1.9), `minimumGapPercent` 10 (no A50
 *   equivalent), `minimumHosts` 2 (A50: 5), `requestVolume` 10 (A50: 100),
 *   `enforcementPercent` 100 (A50: 100). Why not 1.9: when one of n hosts differs from n − 1
 *   equal peers, its z-score `(mean − rate) / σ` is exactly √(n − 1) whatever the rates, and
 *   that is the largest a single outlier can reach. With 3 hosts it is √2 ≈ 1.41, so A50's 1.9
 *   can never eject anyone in a 3-host fleet (and needs n ≥ 5 to eject a lone outlier at all).
 *   0.9 lets a lone outlier be caught from n = 2 (z = 1). But with two hosts the worse of the two
 *   is then *always* below `mean − 0.9σ`, however small the difference, hence the minimum gap:
 *   99 % against 100 % is noise, not an outlier.
 * - `enforcementPercent` (top level): the default for both algorithms' `enforcementPercent`
 *   when they do not set their own. Default 100.
 *
 * Spec: https://github.com/grpc/proposal/blob/master/A50-xds-outlier-detection.md;
 * Envoy: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
 */
import type { Detector, DetectorHost, DetectorInstance } from '../detector.js';
import { DetourConfigError } from '../errors.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Outcome } from '../outcome.js';
import * as v from '../validate.js';
import { sweepCounts } from './sweep.js';

export interface SuccessRateOptions {
  /** How many standard deviations below the mean success rate ejects. ≥ 0. Default 0.9 (A50: 1.9). */
  readonly stdevFactor?: number;
  /** And how many percentage points below the mean, at least (0–100). Default 10. */
  readonly minimumGapPercent?: number;
  /** Endpoints with enough calls needed before any is judged. Integer ≥ 1. Default 2 (A50: 5). */
  readonly minimumHosts?: number;
  /** Calls in the interval for an endpoint to be judged. Integer ≥ 1. Default 10 (A50: 100). */
  readonly requestVolume?: number;
  /** Chance (percent, 0–100) that a detected outlier is ejected. Default: the top-level value, 100. */
  readonly enforcementPercent?: number;
}

export interface FailurePercentageOptions {
  /** Failure percentage (0–100) above which an endpoint is ejected. Default 40 (A50: 85). */
  readonly thresholdPercent?: number;
  /** Endpoints with enough calls needed before any is judged. Integer ≥ 1. Default 2 (A50: 5). */
  readonly minimumHosts?: number;
  /** Calls in the interval for an endpoint to be judged. Integer ≥ 1. Default 10 (A50: 50). */
  readonly requestVolume?: number;
  /** Chance (percent, 0–100) that a detected outlier is ejected. Default: the top-level value, 100. */
  readonly enforcementPercent?: number;
}

export interface OutlierDetectionOptions {
  /** Time between sweeps, ms (> 0). Default 1000 (A50, Envoy: 10000). */
  readonly intervalMs?: number;
  /**
   * The calls of how long each sweep judges, ms: a multiple of `intervalMs`, at least
   * `intervalMs`, at most 100 intervals. Default 10000 (A50: one interval of 10 s).
   */
  readonly windowMs?: number;
  /** The success-rate algorithm's options, or `false` to turn it off. Default: on. */
  readonly successRate?: SuccessRateOptions | false;
  /** The failure-percentage algorithm's options, or `false` to turn it off. Default: on. */
  readonly failurePercentage?: FailurePercentageOptions | false;
  /** Default `enforcementPercent` of both algorithms (0–100). Default 100. */
  readonly enforcementPercent?: number;
}

interface SuccessRateSettings {
  readonly stdevFactor: number;
  readonly minimumGap: number; // fraction
  readonly minimumHosts: number;
  readonly requestVolume: number;
  readonly enforcement: number; // fraction
}

interface FailurePercentageSettings {
  readonly threshold: number; // fraction
  readonly minimumHosts: number;
  readonly requestVolume: number;
  readonly enforcement: number; // fraction
}

interface Counts {
  successes: number;
  failures: number;
}

interface Sample {
  readonly record: EndpointRecord;
  readonly calls: number;
  /** Success rate, 0–1. */
  readonly rate: number;
}

const optionKeys = [
  'intervalMs',
  'windowMs',
  'successRate',
  'failurePercentage',
  'enforcementPercent',
];
const successRateKeys = [
  'stdevFactor',
  'minimumGapPercent',
  'minimumHosts',
  'requestVolume',
  'enforcementPercent',
];
const failurePercentageKeys = [
  'thresholdPercent',
  'minimumHosts',
  'requestVolume',
  'enforcementPercent',
];

export function outlierDetection(options: OutlierDetectionOptions = {}): Detector {
  const path = 'outlierDetection';
  v.knownKeys(path, options, optionKeys);
  const intervalMs = v.positive(`${path}.intervalMs`, options.intervalMs, 1000);
  const windowMs = v.positive(`${path}.windowMs`, options.windowMs, 10 * intervalMs);
  const buckets = windowMs / intervalMs;
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 100) {
    throw new DetourConfigError(
      `${path}.windowMs`,
      options.windowMs,
      `must be a multiple of intervalMs (${intervalMs}), from 1 to 100 intervals`,
    );
  }
  const enforcement = v.percent(`${path}.enforcementPercent`, options.enforcementPercent, 100);

  let successRate: SuccessRateSettings | undefined;
  if (options.successRate !== false) {
    const p = `${path}.successRate`;
    const o = options.successRate ?? {};
    v.knownKeys(p, o, successRateKeys);
    successRate = {
      stdevFactor: v.number(`${p}.stdevFactor`, o.stdevFactor, 0.9),
      minimumGap: v.percent(`${p}.minimumGapPercent`, o.minimumGapPercent, 10) / 100,
      minimumHosts: v.integer(`${p}.minimumHosts`, o.minimumHosts, 2, 1),
      requestVolume: v.integer(`${p}.requestVolume`, o.requestVolume, 10, 1),
      enforcement: v.percent(`${p}.enforcementPercent`, o.enforcementPercent, enforcement) / 100,
    };
  }

  let failurePercentage: FailurePercentageSettings | undefined;
  if (options.failurePercentage !== false) {
    const p = `${path}.failurePercentage`;
    const o = options.failurePercentage ?? {};
    v.knownKeys(p, o, failurePercentageKeys);
    failurePercentage = {
      threshold: v.percent(`${p}.thresholdPercent`, o.thresholdPercent, 40) / 100,
      minimumHosts: v.integer(`${p}.minimumHosts`, o.minimumHosts, 2, 1),
      requestVolume: v.integer(`${p}.requestVolume`, o.requestVolume, 10, 1),
      enforcement: v.percent(`${p}.enforcementPercent`, o.enforcementPercent, enforcement) / 100,
    };
  }

  if (!successRate && !failurePercentage) {
    throw new DetourConfigError(
      `${path}.failurePercentage`,
      false,
      'turns off the last algorithm (successRate is off too); remove the detector instead',
    );
  }

  return Object.freeze({
    name: 'outlier-detection',
    attach(host: DetectorHost): DetectorInstance {
      const enforce = (chance: number): boolean => chance >= 1 || host.random.next() < chance;

      // The counts of the last `buckets` intervals, oldest first.
      const history: Map<EndpointRecord, Counts>[] = [];
      const forget = (record: EndpointRecord): void => {
        for (const counts of history) counts.delete(record);
      };

      const sweep = (interval: Map<EndpointRecord, Counts>): void => {
        history.push(interval);
        if (history.length > buckets) history.shift();
        const samples: Sample[] = [];
        for (const record of host.members()) {
          if (record.status === 'draining') continue;
          if (record.status === 'ejected') {
            forget(record);
            continue;
          }
          let successes = 0;
          let failures = 0;
          for (const counts of history) {
            const c = counts.get(record);
            if (!c) continue;
            successes += c.successes;
            failures += c.failures;
          }
          const calls = successes + failures;
          if (calls > 0) samples.push({ record, calls, rate: successes / calls });
        }
        const ejected = new Set<EndpointRecord>();

        if (successRate) {
          const s = successRate;
          const judged = samples.filter((x) => x.calls >= s.requestVolume);
          if (judged.length >= s.minimumHosts) {
            let sum = 0;
            for (const x of judged) sum += x.rate;
            const mean = sum / judged.length;
            let squares = 0;
            for (const x of judged) squares += (x.rate - mean) ** 2;
            const stdev = Math.sqrt(squares / judged.length);
            const limit = mean - s.stdevFactor * stdev;
            for (const x of judged) {
              // The small epsilon keeps a gap that is exactly minimumGap (0.9 vs 1.0) from
              // failing on floating-point rounding.
              if (x.rate >= limit || mean - x.rate < s.minimumGap - 1e-9) continue;
              if (!enforce(s.enforcement)) continue;
              ejected.add(x.record);
              if (
                host.eject(x.record, {
                  kind: 'error',
                  code: 'success-rate',
                  message:
                    `success rate ${percentText(x.rate)} of ${x.calls} calls is below the limit ` +
                    `${percentText(limit)} (mean ${percentText(mean)} of ${judged.length} endpoints)`,
                })
              )
                forget(x.record);
            }
          }
        }

        if (failurePercentage) {
          const f = failurePercentage;
          const judged = samples.filter((x) => x.calls >= f.requestVolume);
          if (judged.length >= f.minimumHosts) {
            for (const x of judged) {
              const failed = 1 - x.rate;
              if (failed <= f.threshold || ejected.has(x.record)) continue;
              if (!enforce(f.enforcement)) continue;
              ejected.add(x.record);
              if (
                host.eject(x.record, {
                  kind: 'error',
                  code: 'failure-percentage',
                  message:
                    `${percentText(failed)} of ${x.calls} calls failed ` +
                    `(threshold ${percentText(f.threshold)})`,
                })
              )
                forget(x.record);
            }
          }
        }
      };

      const counting = sweepCounts(host, intervalMs, countOutcome, sweep);
      return {
        onOutcome(record: EndpointRecord, outcome: Outcome): void {
          counting.onOutcome?.(record, outcome);
        },
        onRemoved(record: EndpointRecord): void {
          counting.onRemoved?.(record);
          forget(record);
        },
        close(): void {
          counting.close();
          history.length = 0;
        },
      };
    },
  });
}

/** Adds `outcome` to `counts` (new counts when undefined): `timeout` and `rejected` are failures. */
function countOutcome(counts: Counts | undefined, outcome: Outcome): Counts {
  const c = counts ?? { successes: 0, failures: 0 };
  if (outcome.kind === 'success') c.successes++;
  else c.failures++;
  return c;
}

function percentText(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
