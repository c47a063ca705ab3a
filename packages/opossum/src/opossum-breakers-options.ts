/**
 * Options of `opossumBreakers()`: their defaults, units and reasons, and their validation
 * (`DetourConfigError` when the detector is made).
 */
import type { Endpoint } from '@detour/core';
import { DetourConfigError } from '@detour/core';
import * as v from './validate.js';

/**
 * The opossum `CircuitBreaker` kept for one endpoint, fired with each outcome of that endpoint.
 * Typed here by the members detour relies on, so these declarations need no `@types/opossum`;
 * with it installed, `breaker as unknown as CircuitBreaker` gives opossum's full type (e.g. for
 * opossum-prometheus). Do not fire it or change its state yourself: the detector does.
 */
export interface EndpointBreaker {
  /** The endpoint's id. */
  readonly name: string;
  readonly closed: boolean;
  readonly opened: boolean;
  readonly halfOpen: boolean;
  readonly isShutdown: boolean;
  /** Totals over the rolling window. */
  readonly stats: {
    readonly fires: number;
    readonly successes: number;
    readonly failures: number;
    readonly rejects: number;
  };
  /** opossum's events: `open`, `halfOpen`, `close`, `fire`, `success`, `failure`, `shutdown`… */
  on(event: string, listener: (...args: never[]) => void): unknown;
}

export interface OpossumBreakersOptions {
  /**
   * opossum opens an endpoint's breaker when more than this share of the fires in its window
   * failed (strictly greater). Percentage 0–100. Default 50, opossum's default.
   */
  readonly errorThresholdPercentage?: number;
  /**
   * Fires (outcomes) the window must hold before the breaker may open. Integer ≥ 0. Default 5,
   * not opossum's 0: with 0 a single failure of an endpoint that had no other call in the
   * window opens it (opossum #217, #288, #481); 5 matches `consecutiveFailures`' threshold.
   */
  readonly volumeThreshold?: number;
  /** Length of the rolling window, in ms. Integer ≥ 1. Default 10000, opossum's default. */
  readonly rollingCountTimeout?: number;
  /** Buckets in the window; the window rotates every `rollingCountTimeout / rollingCountBuckets` ms. Integer ≥ 1. Default 10, opossum's. */
  readonly rollingCountBuckets?: number;
  /**
   * How long a breaker stays open before it goes half-open and the endpoint starts probing, in
   * ms. Default 5000 (the pool's `baseEjectionMs`), not opossum's 30000: with three replicas,
   * 30 s without one of them is long. At most 2^31 − 1 (Node's timer limit).
   */
  readonly resetTimeout?: number;
  /**
   * `true` (default): make an endpoint's breaker at its first failure, seeded from the pool's
   * statistics window, and shut it down when it is closed with no failure left in its window.
   * `false`: one breaker per endpoint from the start, as long as the endpoint is in the pool.
   */
  readonly lazy?: boolean;
  /**
   * Most breakers that exist at once. Integer ≥ 1, or `Infinity`. Default 1000 (≈ 6.5 MB).
   * When a failing endpoint needs a breaker and the cap is reached, the oldest closed breaker
   * is shut down to make room (lazy mode; it is re-made, seeded, if its endpoint fails again);
   * if every breaker is open or half-open, or `lazy` is false, the endpoint goes without one
   * and only the pool's other detectors watch it.
   */
  readonly maxBreakers?: number;
  /**
   * `true` (default): the breakers share one rotation timer through opossum's
   * `rotateBucketController`. `false`: each breaker has its own `setInterval` (opossum's
   * default); only useful to compare costs.
   */
  readonly sharedRotation?: boolean;
  /** opossum's `enableSnapshots`: a `snapshot` event per bucket (one more timer per breaker). Default false. */
  readonly enableSnapshots?: boolean;
  /**
   * Called with each breaker when it is made (e.g. to add it to opossum-prometheus or listen to
   * its events). Breakers are shut down when their endpoint leaves, when the detector closes
   * and, in lazy mode, when idle; opossum emits `shutdown` then.
   */
  readonly onBreaker?: (breaker: EndpointBreaker, endpoint: Endpoint) => void;
}

export interface Settings {
  readonly errorThresholdPercentage: number;
  readonly volumeThreshold: number;
  readonly rollingCountTimeout: number;
  readonly rollingCountBuckets: number;
  readonly resetTimeout: number;
  readonly lazy: boolean;
  readonly maxBreakers: number;
  readonly sharedRotation: boolean;
  readonly enableSnapshots: boolean;
  readonly onBreaker: ((breaker: EndpointBreaker, endpoint: Endpoint) => void) | undefined;
}

const optionKeys = [
  'errorThresholdPercentage',
  'volumeThreshold',
  'rollingCountTimeout',
  'rollingCountBuckets',
  'resetTimeout',
  'lazy',
  'maxBreakers',
  'sharedRotation',
  'enableSnapshots',
  'onBreaker',
];

export function resolveOptions(options: OpossumBreakersOptions): Settings {
  const o = 'opossumBreakers';
  v.knownKeys(o, options, optionKeys);
  const rollingCountTimeout = v.integer(
    `${o}.rollingCountTimeout`,
    options.rollingCountTimeout,
    10_000,
    1,
    v.maxTimerMs,
  );
  const rollingCountBuckets = v.integer(
    `${o}.rollingCountBuckets`,
    options.rollingCountBuckets,
    10,
    1,
  );
  if (rollingCountTimeout < rollingCountBuckets) {
    throw new DetourConfigError(
      `${o}.rollingCountBuckets`,
      rollingCountBuckets,
      `must be <= rollingCountTimeout (${rollingCountTimeout}): a bucket lasts at least 1 ms`,
    );
  }
  const maxBreakers = options.maxBreakers;
  if (
    maxBreakers !== undefined &&
    maxBreakers !== Infinity &&
    !(Number.isSafeInteger(maxBreakers) && maxBreakers >= 1)
  ) {
    throw new DetourConfigError(
      `${o}.maxBreakers`,
      maxBreakers,
      'must be an integer >= 1 or Infinity',
    );
  }
  return {
    errorThresholdPercentage: v.percent(
      `${o}.errorThresholdPercentage`,
      options.errorThresholdPercentage,
      50,
    ),
    volumeThreshold: v.integer(`${o}.volumeThreshold`, options.volumeThreshold, 5, 0),
    rollingCountTimeout,
    rollingCountBuckets,
    resetTimeout: v.integer(`${o}.resetTimeout`, options.resetTimeout, 5000, 1, v.maxTimerMs),
    lazy: v.boolean(`${o}.lazy`, options.lazy, true),
    maxBreakers: maxBreakers ?? 1000,
    sharedRotation: v.boolean(`${o}.sharedRotation`, options.sharedRotation, true),
    enableSnapshots: v.boolean(`${o}.enableSnapshots`, options.enableSnapshots, false),
    onBreaker: v.optionalFunction(`${o}.onBreaker`, options.onBreaker),
  };
}
