/**
 * Keeps a frozen (SIGSTOPped) replica from outliving us. A stopped process cannot notice that its
 * parent died, so while it is frozen a small shell process waits on a pipe from us: when the pipe
 * closes (on `release()`, or because we died, however we died) it sends the replica SIGCONT. The
 * replica then runs again, sees its own stdin closed and exits. The guard ignores SIGHUP, SIGINT
 * and SIGTERM so that a Ctrl-C to the whole process group cannot kill it first.
 */
import { spawn } from 'node:child_process';

const script = 'trap "" HUP INT TERM; read -r _; kill -CONT "$1" 2>/dev/null; exit 0';

/** A running guard for one frozen process. */
export interface FreezeGuard {
  /** Ends the guard (it sends one harmless SIGCONT on its way out). */
  release(): void;
}

/** Starts a guard that sends SIGCONT to `pid` when released or when this process ends. */
export function guardFrozen(pid: number): FreezeGuard {
  const guard = spawn('/bin/sh', ['-c', script, 'detour-freeze-guard', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guard.on('error', () => undefined);
  guard.stdin.on('error', () => undefined);
  return { release: () => guard.stdin.end() };
}
