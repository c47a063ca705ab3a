/** A small pool and helpers to report attempts on it, for this package's tests. */
import { createPool } from '@detour/core';
import type { Detector, EndpointRecord, HealthOptions, Outcome, Pool } from '@detour/core';

export const ok: Outcome = { kind: 'success', latencyMs: 1 };
export const error: Outcome = { kind: 'error', latencyMs: 1, code: 14, message: 'UNAVAILABLE' };

export function makePool(
  detectors: Detector[],
  health: HealthOptions = {},
  endpoints = ['a:1', 'b:1', 'c:1'],
): Pool {
  return createPool({ endpoints, selector: 'round-robin', detectors, health });
}

export function record(pool: Pool, id: string): EndpointRecord {
  const found = pool.get(id);
  if (!found) throw new Error(`no endpoint ${id}`);
  return found;
}

/** Reports `times` attempts on `id` that ended with `outcome`. */
export function report(pool: Pool, id: string, outcome: Outcome, times = 1): void {
  const r = record(pool, id);
  for (let i = 0; i < times; i++) {
    pool.startAttempt(r);
    pool.endAttempt(r, outcome);
  }
}

/** Ids of `n` picks. */
export function picks(pool: Pool, n: number): string[] {
  return Array.from({ length: n }, () => pool.pick()!.id);
}

/** Real time: opossum runs on real timers (this package only; core tests never sleep). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets opossum settle the `fire()` promises of the outcomes just reported. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
