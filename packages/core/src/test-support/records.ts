/**
 * Endpoint records for the selector tests, each made on its own at time 0 (with a load table of
 * its own), as a pool would hold them.
 */
import { normalizeEndpoint } from '../endpoint.js';
import type { EndpointInit } from '../endpoint.js';
import { EndpointRecord } from '../health/endpoint-record.js';

/** The record settings the selector tests use. */
export const recordSettings = {
  windowMs: 10_000,
  windowBuckets: 10,
  latencyDecayMs: 10_000,
  failurePenaltyDecayMs: 1000,
  faultLogSize: 8,
};

/** A record of the endpoint `init` (`path` names it in validation errors). */
export function endpointRecord(init: EndpointInit | string, path: string): EndpointRecord {
  return new EndpointRecord(normalizeEndpoint(init, path), recordSettings, 0);
}

/** What to set on one of `records()`: endpoint fields, and the load a test starts from. */
export interface RecordSpec extends Partial<EndpointInit> {
  /** Attempts in flight. Default 0. */
  readonly inflight?: number;
  /** A latency sample (ms) recorded at time 0. Default none: the estimate is NaN. */
  readonly latencyMs?: number;
}

/**
 * Records `e0`, `e1`… at `10.0.0.<i>:80`: `count` plain ones, or one per spec with the spec's
 * endpoint fields over those, its attempts in flight and its latency sample.
 */
export function records(countOrSpecs: number | readonly RecordSpec[]): EndpointRecord[] {
  const specs: readonly RecordSpec[] =
    typeof countOrSpecs === 'number'
      ? Array.from({ length: countOrSpecs }, () => ({}))
      : countOrSpecs;
  return specs.map(({ inflight, latencyMs, ...init }, i) => {
    const record = endpointRecord({ id: `e${i}`, address: `10.0.0.${i}:80`, ...init }, `e${i}`);
    if (inflight !== undefined) record.inflight = inflight;
    if (latencyMs !== undefined) record.recordLatency(0, latencyMs);
    return record;
  });
}
