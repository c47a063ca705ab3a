/**
 * A clock that moves only when a test says so. Timers fire in time order (ties in the order
 * they were set) during `advance()`, so time-based rules are tested without real sleeps.
 */
import type { Clock, Timer } from '../clock.js';

interface Scheduled {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Scheduled[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    const timer: Scheduled = {
      at: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== timer);
      },
    };
  }

  /** Timers set and neither fired nor cancelled: a leak check after `close()`. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at); // after `stall()`, overdue timers fire late
      next.callback();
    }
    this.#now = target;
  }

  /**
   * This process stalls for `ms` (a long task, a GC pause, CPU steal): time moves on and no timer
   * fires meanwhile; then the timers that fell due fire, late, in order (one pass of the event
   * loop's timers phase). Timers they set fire on a later `advance()`, as after the loop polled
   * for input: resolve what arrived during the stall, let it run, then `advance(0)`.
   */
  stall(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now && !t.cancelled);
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const timer of due) {
      if (timer.cancelled) continue;
      this.#timers = this.#timers.filter((t) => t !== timer);
      timer.callback();
    }
  }

  /** Sets time to `at` (not backwards), firing due timers. */
  advanceTo(at: number): void {
    this.advance(Math.max(0, at - this.#now));
  }

  /**
   * Advances time in steps of `stepMs` and lets promise callbacks run between steps, so code
   * that awaits between timers makes progress. Total `ms`.
   */
  async advanceAsync(ms: number, stepMs = 1): Promise<void> {
    const target = this.#now + ms;
    while (this.#now < target) {
      this.advance(Math.min(stepMs, target - this.#now));
      await flushMicrotasks();
    }
  }

  #nextDue(target: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const t of this.#timers) {
      if (t.at > target || t.cancelled) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets pending promise reactions run (several turns, for chains of awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
