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
) => Promise<boolean | ProbeResult>;

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
}

const optionKeys = [
  'probe',
  'intervalMs',
  'timeoutMs',
  'healthyThreshold',
  'unhealthyThreshold',
  'jitterPercent',
  'initialDelayMs',
];

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

  return Object.freeze({
    name: 'heartbeat',
    attach(host: DetectorHost): DetectorInstance {
      return periodicTaskPerEndpoint(host, schedule, (record, current) => {
        let healthy = 0;
        let unhealthy = 0;
        return {
          run: (signal) => probe(record.endpoint, signal),
          onResult: (outcome) => {
            const result = toProbeResult(outcome);
            host.probed(record, result);
            if (!current()) return; // removed or closed by a listener meanwhile
            if (result.healthy) {
              unhealthy = 0;
              healthy++;
              if (healthy >= healthyThreshold && host.holding(record)) host.release(record);
            } else {
              healthy = 0;
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
