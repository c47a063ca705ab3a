/**
 * Detector contract. A `Detector` is an immutable description with options; the pool calls
 * `attach()` once and gets a live `DetectorInstance` that it feeds outcomes and membership
 * changes. Detectors do not change health themselves: they give verdicts through their
 * `DetectorHost`, and the pool's health machine applies them.
 *
 * Two kinds of verdict:
 * - `eject(record, fault)`: a timed ejection (consecutive failures, outliers). The endpoint
 *   comes back through probing when the ejection time ends. Subject to the maximum ejected share.
 * - `hold(record, fault)` / `release(record)`: a condition the detector keeps observing
 *   (heartbeat down, phi above threshold, a metric over its limit). The endpoint stays out
 *   while any detector holds it; when the last hold is released it goes to probing at once.
 */
import type { Clock } from './clock.js';
import type { Fault, Outcome } from './outcome.js';
import type { Random } from './random.js';
import type { EndpointRecord } from './health/endpoint-record.js';

/** The result of one active probe (heartbeat, health check). */
export interface ProbeResult {
  readonly healthy: boolean;
  /** Probe round trip in ms. */
  readonly latencyMs: number;
  readonly code?: string | number | undefined;
  readonly message?: string | undefined;
}

export interface DetectorHost {
  readonly clock: Clock;
  readonly random: Random;
  /** Endpoints that are not draining, in a stable order (a new array when membership changes). */
  members(): readonly EndpointRecord[];
  /** Ejects for a time that grows with repeated ejections. False if refused (ejected-share cap, already out). */
  eject(record: EndpointRecord, fault: Fault): boolean;
  /** Holds the endpoint out until this detector releases it. Idempotent. */
  hold(record: EndpointRecord, fault: Fault): void;
  /** Releases this detector's hold. Idempotent. */
  release(record: EndpointRecord): void;
  /** Whether this detector holds the endpoint. */
  holding(record: EndpointRecord): boolean;
  /**
   * Ends a timed ejection early: the endpoint starts probing at once (its trial calls decide).
   * Nothing happens unless it is ejected and no detector holds it. For evidence that it has
   * recovered, such as passing active health checks (Envoy's
   * `successful_active_health_check_uneject_host`).
   */
  endEjection(record: EndpointRecord): void;
  /** Reports a probe result: emits the `probe-result` event and, if successful, a heartbeat to every detector. */
  probed(record: EndpointRecord, result: ProbeResult): void;
}

export interface DetectorInstance {
  /** A classified attempt outcome (passive detection). Called after the record's statistics are updated. */
  onOutcome?(record: EndpointRecord, outcome: Outcome): void;
  /** A heartbeat arrived (a successful probe) at clock time `at`. */
  onHeartbeat?(record: EndpointRecord, at: number): void;
  onAdded?(record: EndpointRecord): void;
  onRemoved?(record: EndpointRecord): void;
  /** Called when an endpoint is ejected or restored by anyone, so detectors can reset counters. */
  onStatusChange?(record: EndpointRecord): void;
  /** Stops every timer and aborts every probe. */
  close(): void;
}

export interface Detector {
  /** Stable name, e.g. `consecutive-failures`; used in events and fault logs. */
  readonly name: string;
  attach(host: DetectorHost): DetectorInstance;
}
