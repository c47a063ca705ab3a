/**
 * Ties a replica's life to its parent's, so that no replica outlives a killed test runner:
 * the parent is gone when stdin (a pipe from the parent) reaches its end, or when the process
 * is re-parented (its parent pid changes).
 */
import { fstatSync } from 'node:fs';

/** How often the parent pid is checked, in ms. */
const parentPollMs = 500;

/**
 * Calls `onGone` once the parent has gone. Stdin is watched only when it is a pipe or socket
 * (as with `spawn(…, { stdio: 'pipe' })`), so a replica started from a terminal, or with stdin
 * from /dev/null, is not stopped by it.
 */
export function watchParent(onGone: (reason: string) => void): void {
  if (stdinIsPipe()) {
    process.stdin.on('end', () => onGone('stdin closed'));
    process.stdin.on('error', () => onGone('stdin failed'));
    process.stdin.resume();
  }
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onGone('parent exited');
  }, parentPollMs).unref();
}

function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
