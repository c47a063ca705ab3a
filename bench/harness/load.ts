/**
 * Load generation. Open loop: call `k` is due at `k / rate` s, started then whether or not the
 * earlier calls have ended, and its latency is measured from when it was due, so a stalled
 * client or event loop shows in the latencies instead of hiding them (no coordinated omission).
 * Closed loop: `concurrency` calls in flight, each started when one ends, for maximum
 * throughput.
 */
import { performance } from 'node:perf_hooks';
import type { BenchClient, CallResult } from './types.js';

/** One finished call; times in ms since the run's start. */
export interface CallRecord {
  /** When the call was due (open loop) or started (closed loop). */
  readonly startMs: number;
  readonly latencyMs: number;
  /** The replica that answered; undefined when the call failed. */
  readonly replica: string | undefined;
  readonly code: string | undefined;
}

function record(startMs: number, endMs: number, result: CallResult): CallRecord {
  return {
    startMs,
    latencyMs: endMs - startMs,
    replica: 'replica' in result ? result.replica : undefined,
    code: 'code' in result ? result.code : undefined,
  };
}

/** A run in progress: `now()` is ms since its start; `done` resolves with every call. */
export interface LoadRun {
  readonly t0: number;
  now(): number;
  readonly done: Promise<CallRecord[]>;
}

/**
 * Calls `client.send` at `rate` per second for `durationMs`; `done` resolves once the last call
 * has ended (each ends by its deadline).
 */
export function openLoop(
  client: BenchClient,
  rate: number,
  durationMs: number,
  deadlineMs: number,
): LoadRun {
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const periodMs = 1000 / rate;
  const total = Math.floor(durationMs / periodMs);
  const records: CallRecord[] = [];
  const pending: Promise<void>[] = [];
  let started = 0;
  const done = new Promise<CallRecord[]>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(now() / periodMs) + 1);
      while (started < due) {
        const dueAt = started * periodMs;
        started++;
        pending.push(
          client.send(deadlineMs).then((result) => {
            records.push(record(dueAt, now(), result));
          }),
        );
      }
      if (started < total) return;
      clearInterval(timer);
      void Promise.all(pending).then(() => resolve(records));
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  return { t0, now, done };
}

/** Keeps `concurrency` calls in flight for `durationMs`. */
export function closedLoop(
  client: BenchClient,
  concurrency: number,
  durationMs: number,
  deadlineMs: number,
): LoadRun {
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const records: CallRecord[] = [];
  const worker = async (): Promise<void> => {
    while (now() < durationMs) {
      const startMs = now();
      const result = await client.send(deadlineMs);
      records.push(record(startMs, now(), result));
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => records);
  return { t0, now, done };
}
