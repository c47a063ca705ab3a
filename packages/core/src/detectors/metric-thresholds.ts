/**
 * Metric thresholds: holds out an endpoint whose own load metrics (CPU, memory, queue depth…,
 * read by a user-supplied function) are over their limits, before it starts failing calls.
 *
 * Algorithm, per endpoint, on the same loop as `heartbeat` (`periodic-task.ts`): every
 * `intervalMs` ± `jitterPercent` (the first read spread over the first interval, or after
 * `initialDelayMs`), call `read(endpoint, signal)`; the signal aborts after `timeoutMs`.
 * - Any metric named in `thresholds` that is above its `max` → `host.hold(record, { kind:
 *   'probe-failed', code: <metric name>, message: '<name> <value> > max <max>' })`.
 * - While held, release (`host.release`) only when every metric named in `thresholds` is present
 *   and at or below its `resume` (hysteresis: with `resume` below `max`, a metric hovering at
 *   the limit does not flap the endpoint in and out).
 * - A missing (or non-numeric) metric, a failed read and a timed-out read change nothing: the
 *   endpoint keeps its current state. Draining endpoints are not read; `onRemoved` and
 *   `close()` stop the loop and abort the read in flight.
 *
 * Defaults and why:
 * - `intervalMs` 5000: load metrics move on a scale of seconds and are often sampled by the
 *   server itself every few seconds; reading them more often costs calls and gains little
 *   (gRFC A58 reads ORCA out-of-band load reports every 10 s by default).
 * - `timeoutMs` 1000: a metrics endpoint that cannot answer in a second is itself a sign of
 *   overload, but a failed read changes nothing, so the value only bounds the work in flight.
 * - `jitterPercent` 10, `initialDelayMs` random within the first interval: as `heartbeat`.
 * - `thresholds[name].resume`: defaults to `max` (no hysteresis).
 *
 * Spec: gRFC A51/A58 (ORCA load reports) for the kind of metrics,
 * https://github.com/grpc/proposal/blob/master/A58-client-side-weighted-round-robin-lb-policy.md
 */
import type { Detector, DetectorHost, DetectorInstance } from '../detector.js';
import type { Endpoint } from '../endpoint.js';
import { DetourConfigError } from '../errors.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import * as v from '../validate.js';
import { periodicTaskPerEndpoint } from './endpoint-tasks.js';
import type { PeriodicResult } from './periodic-task.js';
import { parseSchedule } from './periodic-task.js';

/** Metrics of one endpoint by name. May be synchronous; should stop when `signal` aborts. */
export type MetricReader = (
  endpoint: Endpoint,
  signal: AbortSignal,
) => Promise<Readonly<Record<string, number>>> | Readonly<Record<string, number>>;

export interface MetricThreshold {
  /** Above this the endpoint is held out. Finite, ≥ 0. Required. */
  readonly max: number;
  /** At or below this (for every metric) a held endpoint is released. 0 ≤ resume ≤ max. Default `max`. */
  readonly resume?: number;
}

export interface MetricThresholdsOptions {
  /** Reads an endpoint's metrics. Required. */
  readonly read: MetricReader;
  /** Limits by metric name. Required, at least one. */
  readonly thresholds: Readonly<Record<string, MetricThreshold>>;
  /** Time between reads of one endpoint, ms (> 0). Default 5000. */
  readonly intervalMs?: number;
  /** A read's time limit, ms (> 0). Default 1000. */
  readonly timeoutMs?: number;
  /** Random spread of each interval, percent either way (0–100). Default 10. */
  readonly jitterPercent?: number;
  /** Delay of each endpoint's first read, ms (≥ 0). Default: random within the first interval. */
  readonly initialDelayMs?: number;
}

interface Limit {
  readonly name: string;
  readonly max: number;
  readonly resume: number;
}

const optionKeys = [
  'read',
  'thresholds',
  'intervalMs',
  'timeoutMs',
  'jitterPercent',
  'initialDelayMs',
];

export function metricThresholds(options: MetricThresholdsOptions): Detector {
  const path = 'metricThresholds';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new DetourConfigError(path, options, 'must be an object with read and thresholds');
  }
  v.knownKeys(path, options, optionKeys);
  const read = v.func<MetricReader>(`${path}.read`, options.read);
  const limits = parseThresholds(`${path}.thresholds`, options.thresholds);
  const schedule = parseSchedule(path, options, { intervalMs: 5000, timeoutMs: 1000 });

  return Object.freeze({
    name: 'metric-thresholds',
    attach(host: DetectorHost): DetectorInstance {
      const onResult = (
        record: EndpointRecord,
        current: () => boolean,
        result: PeriodicResult<unknown>,
      ): void => {
        if (!result.ok || !current()) return;
        const metrics = result.value;
        if (typeof metrics !== 'object' || metrics === null) return;
        const holding = host.holding(record);
        let allResumed = true;
        for (const limit of limits) {
          const value = (metrics as Record<string, unknown>)[limit.name];
          if (typeof value !== 'number' || Number.isNaN(value)) {
            allResumed = false;
            continue;
          }
          if (value > limit.max) {
            if (!holding) {
              host.hold(record, {
                kind: 'probe-failed',
                code: limit.name,
                message: `${limit.name} ${value} > max ${limit.max}`,
              });
            }
            return;
          }
          if (value > limit.resume) allResumed = false;
        }
        if (holding && allResumed) host.release(record);
      };

      return periodicTaskPerEndpoint(host, schedule, (record, current) => ({
        run: (signal) => read(record.endpoint, signal),
        onResult: (result) => onResult(record, current, result),
      }));
    },
  });
}

function parseThresholds(path: string, value: unknown): readonly Limit[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DetourConfigError(
      path,
      value,
      'must be an object of { max, resume? } by metric name',
    );
  }
  const names = Object.keys(value);
  if (names.length === 0) {
    throw new DetourConfigError(path, value, 'must name at least one metric');
  }
  return Object.freeze(
    names.map((name): Limit => {
      const p = `${path}.${name}`;
      const entry = (value as Record<string, unknown>)[name];
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new DetourConfigError(p, entry, 'must be an object { max, resume? }');
      }
      v.knownKeys(p, entry, ['max', 'resume']);
      const { max: rawMax, resume: rawResume } = entry as { max?: unknown; resume?: unknown };
      if (rawMax === undefined) throw new DetourConfigError(`${p}.max`, rawMax, 'is required');
      const max = v.number(`${p}.max`, rawMax, 0);
      const resume = v.number(`${p}.resume`, rawResume, max, 0, max);
      return Object.freeze({ name, max, resume });
    }),
  );
}
