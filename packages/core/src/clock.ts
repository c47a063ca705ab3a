/**
 * Time, injected. Every time-based rule in detour reads `Clock.now()` and schedules through
 * `Clock.setTimeout()`, so tests drive it with `ManualClock` from `@detour/core/testing` and
 * never sleep. This file is the only place in core allowed to touch the global timers.
 */

/** A scheduled callback. `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds (fractional allowed). Only differences are meaningful. */
  now(): number;
  /**
   * Runs `callback` once after `delayMs`. Timers made by the system clock never keep the
   * process alive (they are unref'd where the runtime supports it).
   */
  setTimeout(callback: () => void, delayMs: number): Timer;
}

interface RuntimeTimerHandle {
  unref?: () => void;
}

interface RuntimeTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  performance?: { now(): number };
}

const runtime = globalThis as unknown as RuntimeTimers;

/** The runtime's monotonic clock (`performance.now()`) and unref'd timers. */
export const systemClock: Clock = {
  now: runtime.performance ? () => runtime.performance!.now() : () => Date.now(),
  setTimeout(callback, delayMs) {
    const handle = runtime.setTimeout(callback, Math.max(0, delayMs));
    (handle as RuntimeTimerHandle | null)?.unref?.();
    return {
      cancel: () => runtime.clearTimeout(handle),
    };
  },
};

/**
 * Waits `delayMs` on `clock`, or rejects with `signal.reason` as soon as `signal` aborts.
 * The timer and the abort listener are both released whichever comes first.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal!.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
