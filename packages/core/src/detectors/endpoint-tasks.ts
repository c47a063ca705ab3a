/**
 * One `PeriodicTask` per endpoint: the bookkeeping of the active detectors (`heartbeat` probes,
 * `metricThresholds` reads). A task starts for each member when the detector is attached and
 * for each endpoint added later, skips its ticks while its endpoint drains, and stops when its
 * endpoint is removed or the detector closes.
 */
import type { DetectorHost, DetectorInstance } from '../detector.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { PeriodicResult, PeriodicSchedule } from './periodic-task.js';
import { PeriodicTask } from './periodic-task.js';

/** What a detector does for one endpoint. */
export interface EndpointWork {
  /** One run: a probe, a read. May return a value or a promise, or throw. */
  readonly run: (signal: AbortSignal) => unknown;
  /** Each run's result; never called once the endpoint's task has stopped. */
  readonly onResult: (result: PeriodicResult<unknown>) => void;
}

/** The detector instance's hooks, and a way to run one endpoint's task early. */
export interface EndpointTasks extends DetectorInstance {
  onAdded(record: EndpointRecord): void;
  onRemoved(record: EndpointRecord): void;
  close(): void;
  /** `PeriodicTask.runSoon()` of the endpoint's task, if it has one. */
  runSoon(record: EndpointRecord): void;
}

/**
 * Runs `work(record, current)` on `schedule` for every endpoint of `host`, and returns the
 * instance's `onAdded`, `onRemoved` and `close`. `current()` tells whether the endpoint's task
 * is still running: false once a listener called by `onResult` has removed the endpoint or
 * closed the detector (even if the endpoint was added again since).
 */
export function periodicTaskPerEndpoint(
  host: DetectorHost,
  schedule: PeriodicSchedule,
  work: (record: EndpointRecord, current: () => boolean) => EndpointWork,
): EndpointTasks {
  const tasks = new Map<EndpointRecord, PeriodicTask<unknown>>();
  let closed = false;

  const add = (record: EndpointRecord): void => {
    if (closed || tasks.has(record)) return;
    const { run, onResult } = work(record, () => tasks.get(record) === task);
    const task = new PeriodicTask<unknown>({
      clock: host.clock,
      random: host.random,
      schedule,
      run,
      onResult,
      enabled: () => record.status !== 'draining',
    });
    tasks.set(record, task);
    task.start();
  };

  for (const record of host.members()) add(record);

  return {
    onAdded: add,
    onRemoved(record: EndpointRecord): void {
      const task = tasks.get(record);
      if (!task) return;
      tasks.delete(record);
      task.stop();
    },
    close(): void {
      closed = true;
      for (const task of tasks.values()) task.stop();
      tasks.clear();
    },
    runSoon(record: EndpointRecord): void {
      tasks.get(record)?.runSoon();
    },
  };
}
