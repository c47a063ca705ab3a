/** Waiting and reporting helpers shared by the chaos tests (real time, real processes). */
import type { Pool } from '@detour/core';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One line per endpoint: status, holds, latency estimates and attempts in flight. */
export function poolStatuses(pool: Pool): string {
  return pool
    .snapshot()
    .endpoints.map(
      (e) =>
        `${e.id}:${e.status}${e.heldBy.length ? `(${e.heldBy.join()})` : ''}` +
        ` peak-ewma ${e.latency.peakEwmaMs?.toFixed(1)} ms, ewma ${e.latency.ewmaMs?.toFixed(1)} ms, inflight ${e.inflight}`,
    )
    .join(' ');
}

/**
 * Polls `condition` every 50 ms for up to `timeoutMs` and returns the time it took; the error
 * says what was awaited and the pool's state.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  pool: Pool,
): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${what}: not within ${timeoutMs} ms (pool: ${poolStatuses(pool)})`);
    }
    await sleep(50);
  }
  return performance.now() - started;
}
