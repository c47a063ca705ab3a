/**
 * Options of `pool.execute()` and `pool.start()`: pool-wide defaults (`createPool({ call })`) and per-call
 * overrides. Validated when the pool is made (defaults) and when a call starts (overrides):
 * a bad value throws `DetourConfigError` naming the option and the value.
 */
import type { Classifier } from '../classifier.js';
import { DetourConfigError } from '../errors.js';
import type { Backoff } from '../policies/backoff.js';
import { backoffFromOptions } from '../policies/backoff-by-name.js';
import * as v from '../validate.js';

export interface HedgeOptions {
  /**
   * Delay before each backup attempt: a number of ms, or `'adaptive'`: the pool's observed
   * latency at `percentile` (Finagle's backup requests, Polly's hedging), never below
   * `minDelayMs`. Default `'adaptive'`.
   */
  readonly delayMs?: number | 'adaptive';
  /** Latency percentile for the adaptive delay (0–100). Default 95. */
  readonly percentile?: number;
  /** Floor of the adaptive delay, ms; also the delay until the pool has 20 samples. Default 10. */
  readonly minDelayMs?: number;
  /** Backup attempts per call at most (each also counts towards `maxAttempts`). Default 1. */
  readonly maxHedges?: number;
}

/** Policy options that may be set for the whole pool and overridden per call. */
export interface CallPolicy {
  /**
   * Attempts in all, the first included (gRFC A6 counts the same way). Default 3. Hedges count
   * too.
   */
  readonly maxAttempts?: number;
  /** Backoff before a retry: a `Backoff`, or a name. Default exponential, 25 ms base, 250 ms cap, full jitter. */
  readonly backoff?: Backoff | 'exponential' | 'decorrelated-jitter' | 'constant';
  /**
   * A retry that goes to an endpoint this call has not tried yet goes at once, without backoff:
   * the backoff protects an endpoint from its own retries, and this one has seen none. Default true.
   */
  readonly immediateFailover?: boolean;
  /** Longest server pushback (Retry-After, grpc-retry-pushback-ms) honoured, ms. Longer ones end the call. Default 30000. */
  readonly maxPushbackMs?: number;
  /** Overall deadline of the call across every attempt and backoff, ms from its start. Default none. */
  readonly deadlineMs?: number;
  /** Timeout of each attempt, ms; an attempt that overruns it fails with kind `timeout`. Default none. */
  readonly attemptTimeoutMs?: number;
  /**
   * Whether the operation may run twice. A non-idempotent call is retried only when the
   * classifier says the request was not processed. Hedging needs it. Default false.
   */
  readonly idempotent?: boolean;
  /** Backup attempts for slow calls (idempotent calls only), or false. Default false. */
  readonly hedge?: HedgeOptions | boolean;
}

/** Per-call options of `pool.execute(operation, options)` and `pool.start(operation, options)`. */
export interface ExecuteOptions<T = unknown> extends CallPolicy {
  /**
   * Aborts every attempt and every wait of the call at once; the call rejects with
   * `signal.reason`. `pool.start()`'s `cancel(reason)` does the same without a signal.
   */
  readonly signal?: AbortSignal;
  /** Affinity key for consistent hashing. */
  readonly key?: string;
  /** Maps each attempt's result to success, failure or ignore. Default: resolved = success, rejected = retryable failure. */
  readonly classifier?: Classifier<T>;
}

export interface ResolvedHedge {
  readonly delayMs: number | 'adaptive';
  readonly percentile: number;
  readonly minDelayMs: number;
  readonly maxHedges: number;
}

export interface ResolvedPolicy {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly immediateFailover: boolean;
  readonly maxPushbackMs: number;
  readonly deadlineMs: number;
  readonly attemptTimeoutMs: number;
  readonly idempotent: boolean;
  readonly hedge: ResolvedHedge | undefined;
}

/** The keys of `CallPolicy`: what may be set for a pool and overridden per call. */
export const callPolicyKeys: readonly string[] = [
  'maxAttempts',
  'backoff',
  'immediateFailover',
  'maxPushbackMs',
  'deadlineMs',
  'attemptTimeoutMs',
  'idempotent',
  'hedge',
];
const executeKeys = new Set([...callPolicyKeys, 'signal', 'key', 'classifier']);
const hedgeKeys = ['delayMs', 'percentile', 'minDelayMs', 'maxHedges'];

export const defaultPolicy: ResolvedPolicy = {
  maxAttempts: 3,
  backoff: backoffFromOptions(undefined, 'call.backoff'),
  immediateFailover: true,
  maxPushbackMs: 30_000,
  deadlineMs: Infinity,
  attemptTimeoutMs: Infinity,
  idempotent: false,
  hedge: undefined,
};

function resolveHedge(
  value: unknown,
  path: string,
  base: ResolvedHedge | undefined,
): ResolvedHedge | undefined {
  if (value === undefined) return base;
  if (value === false) return undefined;
  const h = (value === true ? {} : value) as HedgeOptions;
  v.knownKeys(path, h, hedgeKeys);
  let delayMs: number | 'adaptive';
  if (h.delayMs === undefined || h.delayMs === 'adaptive') delayMs = 'adaptive';
  else delayMs = v.number(`${path}.delayMs`, h.delayMs, 0);
  return {
    delayMs,
    percentile: v.number(`${path}.percentile`, h.percentile, 95, 0, 100),
    minDelayMs: v.number(`${path}.minDelayMs`, h.minDelayMs, 10),
    maxHedges: v.integer(`${path}.maxHedges`, h.maxHedges, 1, 1, 10),
  };
}

/** A time in ms: > 0, Infinity allowed. The option's name (`prefix` + `name`) is made for errors only. */
function time(prefix: string, name: string, value: unknown): number {
  if (typeof value === 'number' && value > 0) return value; // NaN is not > 0
  return v.positive(prefix + name, value, Infinity);
}

/**
 * Applies `options` (validated, errors under `path`) over `base`. Only the options given are
 * looked at: this runs for every call that has options of its own, so it builds no name and
 * checks no value it does not need.
 */
export function resolvePolicy(
  options: CallPolicy | undefined,
  path: string,
  base: ResolvedPolicy,
  perCall = false,
): ResolvedPolicy {
  if (options === undefined) return base;
  v.knownKeys(path, options, perCall ? executeKeys : callPolicyKeys);
  const p = path === '' ? '' : `${path}.`;
  const o = options;
  const r: { -readonly [K in keyof ResolvedPolicy]: ResolvedPolicy[K] } = { ...base };
  if (o.maxAttempts !== undefined) {
    r.maxAttempts = v.integer(`${p}maxAttempts`, o.maxAttempts, base.maxAttempts, 1, 100);
  }
  if (o.backoff !== undefined) r.backoff = backoffFromOptions(o.backoff, `${p}backoff`);
  if (o.immediateFailover !== undefined) {
    r.immediateFailover = v.boolean(`${p}immediateFailover`, o.immediateFailover, true);
  }
  if (o.maxPushbackMs !== undefined) {
    r.maxPushbackMs = v.number(`${p}maxPushbackMs`, o.maxPushbackMs, base.maxPushbackMs);
  }
  if (o.deadlineMs !== undefined) r.deadlineMs = time(p, 'deadlineMs', o.deadlineMs);
  if (o.attemptTimeoutMs !== undefined) {
    r.attemptTimeoutMs = time(p, 'attemptTimeoutMs', o.attemptTimeoutMs);
  }
  if (o.idempotent !== undefined) {
    r.idempotent =
      typeof o.idempotent === 'boolean'
        ? o.idempotent
        : v.boolean(`${p}idempotent`, o.idempotent, false);
  }
  if (o.hedge !== undefined) r.hedge = resolveHedge(o.hedge, `${p}hedge`, base.hedge);
  return r;
}

/** Validates the per-call-only options. */
export function checkExecuteOptions(options: ExecuteOptions<unknown>): void {
  const signal = options.signal as unknown;
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof (signal as AbortSignal).aborted !== 'boolean')
  ) {
    throw new DetourConfigError('signal', signal, 'must be an AbortSignal');
  }
  if (options.key !== undefined && typeof options.key !== 'string') {
    throw new DetourConfigError('key', options.key, 'must be a string');
  }
  if (options.classifier !== undefined && typeof options.classifier !== 'function') {
    throw new DetourConfigError('classifier', options.classifier, 'must be a function');
  }
}
