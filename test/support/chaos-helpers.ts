/** Waiting and reporting helpers shared by the chaos tests (real time, real processes). */
import type { Pool } from '@detour/core';
import type { UnaryTraffic } from './grpc-traffic.js';

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

/** What `slowReplicaShare` measured. */
export interface SlowReplicaShare {
  /** Share (0–1) of the window's calls that the slowed replica answered. */
  readonly share: number;
  /** Share (0–1) of the window's calls each replica answered, by name. */
  readonly shares: ReadonlyMap<string, number>;
  /** p90 latency (ms) of the window's calls the other replicas answered. */
  readonly othersP90Ms: number;
  /** Windows measured, the last one judged. */
  readonly windows: number;
}

/**
 * The share of `sampled` calls that `slow` answered, over a window in which the other replicas
 * answered like healthy ones: their p90 latency under half the slowdown (`slowdownMs`), so that
 * they could be told apart from the slowed one.
 *
 * On a shared host, CPU steal stalls the whole machine for tens to hundreds of milliseconds at a
 * time. The healthy replicas then really are as slow as the slowed one for a while, and a
 * latency-aware balancer rightly sends it calls (peak-EWMA takes each peak at once): measured
 * over 150 calls, the slowed replica's share was 1-2 % on a quiet machine and 8-15 % while the
 * healthy replicas' p90 was 70-90 ms. Such a window measures the machine, not the balancer, so a
 * new window is measured, up to `maxWindows`; when none qualifies this throws, naming the noise.
 * Each window may take 3 times its planned sending time: on a loaded machine the traffic's own
 * timers run late (a CI run saw 130 of 150 calls in the 10 s a window had then).
 */
export async function slowReplicaShare(
  traffic: UnaryTraffic,
  slow: string,
  sampled: number,
  slowdownMs: number,
  maxWindows = 3,
): Promise<SlowReplicaShare> {
  const seen: number[] = [];
  const windowMs = Math.max(10_000, 3 * traffic.plannedMs(sampled));
  for (let windows = 1; windows <= maxWindows; windows++) {
    const mark = traffic.mark();
    await traffic.waitForCalls(mark, sampled, windowMs);
    const calls = traffic.since(mark).slice(0, sampled);
    const others = calls
      .filter((r) => r.replica !== undefined && r.replica !== slow)
      .map((r) => r.endedAt - r.startedAt)
      .sort((a, b) => a - b);
    const othersP90Ms = others[Math.floor(others.length * 0.9)] ?? Number.POSITIVE_INFINITY;
    if (othersP90Ms < slowdownMs / 2) {
      const shares = new Map<string, number>();
      for (const r of calls) {
        if (r.replica !== undefined) shares.set(r.replica, (shares.get(r.replica) ?? 0) + 1);
      }
      for (const [replica, n] of shares) shares.set(replica, n / calls.length);
      return { share: shares.get(slow) ?? 0, shares, othersP90Ms, windows };
    }
    seen.push(Math.round(othersP90Ms));
  }
  throw new Error(
    `the healthy replicas' p90 latency was ${seen.join(', ')} ms in ${maxWindows} windows of ` +
      `${sampled} calls, never under ${slowdownMs / 2} ms: too slow to tell them from a replica ` +
      `slowed by ${slowdownMs} ms (CPU steal?)`,
  );
}

/**
 * Stalls this process as a long task, a GC pause or CPU steal would: 20 ms from now (a request
 * just sent is out by then), it runs synchronously for `ms`. The stall is in the event loop's
 * check phase, so that the next phase is the timers': timers that fell due meanwhile fire there,
 * before the loop polls for the input that arrived during the stall.
 */
export function stallThisProcess(ms = 400): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(
      () =>
        setImmediate(() => {
          const until = performance.now() + ms;
          while (performance.now() < until);
          resolve();
        }),
      20,
    ),
  );
}
