/**
 * What keeps this process's event loop alive (`process.getActiveResourcesInfo()`: sockets,
 * servers, child processes, ref'd timers), counted by kind, to check that a source closes what
 * it opens (as connect-es waits for open connections to reach zero in teardown).
 */
import { delay, waitFor } from './wait-for.js';

/** How many resources of each kind keep the event loop alive (`UDPWRAP`, `Timeout`…). */
export function openResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([kind, n]) => b.get(kind) === n);
}

/**
 * The open resources once they stop changing (the same three reads in a row, 10 ms apart):
 * a baseline that sockets of earlier tests, still closing, do not spoil.
 */
export async function settledResources(): Promise<Map<string, number>> {
  let last = openResources();
  let same = 0;
  while (same < 2) {
    await delay(10);
    const now = openResources();
    same = sameCounts(now, last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * Waits until no kind of resource is more numerous than in `baseline`: what a test opened is
 * closed (sockets close asynchronously; grpc-js closes a channel that was still connecting up to
 * 1 s later). Fewer is fine: a server the test stopped is gone.
 */
export async function waitForNoLeaks(
  baseline: ReadonlyMap<string, number>,
  timeoutMs = 5_000,
): Promise<void> {
  const excess = (): string[] =>
    [...openResources()]
      .filter(([kind, n]) => n > (baseline.get(kind) ?? 0))
      .map(([kind, n]) => `${kind} ${n} (was ${baseline.get(kind) ?? 0})`);
  try {
    await waitFor('resources back to the baseline', () => excess().length === 0, timeoutMs, 10);
  } catch {
    throw new Error(`left open: ${excess().join(', ')}`);
  }
}
