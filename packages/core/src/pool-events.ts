/** Events a pool emits. Listeners are called synchronously; payloads are plain data. */
import type { ProbeResult } from './detector.js';
import type { Endpoint } from './endpoint.js';
import type { HealthStatus } from './health/endpoint-record.js';
import type { Fault } from './outcome.js';

export interface PoolEvents {
  'endpoint-added': { readonly endpoint: Endpoint };
  /** The endpoint left the pool for good (after draining its in-flight attempts). */
  'endpoint-removed': { readonly endpoint: Endpoint };
  ejected: {
    readonly endpoint: Endpoint;
    readonly detector: string;
    readonly fault: Fault;
    /** Length of a timed ejection in ms; undefined for a hold (until the detector releases it). */
    readonly durationMs: number | undefined;
    /** Ejections of this endpoint so far, this one included. */
    readonly ejections: number;
  };
  /** The endpoint takes full traffic again (probing ended well). */
  restored: { readonly endpoint: Endpoint };
  'probe-result': {
    readonly endpoint: Endpoint;
    readonly detector: string;
    readonly result: ProbeResult;
  };
  'state-change': {
    readonly endpoint: Endpoint;
    readonly from: HealthStatus;
    readonly to: HealthStatus;
    /** The detector behind the change, if one was. */
    readonly detector: string | undefined;
  };
  /** Panic mode started or ended: too few endpoints were eligible, so all of them take traffic. */
  panic: { readonly active: boolean; readonly eligible: number; readonly members: number };
  /** The endpoint source reported an error or sent an update that was rejected; the pool kept its endpoints. */
  'source-error': { readonly error: unknown };
}

export type PoolEventName = keyof PoolEvents;
