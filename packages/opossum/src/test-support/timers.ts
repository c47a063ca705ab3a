/**
 * Watching the timers that opossum and this package make, through `async_hooks`: Node's
 * `process.getActiveResourcesInfo()` does not list unref'd timers, and every timer here is
 * unref'd, so it alone cannot show that `close()` left none behind.
 */
import { createHook } from 'node:async_hooks';

export interface TrackedTimer {
  /** The first stack frame outside Node that created the timer. */
  readonly creator: string;
  readonly timer: NodeJS.Timeout;
}

export interface TimerTracker {
  /** Timers made by opossum or this package's sources since `trackTimers()`, not yet destroyed. */
  live(): TrackedTimer[];
  /** How many such timers were made since `trackTimers()`. */
  readonly created: number;
  stop(): void;
}

const ours = /node_modules\/opossum\/|packages\/opossum\/src\/(?!.*\.test\.ts)(?!test-support)/;

export function trackTimers(): TimerTracker {
  const live = new Map<number, TrackedTimer>();
  let created = 0;
  const hook = createHook({
    init(asyncId, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      const creator = creatorOf(new Error().stack ?? '');
      if (!ours.test(creator)) return;
      created++;
      live.set(asyncId, { creator, timer: resource as NodeJS.Timeout });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    live: () => [...live.values()],
    get created() {
      return created;
    },
    stop: () => hook.disable(),
  };
}

/** Lets queued `destroy` hooks run (Node emits them after the current macrotask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function creatorOf(stack: string): string {
  const frames = stack.split('\n').slice(1);
  return (
    frames.find((f) => !f.includes('node:') && !f.includes('test-support/timers'))?.trim() ?? ''
  );
}
