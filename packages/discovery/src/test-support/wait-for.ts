/**
 * Waiting in real time, for tests against real processes (dnsmasq, etcd) and real sockets: they
 * wait for what they expect rather than for a fixed time.
 */

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` every `intervalMs` (default 25) until it holds, for at most `timeoutMs`
 * (default 15 000, real time), and returns how long that took; the error says what was awaited.
 * An error `condition` throws ends the wait with it.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(intervalMs);
  }
  return Date.now() - started;
}
