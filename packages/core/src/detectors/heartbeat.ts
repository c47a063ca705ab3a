/**
 * Heartbeat: active health checking. The adapter supplies `probe` (a gRPC `Health/Check`, an
 * HTTP `GET /healthz`…); this detector runs it for every endpoint on a timer and holds out the
 * endpoints that fail it.
 *
 * Algorithm, per endpoint (the members at attach time, then each `onAdded`):
 * - A loop on `host.clock` (`periodic-task.ts`): the first probe at a random time in the first
 *   interval (or after `initialDelayMs`), then every `intervalMs` ± `jitterPercent`.
 * - Each probe gets an `AbortSignal` that aborts after `timeoutMs`; a probe that overruns it is
 *   unhealthy with code `timeout`. A probe that throws or rejects is unhealthy with its message
 *   (and its `code` property, if it has one). At most one probe per endpoint is in flight; a tick
 *   that finds the previous probe still pending after its timeout counts as another timeout.
 * - Every result is reported with `host.probed(record, result)` (`latencyMs` measured on
 *   `host.clock`, which replaces any latency the probe gives); the pool turns healthy results
 *   into heartbeats for the other detectors (`phiAccrual`).
 * - `unhealthyThreshold` unhealthy results in a row → `host.hold(record, { kind: 'probe-failed' })`;
 *   while held, `healthyThreshold` healthy results in a row → `host.release(record)`.
 * - A call to the endpoint that times out (outcome kind `timeout`) while it is not held makes its
 *   next probe run at once (`probeOnTimeout`; not while a probe is in flight, nor within half an
 *   interval of the previous one) and tells the probe `context.suspect`, so that a probe that
 *   answers from a cache checks afresh. A frozen server thus misses its first check within
 *   about `timeoutMs` of the call's timeout, not an interval later.
 * - An endpoint ejected for a time (by any detector, not held) whose next `healthyThreshold`
 *   probes in a row are healthy starts probing at once (`endEjections`, as Envoy's
 *   `successful_active_health_check_uneject_host`): a replica that restarted within a second
 *   gets its trial calls as soon as its health checks pass, not when a 5 s ejection runs out.
 * - Draining endpoints are not probed; `onRemoved` stops the endpoint's loop and aborts its probe;
 *   `close()` stops all of them. Nothing is reported after either.
 *
 * Defaults and why:
 * - `intervalMs` 1000: as memberlist's (SWIM) `ProbeInterval` and Akka's `heartbeat-interval`;
 *   with the thresholds below a dead replica is held within about 2–3 s, at one small request
 *   per second per endpoint.
 * - `timeoutMs` 500: as memberlist's `ProbeTimeout`; a health check should answer far faster than
 *   that, and it must end well before the next probe is due.
 * - `unhealthyThreshold` 2, `healthyThreshold` 2: one lost probe does not flap the endpoint
 *   (HAProxy uses `rise 2`, `fall 3`; Envoy makes both thresholds mandatory). 2 rather than 3
 *   because passive detectors already cover the traffic in between.
 * - `jitterPercent` 10: spreads the probes of many clients so that they do not arrive in bursts.
 * - `initialDelayMs`: undefined, i.e. the first probe is spread uniformly over the first
 *   interval, for the same reason.
 *
 * Spec: gRPC health checking protocol,
 * https://github.com/grpc/grpc/blob/master/doc/health-checking.md and gRFC A17
 * (https://github.com/grpc/proposal/blob/master/A17-client-side-health-checking.md);
 * Envoy health checking,
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/health_checking
 */
import type { Detector, DetectorHost, DetectorInstance, ProbeResult } from '../detector.js';
import type { Endpoint } from '../endpoint.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import { DetourConfigError, describeValue } from '../errors.js';
import * as v from '../validate.js';
import { periodicTaskPerEndpoint } from './endpoint-tasks.js';
import type { PeriodicResult } from './periodic-task.js';
import { parseSchedule } from './periodic-task.js';

/**
 * One health check of `endpoint`. Resolve `true` (healthy), `false` (unhealthy) or a
 * `ProbeResult` (its `latencyMs` is ignored: the detector measures it). Must stop when `signal`
 * aborts (after `timeoutMs`, or when the endpoint is removed or the pool closes).
 */
export type HeartbeatProbe = (
  endpoint: Endpoint,
  signal: AbortSignal,
  context?: ProbeContext,
) => Promise<boolean | ProbeResult>;

/** What the detector tells a probe besides the endpoint. */
export interface ProbeContext {
  /**
   * A call to the endpoint timed out since its previous probe: answer from a fresh check, not
   * from anything cached (the gRPC probe's Watch stream can say SERVING for a frozen server).
   */
  readonly suspect: boolean;
}

export interface HeartbeatOptions {
  /** The health check, supplied by the adapter. Required. */
  readonly probe: HeartbeatProbe;
  /** Time between probes of one endpoint, ms (> 0). Default 1000. */
  readonly intervalMs?: number;
  /** A probe's time limit, ms (> 0); an overrun is unhealthy with code `timeout`. Default 500. */
  readonly timeoutMs?: number;
  /** Healthy results in a row that release a held endpoint. Integer ≥ 1. Default 2. */
  readonly healthyThreshold?: number;
  /** Unhealthy results in a row that hold an endpoint out. Integer ≥ 1. Default 2. */
  readonly unhealthyThreshold?: number;
  /** Random spread of each interval, percent either way (0–100). Default 10. */
  readonly jitterPercent?: number;
  /** Delay of each endpoint's first probe, ms (≥ 0). Default: random within the first interval. */
  readonly initialDelayMs?: number;
  /**
   * When a call to an endpoint times out, probe it at once (unless a probe is in flight or one
   * started less than half an interval ago), with `context.suspect` true. Default true.
   */
  readonly probeOnTimeout?: boolean;
  /**
   * End an endpoint's timed ejection after `healthyThreshold` healthy probes in a row since it
   * was ejected: it starts probing with trial calls instead of waiting out the ejection (Envoy's
   * `successful_active_health_check_uneject_host`). Only ejections by the named detectors, whose
   * evidence a passing health check contradicts: failed calls. Not `latency-outlier` (a slow
   * replica passes its health checks), nor `metric-thresholds`. `true`: any detector; `false`:
   * none. Default `defaultEndEjections`.
   */
  readonly endEjections?: boolean | readonly string[];
}

const optionKeys = [
  'probe',
  'intervalMs',
  'timeoutMs',
  'healthyThreshold',
  'unhealthyThreshold',
  'jitterPercent',
  'initialDelayMs',
  'probeOnTimeout',
  'endEjections',
];

/** The detectors whose ejections passing health checks end by default: failures of calls. */
export const defaultEndEjections: readonly string[] = Object.freeze([
  'consecutive-failures',
  'outlier-detection',
  'half-open',
]);

export function heartbeat(options: HeartbeatOptions): Detector {
  const path = 'heartbeat';
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new DetourConfigError(path, options, 'must be an object with a probe function');
  }
  v.knownKeys(path, options, optionKeys);
  const probe = v.func<HeartbeatProbe>(`${path}.probe`, options.probe);
  const schedule = parseSchedule(path, options, { intervalMs: 1000, timeoutMs: 500 });
  const healthyThreshold = v.integer(`${path}.healthyThreshold`, options.healthyThreshold, 2, 1);
  const unhealthyThreshold = v.integer(
    `${path}.unhealthyThreshold`,
    options.unhealthyThreshold,
    2,
    1,
  );

  const probeOnTimeout = v.boolean(`${path}.probeOnTimeout`, options.probeOnTimeout, true);
  const endEjections = parseEndEjections(`${path}.endEjections`, options.endEjections);

  return Object.freeze({
    name: 'heartbeat',
    attach(host: DetectorHost): DetectorInstance {
      const suspects = new Set<EndpointRecord>();
      /** Healthy probes in a row of each endpoint ejected (timed) since its ejection. */
      const sinceEjected = new Map<EndpointRecord, number>();
      const tasks = periodicTaskPerEndpoint(host, schedule, (record, current) => {
        let healthy = 0;
        let unhealthy = 0;
        return {
          run: (signal) => probe(record.endpoint, signal, { suspect: suspects.delete(record) }),
          onResult: (outcome) => {
            const result = toProbeResult(outcome);
            host.probed(record, result);
            if (!current()) return; // removed or closed by a listener meanwhile
            if (result.healthy) {
              unhealthy = 0;
              healthy++;
              if (healthy >= healthyThreshold && host.holding(record)) host.release(record);
              const streak = sinceEjected.get(record);
              if (streak !== undefined) {
                if (streak + 1 < healthyThreshold) sinceEjected.set(record, streak + 1);
                else {
                  sinceEjected.delete(record);
                  host.endEjection(record);
                }
              }
            } else {
              healthy = 0;
              if (sinceEjected.has(record)) sinceEjected.set(record, 0);
              unhealthy++;
              if (unhealthy >= unhealthyThreshold && !host.holding(record)) {
                host.hold(record, {
                  kind: 'probe-failed',
                  code: result.code,
                  message: `${unhealthy} failed health checks; last: ${result.message ?? 'unhealthy'}`,
                });
              }
            }
          },
        };
      });
      return {
        onAdded: (record) => tasks.onAdded(record),
        onRemoved(record): void {
          suspects.delete(record);
          sinceEjected.delete(record);
          tasks.onRemoved(record);
        },
        close(): void {
          suspects.clear();
          sinceEjected.clear();
          tasks.close();
        },
        onOutcome(record, outcome): void {
          if (!probeOnTimeout || outcome.kind !== 'timeout' || host.holding(record)) return;
          suspects.add(record);
          tasks.runSoon(record);
        },
        onStatusChange(record): void {
          const by = record.ejectedBy;
          const ends = endEjections === true || (by !== undefined && endEjections.has(by));
          if (ends && record.status === 'ejected' && !host.holding(record)) {
            sinceEjected.set(record, 0);
          } else sinceEjected.delete(record);
        },
      };
    },
  });
}

function toProbeResult(outcome: PeriodicResult<unknown>): ProbeResult {
  const { latencyMs } = outcome;
  if (!outcome.ok) {
    if (outcome.timedOut) {
      return { healthy: false, latencyMs, code: 'timeout', message: errorMessage(outcome.error) };
    }
    return {
      healthy: false,
      latencyMs,
      code: errorCode(outcome.error),
      message: errorMessage(outcome.error),
    };
  }
  const value = outcome.value;
  if (typeof value === 'boolean') return { healthy: value, latencyMs };
  if (typeof value === 'object' && value !== null) {
    const r = value as Partial<ProbeResult>;
    if (typeof r.healthy === 'boolean') {
      return { healthy: r.healthy, latencyMs, code: r.code, message: r.message };
    }
  }
  return {
    healthy: false,
    latencyMs,
    code: 'invalid-result',
    message: `The probe resolved ${describeValue(value)}, not a boolean or a ProbeResult`,
  };
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return describeValue(error);
}

function errorCode(error: unknown): string | number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

function parseEndEjections(
  option: string,
  value: boolean | readonly string[] | undefined,
): true | ReadonlySet<string> {
  if (value === undefined) return new Set(defaultEndEjections);
  if (value === true) return true;
  if (value === false) return new Set();
  if (Array.isArray(value) && value.every((name) => typeof name === 'string')) {
    return new Set(value as readonly string[]);
  }
  throw new DetourConfigError(option, value, 'must be true, false or an array of detector names');
}
