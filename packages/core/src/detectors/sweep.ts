/**
 * The timed sweep of the detectors that judge their endpoints together rather than one call at
 * a time (`outlierDetection`, `latencyOutlier`, `phiAccrual`), on the injected clock.
 */
import type { Clock, Timer } from '../clock.js';
import type { DetectorHost, DetectorInstance } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { Outcome } from '../outcome.js';

/**
 * Runs `sweep` on `clock` every `intervalMs`, the first time `intervalMs` from now, until the
 * returned timer is cancelled (a sweep may cancel it too). Each sweep schedules the next before
 * it runs, so the loop goes on whatever the sweep does.
 */
export function sweepEvery(clock: Clock, intervalMs: number, sweep: () => void): Timer {
  let timer: Timer;
  const run = (): void => {
    timer = clock.setTimeout(run, intervalMs);
    sweep();
  };
  timer = clock.setTimeout(run, intervalMs);
  return {
    cancel(): void {
      timer.cancel();
    },
  };
}

/**
 * Outcomes counted per interval (gRFC A50's two-bucket counters), for the detectors that judge
 * the calls since their previous sweep. Each outcome of a non-draining endpoint goes into that
 * endpoint's count, `add(count, outcome)` (`count` undefined for its first outcome of the
 * interval). Every `intervalMs` `sweep` gets the counts of the interval just ended, and new
 * counts start. `onRemoved` drops an endpoint's count; `close()` stops the sweeps and ignores
 * later outcomes.
 */
export function sweepCounts<C>(
  host: DetectorHost,
  intervalMs: number,
  add: (count: C | undefined, outcome: Outcome) => C,
  sweep: (interval: Map<EndpointRecord, C>) => void,
): DetectorInstance {
  let counts = new Map<EndpointRecord, C>();
  let closed = false;
  const timer = sweepEvery(host.clock, intervalMs, () => {
    const interval = counts;
    counts = new Map();
    sweep(interval);
  });
  return {
    onOutcome(record: EndpointRecord, outcome: Outcome): void {
      if (closed || record.status === 'draining') return;
      counts.set(record, add(counts.get(record), outcome));
    },
    onRemoved(record: EndpointRecord): void {
      counts.delete(record);
    },
    close(): void {
      closed = true;
      timer.cancel();
      counts.clear();
    },
  };
}
