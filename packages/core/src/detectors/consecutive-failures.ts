/**
 * Consecutive failures: ejects an endpoint after `threshold` failed outcomes in a row.
 *
 * Algorithm: per endpoint, a count of failed outcomes (`error`, `timeout` and `rejected` all count)
 * since the last success. A success resets it to zero; reaching `threshold` asks the pool for a
 * timed ejection (`host.eject`) with the last failure as the fault, and resets the count whether
 * or not the pool accepted (it may refuse because of its maximum ejected share). The count is also
 * reset whenever the endpoint's status changes (ejected, restored, probing), so an endpoint that
 * comes back starts afresh. Draining endpoints are ignored.
 *
 * This is the fastest of the passive detectors: it needs no interval and no peers, so it works
 * with a fleet of one, and it reacts within `threshold` calls to a replica that fails everything
 * (a dead process, a refused connection).
 *
 * Default `threshold` 5 (count of outcomes): Envoy's `consecutive_5xx` and
 * `consecutive_gateway_failure` default to 5, and so does Finagle's default failure-accrual
 * policy (`FailureAccrualFactory`: 5 consecutive failures, then a jittered 5–300 s backoff).
 * Five failures in a row from a healthy replica are rare, while waiting longer keeps sending
 * calls to a dead one.
 *
 * Spec: Envoy outlier detection,
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier#consecutive-5xx
 * (gRFC A50 leaves consecutive-error detection out on purpose because it is tied to HTTP codes:
 * https://github.com/grpc/proposal/blob/master/A50-xds-outlier-detection.md).
 */
import type { Detector, DetectorHost, DetectorInstance } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Outcome } from '../outcome.js';
import * as v from '../validate.js';

export interface ConsecutiveFailuresOptions {
  /** Failed outcomes in a row that eject an endpoint. Integer ≥ 1. Default 5 (Envoy, Finagle). */
  readonly threshold?: number;
}

const optionKeys = ['threshold'];

export function consecutiveFailures(options: ConsecutiveFailuresOptions = {}): Detector {
  v.knownKeys('consecutiveFailures', options, optionKeys);
  const threshold = v.integer('consecutiveFailures.threshold', options.threshold, 5, 1);

  return Object.freeze({
    name: 'consecutive-failures',
    attach(host: DetectorHost): DetectorInstance {
      const counts = new Map<EndpointRecord, number>();
      return {
        onOutcome(record: EndpointRecord, outcome: Outcome): void {
          if (record.status === 'draining') return;
          if (outcome.kind === 'success') {
            counts.delete(record);
            return;
          }
          const count = (counts.get(record) ?? 0) + 1;
          if (count < threshold) {
            counts.set(record, count);
            return;
          }
          counts.delete(record);
          host.eject(record, {
            kind: outcome.kind,
            code: outcome.code,
            message: `${count} consecutive failures; last: ${outcome.message ?? outcome.kind}`,
          });
        },
        onStatusChange(record: EndpointRecord): void {
          counts.delete(record);
        },
        onRemoved(record: EndpointRecord): void {
          counts.delete(record);
        },
        close(): void {
          counts.clear();
        },
      };
    },
  });
}
