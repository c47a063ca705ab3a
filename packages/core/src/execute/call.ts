/**
 * One logical call: drives its attempts through selection, the operation, classification, the
 * detectors, and the decision to retry, hedge, fail over or give up.
 *
 * - Failover: every retry or hedge goes to an endpoint the call has not tried while one is
 *   eligible. A retry with none left goes next to an untried endpoint that only the
 *   latency-outlier detector ejected: the ejection cap can keep the endpoint that just failed
 *   this call eligible, and a replica judged slow beats one that did not answer (one ejected for
 *   failing does not). Only then does it go back to a tried one.
 * - Retry: up to `maxAttempts` attempts in all; backoff between them, except that a retry to a
 *   fresh endpoint goes at once (`immediateFailover`); server pushback replaces the backoff
 *   before a retry to an endpoint already tried (one longer than `maxPushbackMs` ends the call
 *   instead; a negative one means do not retry at all). A call that is not idempotent is
 *   retried only when the classifier says the request was not processed.
 * - Hedging (idempotent calls): after the hedge delay a backup attempt goes to another endpoint;
 *   the first acceptable result wins and the others are aborted, uncounted. A retryable failure
 *   while others are in flight sends the next attempt at once (gRFC A6).
 * - Every retry and hedge draws on the pool's retry budget.
 * - Deadline and attempt timeout: no attempt starts once too little time is left, and a frozen
 *   endpoint costs one attempt timeout. The deadline needs no timer of its own: each attempt's
 *   timer is set to end by it, and a retry only waits while time is left.
 * - The caller's signal, or `cancel()` on the running call, aborts every attempt and wait at
 *   once; the call rejects with the reason.
 */
import type { AttemptResult, Classification, Classifier } from '../classifier.js';
import { defaultClassifier } from '../classifier.js';
import { lateTimerMs } from '../clock.js';
import type { Clock, Timer } from '../clock.js';
import type { EndpointRecord } from '../health/endpoint-record.js';
import type { LatencyHistogram } from '../health/latency-histogram.js';
import type { AttemptKind, Instrumentation } from '../instrumentation.js';
import type { Outcome } from '../outcome.js';
import type { RetryBudget } from '../policies/retry-budget.js';
import type { Random } from '../random.js';
import type { Exclusion } from '../selector.js';
import type { Endpoint } from '../endpoint.js';
import type { AttemptReport, CallFailureReason } from './call-error.js';
import { CallFailedError } from './call-error.js';
import type { ResolvedPolicy } from './call-options.js';

/** What an operation learns about its attempt. */
export interface AttemptContext {
  /** 1 for the first attempt, 2 for the next, and so on (hedges included). */
  readonly attempt: number;
  readonly kind: AttemptKind;
  /**
   * True once the attempt is stopped: it timed out, lost to another attempt, or its call ended
   * or was cancelled. The cheap way to ask; see `onAbort`.
   */
  readonly aborted: boolean;
  /**
   * Calls `listener` with the reason when the attempt is stopped (as `aborted` turns true), and
   * returns a function that removes it (idempotent; it does nothing after the abort). A listener
   * added once the attempt is stopped is called at once, before `onAbort` returns. Listeners run
   * in the order they were added; one that throws does not disturb the call, its error is
   * rethrown on its own microtask. Costs a fraction of `signal`: prefer it unless the transport
   * wants an `AbortSignal`.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
  /**
   * The same abort as an `AbortSignal` (reason included), for transports that take one, such
   * as `fetch`. Made the first time it is read: an `AbortController` costs more than the rest
   * of an attempt together.
   */
  readonly signal: AbortSignal;
  /**
   * Time this attempt may take, ms: the smaller of the attempt timeout and what is left of the
   * deadline (Infinity when neither is set). Pass it on as the transport's own deadline.
   */
  readonly timeoutMs: number;
  /**
   * What was left of the call's deadline when this attempt started, ms (Infinity when it has
   * none). A transport that tells servers a deadline tells them this one, as gRPC's own retries
   * do: the attempt timeout stays detour's timer, which reads an answer that came during a stall
   * of this process before it judges, where a transport's deadline timer would not.
   */
  readonly deadlineLeftMs: number;
  /** Attempts of this call sent before this one (gRPC's `grpc-previous-rpc-attempts`). */
  readonly previousAttempts: number;
  /**
   * Tells the call whether the request may have reached the endpoint yet: `false` while it
   * provably has not left (the connection is still being established), `true` once it may have.
   * A timeout or failure while the last mark is `false` counts as not processed, whatever the
   * classifier guessed from the error, so even a call that is not idempotent is retried (a
   * transparent retry). Without a mark, a timeout counts as possibly processed and the
   * classifier decides for other failures.
   */
  markSent(sent: boolean): void;
}

export type Operation<T> = (endpoint: Endpoint, attempt: AttemptContext) => Promise<T>;

/**
 * A call started by `pool.start()`. It runs whether or not anyone reads `result`; `cancel()`
 * stops it as aborting its `signal` option would, without the cost of an `AbortController`.
 */
export interface RunningCall<T> {
  /** Settles as `pool.execute()`'s promise does: the first acceptable result, or the error. */
  readonly result: Promise<T>;
  /**
   * Cancels the call, as aborting `options.signal` with `reason` would: every attempt in flight
   * is aborted with `reason` (its `onAbort` listeners and its signal) and counted against no
   * endpoint, a pending backoff or hedge never starts, and `result` rejects with `reason`.
   * Without a reason, the same `AbortError` `DOMException` as `AbortController.abort()`. Does
   * nothing once the call has settled.
   */
  cancel(reason?: unknown): void;
}

/** What the pool gives a call. */
export interface CallHost {
  readonly clock: Clock;
  readonly random: Random;
  readonly budget: RetryBudget | undefined;
  readonly latency: LatencyHistogram;
  readonly instrumentation: Instrumentation;
  readonly maxInflightPerEndpoint: number;
  /** An eligible endpoint outside `exclude`, or undefined (no fallback to excluded ones). */
  pickStrict(
    exclude: Exclusion<EndpointRecord>,
    key: string | undefined,
  ): EndpointRecord | undefined;
  /**
   * A member ejected as a latency outlier only (answering, slowly) outside `exclude`, or
   * undefined (also in panic): where a retry goes when every eligible endpoint has been tried.
   */
  pickEjected(exclude: Exclusion<EndpointRecord>): EndpointRecord | undefined;
  /** `pool.pick()`: outside `exclude` if possible, else any eligible, else (panic) any member. */
  pick(
    exclude: Exclusion<EndpointRecord>,
    key: string | undefined,
    now: number,
  ): EndpointRecord | undefined;
  /** Whether another attempt may start under the pool's in-flight limit. */
  poolHasRoom(): boolean;
  startAttempt(record: EndpointRecord): void;
  endAttempt(record: EndpointRecord, outcome: Outcome | undefined, now: number): void;
  noteRetry(record: EndpointRecord): void;
  /** The call ended (settled): forget it. */
  done(call: Call<unknown>): void;
}

type AbortListener = (reason: unknown) => void;

const noop = (): void => {};

/** Calls an abort listener; a throw is rethrown on its own microtask, as pool events do. */
function notify(listener: AbortListener, reason: unknown): void {
  try {
    listener(reason);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/**
 * One attempt, and the context its operation sees. Abort listeners live in one slot, and in an
 * array only when there are more; the AbortController is made only when the operation first
 * reads `signal` (creating one costs more than the rest of an attempt together), and an attempt
 * stopped before that hands out an already-aborted signal.
 */
class Attempt implements AttemptContext {
  readonly attempt: number;
  readonly kind: AttemptKind;
  readonly record: EndpointRecord;
  readonly start: number;
  readonly timeoutMs: number;
  readonly deadlineLeftMs: number;
  timer: Timer | undefined = undefined;
  /** Its timer fired late and was set again for one turn (see `#timeUp`). */
  looked = false;
  timedOut = false;
  done = false;
  /** The operation's last `markSent()`; undefined when it never said. */
  sent: boolean | undefined = undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;
  /** The first abort listener; later ones go to `#moreListeners` (order kept). */
  #listener: AbortListener | undefined;
  #moreListeners: AbortListener[] | undefined;

  constructor(
    attempt: number,
    kind: AttemptKind,
    record: EndpointRecord,
    start: number,
    timeoutMs: number,
    deadlineLeftMs: number,
  ) {
    this.attempt = attempt;
    this.kind = kind;
    this.record = record;
    this.start = start;
    this.timeoutMs = timeoutMs;
    this.deadlineLeftMs = deadlineLeftMs;
  }

  get previousAttempts(): number {
    return this.attempt - 1;
  }

  markSent(sent: boolean): void {
    this.sent = sent;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  onAbort(listener: AbortListener): () => void {
    if (this.#aborted) {
      notify(listener, this.#abortReason);
      return noop;
    }
    // The slot only while no listener is in the array, so that the slot's is always the oldest.
    if (this.#listener === undefined && this.#moreListeners === undefined) {
      this.#listener = listener;
    } else (this.#moreListeners ??= []).push(listener);
    let added = true;
    return () => {
      if (!added) return;
      added = false;
      this.#removeListener(listener);
    };
  }

  #removeListener(listener: AbortListener): void {
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const more = this.#moreListeners;
    const i = more ? more.indexOf(listener) : -1;
    if (i >= 0) more!.splice(i, 1);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /**
   * Stops the attempt: its signal, then every listener added so far (even one that another
   * removes during this loop), see `reason`.
   */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const first = this.#listener;
    const more = this.#moreListeners;
    this.#listener = this.#moreListeners = undefined;
    if (first) notify(first, reason);
    if (more) for (const listener of more) notify(listener, reason);
  }
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Attempt timed out after ${Math.round(ms)} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * One call. The pool hands it out as its `RunningCall` (`pool.start()`), so `cancel()` is the
 * same path as an abort of the caller's signal and as `pool.close()`.
 */
export class Call<T> implements Exclusion<EndpointRecord>, RunningCall<T> {
  readonly #host: CallHost;
  readonly #operation: Operation<T>;
  readonly #policy: ResolvedPolicy;
  readonly #classifier: Classifier<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #key: string | undefined;
  readonly #start: number;
  readonly #deadline: number;

  /** Links in the pool's list of calls in flight (the pool owns them). */
  prevCall: Call<unknown> | undefined;
  nextCall: Call<unknown> | undefined;

  /** The first endpoint tried, and the others (an array made only when a call retries). */
  #firstTried: EndpointRecord | undefined;
  #moreTried: EndpointRecord[] | undefined;
  readonly #inflight: Attempt[] = [];
  /** Made at the first report: a call that succeeds at once never needs it. */
  #reports: AttemptReport[] | undefined;
  #sent = 0;
  #hedges = 0;
  #retries = 0;
  #previousDelayMs = 0;
  #lastError: unknown;
  #settled = false;
  #retryTimer: Timer | undefined;
  #hedgeTimer: Timer | undefined;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;
  readonly result: Promise<T>;

  constructor(
    host: CallHost,
    operation: Operation<T>,
    policy: ResolvedPolicy,
    classifier: Classifier<T> | undefined,
    signal: AbortSignal | undefined,
    key: string | undefined,
  ) {
    this.#host = host;
    this.#operation = operation;
    this.#policy = policy;
    this.#classifier = classifier ?? defaultClassifier;
    this.#signal = signal;
    this.#key = key;
    this.#start = host.clock.now();
    this.#deadline = this.#start + policy.deadlineMs;
    this.result = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Exclusion for picks: endpoints this call tried, and endpoints at their in-flight limit. */
  has(record: EndpointRecord): boolean {
    if (record === this.#firstTried) return true;
    const more = this.#moreTried;
    if (more) for (let i = 0; i < more.length; i++) if (more[i] === record) return true;
    return record.inflight >= this.#host.maxInflightPerEndpoint;
  }

  /** Starts the call: its first attempt (unless it ends at once), and its timers. */
  run(): void {
    const signal = this.#signal;
    if (signal?.aborted) {
      this.#finish(false);
      this.#reject(signal.reason);
      return;
    }
    if (signal) {
      this.#onAbort = () => this.#cancel(signal.reason);
      signal.addEventListener('abort', this.#onAbort);
    }
    this.#host.budget?.onRequest(this.#start);
    if (!this.#host.poolHasRoom()) {
      this.#fail('bulkhead-rejected');
      return;
    }
    this.#launch('first', undefined, this.#start);
    if (!this.#settled && this.#policy.hedge && this.#policy.idempotent) this.#scheduleHedge();
  }

  /** Ends the call from outside (`RunningCall.cancel()`, `pool.close()`): see `RunningCall`. */
  cancel(reason?: unknown): void {
    this.#cancel(
      reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason,
    );
  }

  /** Ends the call as its caller's signal does: every attempt aborts, and it rejects with `reason`. */
  #cancel(reason: unknown): void {
    if (this.#settled) return;
    this.#finish(false, reason);
    this.#reject(reason);
  }

  // --- attempts ---

  #launch(
    kind: AttemptKind,
    chosen: EndpointRecord | undefined,
    now = this.#host.clock.now(),
  ): void {
    const host = this.#host;
    const record = chosen ?? host.pick(this, this.#key, now);
    if (!record || record.inflight >= host.maxInflightPerEndpoint) {
      if (this.#inflight.length === 0) this.#fail(record ? 'bulkhead-rejected' : 'no-endpoint');
      return;
    }
    const number = ++this.#sent;
    if (kind === 'hedge') this.#hedges++;
    if (kind === 'retry') this.#retries++;
    if (this.#firstTried === undefined) this.#firstTried = record;
    else if (this.#firstTried !== record && !this.#moreTried?.includes(record))
      (this.#moreTried ??= []).push(record);
    if (kind !== 'first') host.noteRetry(record);
    const left = this.#deadline - now;
    const atDeadline = left <= this.#policy.attemptTimeoutMs;
    const timeoutMs = atDeadline ? left : this.#policy.attemptTimeoutMs;
    const attempt = new Attempt(number, kind, record, now, timeoutMs, left);
    this.#inflight.push(attempt);
    host.startAttempt(record);
    host.instrumentation.attemptStarted(record, kind);
    if (timeoutMs !== Infinity) {
      const timeUp = (): void => {
        attempt.timer = undefined;
        // Fired late: this process was stalled, and the answer may be waiting to be read. It
        // gets one turn (a timer set now fires after the event loop polled for input). This is
        // `setTimeoutAfterInput` written out: one closure per attempt, no wrapper timer.
        if (!attempt.looked && host.clock.now() - attempt.start - timeoutMs > lateTimerMs) {
          attempt.looked = true;
          attempt.timer = host.clock.setTimeout(timeUp, 0);
          return;
        }
        // The call's deadline (there is no timer of its own: every attempt in flight is timed
        // to end by it, and no retry or hedge starts without time left): the call ends, its
        // attempts aborted and counted against no endpoint.
        if (atDeadline) {
          this.#fail('deadline-exceeded');
          return;
        }
        attempt.timedOut = true;
        const error = new TimeoutError(timeoutMs);
        attempt.abort(error);
        // The operation may ignore the abort: settle the attempt now either way.
        this.#settle(attempt, { ok: false, error });
      };
      attempt.timer = host.clock.setTimeout(timeUp, timeoutMs);
    }
    let result: Promise<T>;
    try {
      result = Promise.resolve(this.#operation(record.endpoint, attempt));
    } catch (error) {
      // A synchronous throw is a failed attempt, settled on its own turn like a rejection.
      queueMicrotask(() => this.#settle(attempt, { ok: false, error }));
      return;
    }
    result.then(
      (value) => this.#settle(attempt, { ok: true, value }),
      (error: unknown) => this.#settle(attempt, { ok: false, error }),
    );
  }

  #settle(attempt: Attempt, result: AttemptResult<T>): void {
    if (attempt.done) return;
    attempt.done = true;
    attempt.timer?.cancel();
    attempt.timer = undefined;
    this.#remove(attempt);
    const host = this.#host;
    const now = host.clock.now();
    const latencyMs = now - attempt.start;
    if (this.#settled) {
      this.#cancelled(attempt, latencyMs, now);
      return;
    }
    let c: Classification;
    if (attempt.timedOut) {
      c = {
        type: 'failure',
        retryable: true,
        kind: 'timeout',
        code: 'timeout',
        message: (result as { error: Error }).error.message,
        ...(attempt.sent === false && { processed: false }),
      };
    } else {
      try {
        c = this.#classifier(result);
      } catch (error) {
        c = {
          type: 'failure',
          retryable: false,
          message: `classifier threw: ${String(error)}`,
          endpointFault: false,
        };
      }
      if (c.type === 'failure' && c.processed !== false && attempt.sent === false) {
        c = { ...c, processed: false };
      }
    }
    if (!result.ok) this.#lastError = result.error;

    if (c.type === 'success') {
      const outcome: Outcome = { kind: 'success', latencyMs };
      host.endAttempt(attempt.record, outcome, now);
      host.latency.record(now, latencyMs);
      host.budget?.onOutcome(now, false);
      host.instrumentation.attemptEnded(attempt.record, attempt.kind, outcome, latencyMs);
      this.#finish(true, undefined, now);
      this.#resolve((result as { value: T }).value);
      return;
    }
    if (c.type === 'ignore') {
      this.#cancelled(attempt, latencyMs, now);
      if (this.#inflight.length === 0 && !this.#retryTimer) this.#fail('not-retryable');
      return;
    }

    const kind = c.kind ?? 'error';
    const outcome: Outcome = { kind, latencyMs, code: c.code, message: c.message };
    host.endAttempt(attempt.record, c.endpointFault === false ? undefined : outcome, now);
    host.budget?.onOutcome(now, c.retryable);
    host.instrumentation.attemptEnded(attempt.record, attempt.kind, outcome, latencyMs);
    this.#report(attempt, kind, c.code, c.message, latencyMs);

    const mayRepeat = this.#policy.idempotent || c.processed === false;
    if (!c.retryable || !mayRepeat || (c.pushbackMs !== undefined && c.pushbackMs < 0)) {
      this.#fail('not-retryable');
      return;
    }
    this.#planRetry(c.pushbackMs);
  }

  /** After a retryable failure: the next attempt now, later, or none. */
  #planRetry(pushbackMs: number | undefined): void {
    if (this.#retryTimer) return; // a retry is already waiting
    const host = this.#host;
    if (this.#sent >= this.#policy.maxAttempts) {
      if (this.#inflight.length === 0) this.#fail('attempts-exhausted');
      return;
    }
    const now = host.clock.now();
    let delay: number;
    let chosen: EndpointRecord | undefined;
    if (this.#inflight.length > 0 && pushbackMs === undefined) {
      delay = 0; // hedging: a failure while others run sends the next attempt at once (A6)
    } else {
      // A fresh endpoint goes at once: a pushback speaks for the server that sent it.
      chosen = this.#policy.immediateFailover ? this.#untried() : undefined;
      if (chosen) delay = 0;
      else if (pushbackMs !== undefined) {
        if (pushbackMs > this.#policy.maxPushbackMs) {
          if (this.#inflight.length === 0) this.#fail('not-retryable');
          return;
        }
        delay = pushbackMs;
      } else {
        delay = this.#policy.backoff.delay(this.#retries + 1, this.#previousDelayMs, host.random);
        this.#previousDelayMs = delay;
      }
    }
    if (!this.#timeLeftFor(now + delay)) {
      if (this.#inflight.length === 0) this.#fail('deadline-exceeded');
      return;
    }
    if (host.budget && !host.budget.tryRetry(now)) {
      host.instrumentation.budgetRefused('retry');
      if (this.#inflight.length === 0) this.#fail('budget-exhausted');
      return;
    }
    if (!host.poolHasRoom()) {
      if (this.#inflight.length === 0) this.#fail('bulkhead-rejected');
      return;
    }
    if (delay <= 0) {
      this.#launch('retry', chosen);
      return;
    }
    this.#retryTimer = host.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#settled) this.#launch('retry', this.#untried());
    }, delay);
  }

  /** An endpoint this call has not tried for its next retry: eligible, else a latency outlier. */
  #untried(): EndpointRecord | undefined {
    const host = this.#host;
    return host.pickStrict(this, this.#key) ?? host.pickEjected(this);
  }

  /**
   * Whether an attempt starting at `at` could still finish before the deadline: time must be
   * left, and more of it than the pool's median latency (an attempt that cannot finish is not
   * sent).
   */
  #timeLeftFor(at: number): boolean {
    if (this.#deadline === Infinity) return true;
    const left = this.#deadline - at;
    if (left <= 0) return false;
    const median = this.#host.latency.percentile(at, 50);
    return !(median > left);
  }

  // --- hedging ---

  #scheduleHedge(): void {
    const hedge = this.#policy.hedge!;
    if (this.#hedges >= hedge.maxHedges) return;
    const host = this.#host;
    const now = host.clock.now();
    let delay: number;
    if (hedge.delayMs === 'adaptive') {
      const observed =
        host.latency.count(now) >= 20 ? host.latency.percentile(now, hedge.percentile) : NaN;
      delay = Number.isNaN(observed) ? hedge.minDelayMs : Math.max(hedge.minDelayMs, observed);
    } else delay = hedge.delayMs;
    this.#hedgeTimer = host.clock.setTimeout(() => {
      this.#hedgeTimer = undefined;
      this.#hedge();
    }, delay);
  }

  #hedge(): void {
    if (this.#settled || this.#sent >= this.#policy.maxAttempts) return;
    const host = this.#host;
    const now = host.clock.now();
    const chosen = host.pickStrict(this, this.#key); // a backup goes to a different endpoint
    if (chosen && this.#timeLeftFor(now) && host.poolHasRoom()) {
      if (host.budget && !host.budget.tryRetry(now)) {
        host.instrumentation.budgetRefused('hedge');
        return;
      }
      this.#launch('hedge', chosen);
    }
    if (!this.#settled) this.#scheduleHedge();
  }

  // --- endings ---

  /** Listener on the caller's signal; made only for calls that have one. */
  #onAbort: (() => void) | undefined;

  #fail(reason: CallFailureReason): void {
    if (this.#settled) return;
    this.#finish(false);
    this.#reject(new CallFailedError(reason, this.#reports ?? [], this.#lastError));
  }

  /**
   * Stops every timer and attempt (they abort with `reason`, by default a `CallEndedError` made
   * only if some attempt is still running), and reports the call's end.
   */
  #finish(success: boolean, reason?: unknown, now = this.#host.clock.now()): void {
    this.#settled = true;
    const host = this.#host;
    if (this.#onAbort) this.#signal!.removeEventListener('abort', this.#onAbort);
    this.#retryTimer?.cancel();
    this.#hedgeTimer?.cancel();
    this.#retryTimer = this.#hedgeTimer = undefined;
    if (this.#inflight.length > 0) {
      const why = reason ?? new CallEndedError();
      for (const attempt of this.#inflight.splice(0)) {
        attempt.done = true;
        attempt.timer?.cancel();
        attempt.abort(why);
        this.#cancelled(attempt, now - attempt.start, now);
      }
    }
    host.instrumentation.callEnded(success, this.#sent, now - this.#start);
    host.done(this as Call<unknown>);
  }

  /** An attempt that ended without a verdict on its endpoint (lost, aborted, ignored). */
  #cancelled(attempt: Attempt, latencyMs: number, now: number): void {
    this.#host.endAttempt(attempt.record, undefined, now);
    this.#host.instrumentation.attemptEnded(attempt.record, attempt.kind, undefined, latencyMs);
    this.#report(attempt, 'cancelled', undefined, undefined, latencyMs);
  }

  #remove(attempt: Attempt): void {
    const inflight = this.#inflight;
    if (inflight[inflight.length - 1] === attempt) {
      inflight.pop(); // the usual case: the only attempt, or the latest
      return;
    }
    const i = inflight.indexOf(attempt);
    if (i >= 0) inflight.splice(i, 1);
  }

  #report(
    attempt: Attempt,
    outcome: AttemptReport['outcome'],
    code: string | number | undefined,
    message: string | undefined,
    latencyMs: number,
  ): void {
    (this.#reports ??= []).push({
      attempt: attempt.attempt,
      kind: attempt.kind,
      endpoint: attempt.record.endpoint.id,
      address: attempt.record.endpoint.address,
      outcome,
      code,
      message,
      latencyMs,
    });
  }
}

/** The abort reason of an attempt that is stopped because its call ended. */
export class CallEndedError extends Error {
  constructor() {
    super('The call ended: another attempt won, or the call was cancelled');
    this.name = 'AbortError';
  }
}
