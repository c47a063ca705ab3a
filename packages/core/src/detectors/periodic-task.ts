/**
 * One endpoint's periodic task on the injected clock: the loop shared by the active detectors
 * (`heartbeat` probes, `metricThresholds` reads).
 *
 * - The first run starts after `initialDelayMs`, or, when that is undefined, at a uniformly random
 *   time in the first interval, so that a pool of endpoints (or many clients started together)
 *   does not probe in lockstep.
 * - Later runs start every `intervalMs` ± `jitterPercent` (fixed rate: the next run is scheduled
 *   when a run starts, not when it ends). The delay never drops below 1 % of the interval.
 * - Each run gets an `AbortSignal` that aborts after `timeoutMs` (a clock timer), with a
 *   `TimeoutError` reason; the run is then reported as timed out at once, whether or not the
 *   task honours the signal.
 * - At most one run is in flight. A tick that finds the previous run still pending is skipped;
 *   if that run has already timed out, the tick is reported as another timeout, so a task that
 *   ignores its signal and never settles still reads as failing, tick after tick.
 * - `stop()` cancels the timers and aborts the run in flight; nothing is reported after it.
 *
 * Results are delivered through `onResult`; an exception thrown there is re-thrown on its own
 * microtask so that it cannot stop the loop.
 */
import { setTimeoutAfterInput } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import type { Random } from '../random.js';
import * as v from '../validate.js';

export interface PeriodicSchedule {
  /** Time between run starts, ms (> 0). */
  readonly intervalMs: number;
  /** Random spread of each interval, percent of `intervalMs` either way (0–100). */
  readonly jitterPercent: number;
  /** Each run's signal aborts after this many ms and the run counts as timed out. */
  readonly timeoutMs: number;
  /** Delay before the first run, ms; undefined spreads it uniformly over the first interval. */
  readonly initialDelayMs: number | undefined;
}

/** The schedule options of a detector that runs a periodic task per endpoint. */
export interface PeriodicScheduleOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly jitterPercent?: number;
  readonly initialDelayMs?: number;
}

/**
 * The schedule set by `options`, each checked and named `<path>.<option>` in errors:
 * `intervalMs` and `timeoutMs` > 0 (defaults from `defaults`), `jitterPercent` 0–100 (default
 * 10), `initialDelayMs` ≥ 0 (default undefined: the first run spread over the first interval).
 */
export function parseSchedule(
  path: string,
  options: PeriodicScheduleOptions,
  defaults: { readonly intervalMs: number; readonly timeoutMs: number },
): PeriodicSchedule {
  return Object.freeze({
    intervalMs: v.positive(`${path}.intervalMs`, options.intervalMs, defaults.intervalMs),
    timeoutMs: v.positive(`${path}.timeoutMs`, options.timeoutMs, defaults.timeoutMs),
    jitterPercent: v.percent(`${path}.jitterPercent`, options.jitterPercent, 10),
    initialDelayMs:
      options.initialDelayMs === undefined
        ? undefined
        : v.number(`${path}.initialDelayMs`, options.initialDelayMs, 0),
  });
}

export type PeriodicResult<T> =
  | { readonly ok: true; readonly value: T; readonly latencyMs: number }
  | {
      readonly ok: false;
      /** True when the run overran `timeoutMs` (its signal was aborted). */
      readonly timedOut: boolean;
      readonly error: unknown;
      readonly latencyMs: number;
    };

export interface PeriodicTaskOptions<T> {
  readonly clock: Clock;
  readonly random: Random;
  readonly schedule: PeriodicSchedule;
  /** The work of one run. May return a value or a promise, or throw. */
  readonly run: (signal: AbortSignal) => Promise<T> | T;
  /** Called once per run (or per skipped tick after a timeout), never after `stop()`. */
  readonly onResult: (result: PeriodicResult<T>) => void;
  /** Checked at each tick; when it returns false the tick is skipped. Default: always run. */
  readonly enabled?: () => boolean;
}

interface Run {
  readonly controller: AbortController;
  readonly startedAt: number;
  timeout: Timer | undefined;
  timedOut: boolean;
}

export class PeriodicTask<T> {
  readonly #options: PeriodicTaskOptions<T>;
  #timer: Timer | undefined;
  #run: Run | undefined;
  #stopped = false;
  #lastStartedAt = Number.NEGATIVE_INFINITY;

  constructor(options: PeriodicTaskOptions<T>) {
    this.#options = options;
  }

  /** Whether a run is in flight. */
  get busy(): boolean {
    return this.#run !== undefined;
  }

  /** Schedules the first run. Calling it again, or after `stop()`, does nothing. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    const { schedule, random, clock } = this.#options;
    const delay = schedule.initialDelayMs ?? random.next() * schedule.intervalMs;
    this.#timer = clock.setTimeout(this.#tick, delay);
  }

  /**
   * Runs now instead of at the next tick, unless a run is in flight, the task is stopped or not
   * started, or the last run started less than half an interval ago. The loop goes on from here.
   */
  runSoon(): void {
    if (this.#stopped || !this.#timer || this.#run) return;
    const now = this.#options.clock.now();
    if (now - this.#lastStartedAt < this.#options.schedule.intervalMs / 2) return;
    this.#timer.cancel();
    this.#tick();
  }

  /** Cancels the timers and aborts the run in flight. Final. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    const run = this.#run;
    if (run) {
      this.#run = undefined;
      run.timeout?.cancel();
      run.timeout = undefined;
      run.controller.abort(abortError('The detector stopped this task'));
    }
  }

  #nextDelay(): number {
    const { intervalMs, jitterPercent } = this.#options.schedule;
    const spread = (jitterPercent / 100) * (2 * this.#options.random.next() - 1);
    return Math.max(intervalMs * (1 + spread), intervalMs / 100);
  }

  readonly #tick = (): void => {
    // Re-arm first: whatever happens in this tick, the loop goes on.
    this.#timer = this.#options.clock.setTimeout(this.#tick, this.#nextDelay());
    if (this.#options.enabled && !this.#options.enabled()) return;
    const pending = this.#run;
    if (pending) {
      if (pending.timedOut) {
        const elapsed = this.#options.clock.now() - pending.startedAt;
        this.#report({
          ok: false,
          timedOut: true,
          error: timeoutError(`The previous run is still pending ${elapsed} ms after it started`),
          latencyMs: elapsed,
        });
      }
      return;
    }
    this.#start();
  };

  #start(): void {
    const { clock, schedule } = this.#options;
    const run: Run = {
      controller: new AbortController(),
      startedAt: clock.now(),
      timeout: undefined,
      timedOut: false,
    };
    this.#run = run;
    this.#lastStartedAt = run.startedAt;
    // After a stall of this process, an answer that came meanwhile is read before the timeout.
    run.timeout = setTimeoutAfterInput(
      clock,
      () => {
        run.timeout = undefined;
        run.timedOut = true;
        const error = timeoutError(`Timed out after ${schedule.timeoutMs} ms`);
        run.controller.abort(error);
        if (this.#run === run) {
          this.#report({
            ok: false,
            timedOut: true,
            error,
            latencyMs: clock.now() - run.startedAt,
          });
        }
      },
      schedule.timeoutMs,
    );

    // The executor turns a synchronous throw of `run` into a rejection.
    const result = new Promise<T>((resolve) => resolve(this.#options.run(run.controller.signal)));
    void result.then(
      (value) => this.#settle(run, { ok: true, value, latencyMs: clock.now() - run.startedAt }),
      (error: unknown) =>
        this.#settle(run, {
          ok: false,
          timedOut: false,
          error,
          latencyMs: clock.now() - run.startedAt,
        }),
    );
  }

  #settle(run: Run, result: PeriodicResult<T>): void {
    if (this.#run !== run) return; // stopped meanwhile
    this.#run = undefined;
    if (run.timedOut) return; // already reported as a timeout
    run.timeout?.cancel();
    run.timeout = undefined;
    this.#report(result);
  }

  #report(result: PeriodicResult<T>): void {
    if (this.#stopped) return;
    try {
      this.#options.onResult(result);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function timeoutError(message: string): Error {
  return new DOMException(message, 'TimeoutError');
}

function abortError(message: string): Error {
  return new DOMException(message, 'AbortError');
}
