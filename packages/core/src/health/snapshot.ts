/** `pool.snapshot()`: every endpoint's state and statistics as plain, serializable data. */
import type { FaultEntry } from './fault-log.js';
import type { EndpointRecord, HealthStatus } from './endpoint-record.js';

export interface EndpointSnapshot {
  readonly id: string;
  readonly address: string;
  readonly weight: number;
  readonly capacity: number;
  readonly priority: number;
  readonly group: string;
  readonly zone: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly status: HealthStatus;
  readonly inflight: number;
  /** Names of the detectors holding the endpoint out. */
  readonly heldBy: readonly string[];
  /** Clock time a timed ejection ends; null when not in a timed ejection. */
  readonly ejectedUntil: number | null;
  readonly latency: {
    /** Time-decayed EWMA latency, ms; null before the first sample. */
    readonly ewmaMs: number | null;
    /** Peak-EWMA latency decayed to now, ms (what P2C peak-EWMA reads); null before the first sample. */
    readonly peakEwmaMs: number | null;
  };
  /** Outcomes in the sliding window. */
  readonly window: {
    readonly successes: number;
    readonly failures: number;
    /** P_success = 1 − P_failure over the window; null with no outcome in it. */
    readonly successRate: number | null;
  };
  readonly counts: {
    readonly attempts: number;
    readonly successes: number;
    readonly failures: number;
    readonly retries: number;
    readonly ejections: number;
  };
  /**
   * From the observed up (healthy, probing) and down (ejected) periods: mean time between
   * failures, mean time to repair (ms, null until one was seen), and A = MTBF / (MTBF + MTTR)
   * (before any failure: the observed up share, 1).
   */
  readonly availability: {
    readonly mtbfMs: number | null;
    readonly mttrMs: number | null;
    readonly availability: number;
  };
  /** The most recent faults, oldest first. */
  readonly faults: readonly FaultEntry[];
}

export interface PoolSnapshot {
  /** Clock time of the snapshot (ms). */
  readonly at: number;
  readonly panic: boolean;
  readonly selector: string;
  readonly endpoints: readonly EndpointSnapshot[];
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

export function endpointSnapshot(
  r: EndpointRecord,
  now: number,
  detectors: readonly { readonly name: string; readonly bit: number }[],
): EndpointSnapshot {
  const e = r.endpoint;
  const { successes, failures } = r.window.totals(now);
  const total = successes + failures;
  const current = now - r.periodStart;
  const up = r.status === 'healthy' || r.status === 'probing';
  const upMs = r.upMs + (up ? current : 0);
  const downMs = r.downMs + (r.status === 'ejected' ? current : 0);
  const mtbfMs = r.downTransitions > 0 ? upMs / r.downTransitions : null;
  const mttrMs = r.upTransitions > 0 ? r.downMs / r.upTransitions : null;
  let availability: number;
  if (mtbfMs !== null && mttrMs !== null && mtbfMs + mttrMs > 0)
    availability = mtbfMs / (mtbfMs + mttrMs);
  else availability = upMs + downMs > 0 ? upMs / (upMs + downMs) : 1;
  return {
    id: e.id,
    address: e.address,
    weight: e.weight,
    capacity: e.capacity,
    priority: e.priority,
    group: e.group,
    zone: e.zone,
    metadata: e.metadata,
    status: r.status,
    inflight: r.inflight,
    heldBy: detectors.filter((d) => (r.holds & d.bit) !== 0).map((d) => d.name),
    ejectedUntil: r.status === 'ejected' && r.ejectionTimer ? r.ejectedUntil : null,
    latency: { ewmaMs: orNull(r.ewmaLatencyMs), peakEwmaMs: orNull(r.latencyEstimate(now)) },
    window: { successes, failures, successRate: total > 0 ? successes / total : null },
    counts: {
      attempts: r.attempts,
      successes: r.successes,
      failures: r.failures,
      retries: r.retries,
      ejections: r.ejections,
    },
    availability: { mtbfMs, mttrMs, availability },
    faults: r.faults.toArray(),
  };
}
