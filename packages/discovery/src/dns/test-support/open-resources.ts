/**
 * Open sockets and other handles of this process, to check that a DNS source closes what it
 * opens. Timers are left out: the source's timers are checked on a `ManualClock`.
 */

/** The process's active resources other than timers, sorted (`UDPWRAP`, `TCPSocketWrap`…). */
export function openResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name !== 'Timeout' && name !== 'Immediate')
    .sort();
}

/**
 * The open resources once they stop changing (the same three reads in a row, 10 ms apart):
 * a baseline that sockets of earlier tests, still closing, do not spoil.
 */
export async function settledResources(): Promise<string[]> {
  let last = openResources();
  let same = 0;
  while (same < 2) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = openResources();
    same = JSON.stringify(now) === JSON.stringify(last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Waits until the open resources are back to `baseline` (sockets close asynchronously). */
export async function waitForResources(
  baseline: readonly string[],
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const now = openResources();
    if (JSON.stringify(now) === JSON.stringify(baseline)) return;
    if (Date.now() > end) {
      throw new Error(
        `open resources did not return to ${JSON.stringify(baseline)}: ${JSON.stringify(now)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
