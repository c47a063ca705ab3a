/**
 * Open sockets and servers of this process, to check that tests close what they open (as
 * connect-es waits for open connections to reach zero in teardown). Timers are left out:
 * grpc-js keeps a few unref'd ones of its own.
 */

/** The process's active resources other than timers, sorted (e.g. `TCPSocketWrap`). */
export function openResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name !== 'Timeout' && name !== 'Immediate')
    .sort();
}

/** Waits until the open resources are back to `baseline` (sockets close asynchronously). */
export async function waitForResources(
  baseline: readonly string[],
  timeoutMs = 5000,
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
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
