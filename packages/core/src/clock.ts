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

/** A runtime timer as a `Timer`: an object with a method, not a closure, since every attempt makes one. */
class RuntimeTimer implements Timer {
  readonly #handle: unknown;
  constructor(handle: unknown) {
    this.#handle = handle;
  }
  cancel(): void {
    runtime.clearTimeout(this.#handle);
  }
}

/** The runtime's monotonic clock (`performance.now()`) and unref'd timers. */
export const systemClock: Clock = {
  now: runtime.performance ? () => runtime.performance!.now() : () => Date.now(),
  setTimeout(callback, delayMs) {
    const handle = runtime.setTimeout(callback, Math.max(0, delayMs));
    (handle as RuntimeTimerHandle | null)?.unref?.();
    return new RuntimeTimer(handle);
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

/**
 * A timer that fires more than this many ms after it was due shows that this process was not
 * running meanwhile (a long task, a GC pause, CPU steal on a shared host).
 */
export const lateTimerMs = 5;

/**
 * `clock.setTimeout` for a timeout that judges something outside this process, such as an answer
 * that did not come. When the timer fires late (this process was stalled), `callback` waits one
 * more turn: input that arrived during the stall is read first, so a stalled client does not fail
 * an answer that was waiting for it. In Node a timer set from a timer fires after the event loop
 * has polled for I/O. `cancel()` cancels whichever timer is pending.
 */
export function setTimeoutAfterInput(clock: Clock, callback: () => void, delayMs: number): Timer {
  const due = clock.now() + delayMs;
  let timer = clock.setTimeout(() => {
    if (clock.now() - due > lateTimerMs) timer = clock.setTimeout(callback, 0);
    else callback();
  }, delayMs);
  return { cancel: () => timer.cancel() };
}
