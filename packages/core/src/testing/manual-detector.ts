/**
 * A detector driven by hand: tests (yours and ours) call `eject`, `hold` and `release` on it to
 * put a pool's endpoints through their health states without real faults.
 */
import type { Detector, DetectorHost, ProbeResult } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Fault } from '../outcome.js';

export interface ManualDetector extends Detector {
  /** Timed ejection of the endpoint with `id`; false when refused. */
  eject(id: string, fault?: Fault): boolean;
  hold(id: string, fault?: Fault): void;
  release(id: string): void;
  /** Ends a timed ejection early (`DetectorHost.endEjection`). */
  endEjection(id: string): void;
  /** Reports a probe result as an active detector would. */
  probed(id: string, result: ProbeResult): void;
  /** Outcomes the pool fed this detector, in order. */
  readonly seen: { id: string; kind: string }[];
}

const defaultFault: Fault = { kind: 'error', message: 'manual' };

export function manualDetector(name = 'manual'): ManualDetector {
  let host: DetectorHost | undefined;
  const seen: { id: string; kind: string }[] = [];
  const find = (id: string): EndpointRecord => {
    if (!host) throw new Error('manualDetector is not attached to a pool');
    const record = host.members().find((r) => r.id === id);
    if (!record) throw new Error(`no endpoint ${id} in the pool`);
    return record;
  };
  return {
    name,
    seen,
    attach(h) {
      host = h;
      return {
        onOutcome: (record, outcome) => {
          seen.push({ id: record.id, kind: outcome.kind });
        },
        close: () => {
          host = undefined;
        },
      };
    },
    eject: (id, fault = defaultFault) => host!.eject(find(id), fault),
    hold: (id, fault = defaultFault) => host!.hold(find(id), fault),
    release: (id) => host!.release(find(id)),
    endEjection: (id) => host!.endEjection(find(id)),
    probed: (id, result) => host!.probed(find(id), result),
  };
}
