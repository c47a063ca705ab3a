/**
 * Pool options, their defaults and units, and their validation. Everything is checked when the
 * pool is created; a bad value throws `DetourConfigError` naming the option path and the value.
 */
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Detector } from './detector.js';
import { consecutiveFailures } from './detectors/consecutive-failures.js';
import { latencyOutlier } from './detectors/latency-outlier.js';
import { outlierDetection } from './detectors/outlier-detection.js';
import type { EndpointSource } from './discovery/endpoint-source.js';
import type { Endpoint, EndpointInit } from './endpoint.js';
import { normalizeEndpoints } from './endpoint.js';
import { DetourConfigError } from './errors.js';
import type { Random } from './random.js';
import { systemRandom } from './random.js';
import type { Selector } from './selector.js';
import type { SelectorName } from './selectors/by-name.js';
import { selectorFromName } from './selectors/by-name.js';
import { p2cPeakEwmaSelector } from './selectors/p2c-peak-ewma.js';
import * as v from './validate.js';
import type { CallPolicy, ResolvedPolicy } from './execute/call-options.js';
import { defaultPolicy, resolvePolicy } from './execute/call-options.js';
import type { RetryBudget } from './policies/retry-budget.js';
import { retryBudgetFromOptions } from './policies/retry-budget-by-name.js';
import type { MeterProvider } from '@opentelemetry/api';

export interface HealthOptions {
  /**
   * First ejection time in ms; the n-th consecutive ejection lasts n × this (gRFC A50's
   * multiplier), capped by `maxEjectionMs`. Default 5000 (Finagle's markDeadFor starts at 5 s;
   * A50's 30 s is long for fleets of two or three replicas).
   */
  readonly baseEjectionMs?: number;
  /** Longest ejection in ms. Default 60000 (Linkerd's failure-accrual maximum penalty). */
  readonly maxEjectionMs?: number;
  /** Random extra ejection time, in percent of the ejection time (0–100). Default 10. */
  readonly ejectionJitterPercent?: number;
  /**
   * Time in ms of sustained health after which the ejection multiplier drops by one (A50 drops
   * it once per 10 s sweep interval). Default 10000.
   */
  readonly ejectionDecayMs?: number;
  /**
   * Largest share of endpoints (percent) that timed ejections may take out; one endpoint may
   * always be ejected. Holds from active detectors (heartbeat, phi, metrics) are not capped.
   * Default 50.
   */
  readonly maxEjectedPercent?: number;
  /**
   * Panic mode: when the eligible share (percent) falls below this, or no endpoint is eligible,
   * every endpoint takes traffic again (Envoy's healthy_panic_threshold). Default 0: panic only
   * when none is eligible, because with two or three replicas Envoy's 50 % would send traffic
   * back to a dead replica as soon as one of two failed.
   */
  readonly panicThresholdPercent?: number;
  /**
   * Half-open: trial attempts an endpoint takes after an ejection; that many successes restore
   * it, one failure ejects it again. Default 3 (opossum and Polly use 1; resilience4j 10).
   */
  readonly trialCalls?: number;
}

export interface StatsOptions {
  /** Length of the sliding window of recent outcomes, ms. Default 10000. */
  readonly windowMs?: number;
  /** Buckets in that window. Default 10 (1 s each). */
  readonly windowBuckets?: number;
  /**
   * Decay time constant of the EWMA latencies, ms. Default 1000 (Linkerd, Finagle: 10000; with
   * few replicas and little in flight, 10 s starves an endpoint after one slow sample).
   */
  readonly latencyDecayMs?: number;
  /**
   * Decay time constant of the failure penalty added to an endpoint's latency estimate, ms.
   * Default 1000: a failing endpoint is avoided, yet tried again within a second or two so the
   * detectors see enough of its outcomes to eject it.
   */
  readonly failurePenaltyDecayMs?: number;
  /** Faults kept per endpoint. Default 16. */
  readonly faultLogSize?: number;
}

/** The pool's retry budget: a kind with its options, a `RetryBudget`, or false for none. */
export type RetryBudgetOption =
  | RetryBudget
  | false
  | {
      readonly kind: 'ratio';
      /** Retries and hedges as a percentage of first attempts in the window. Default 20. */
      readonly percent?: number;
      /** Retries per second always allowed. Default 10. */
      readonly minPerSecond?: number;
      /** Sliding window, ms (1000–60000). Default 10000. */
      readonly windowMs?: number;
    }
  | {
      readonly kind: 'token-bucket';
      /** gRFC A6 `maxTokens` (0–1000]. Default 10. */
      readonly maxTokens?: number;
      /** gRFC A6 `tokenRatio`. Default 0.1. */
      readonly tokenRatio?: number;
    };

export interface BulkheadOptions {
  /** Attempts in flight on the whole pool at most; more are rejected. Default Infinity. */
  readonly maxInflight?: number;
  /** Attempts in flight on one endpoint at most; a full endpoint is skipped. Default Infinity. */
  readonly maxInflightPerEndpoint?: number;
}

export interface MetricsOptions {
  /** The OpenTelemetry MeterProvider. Default: the global one (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider;
  /** Meter name. Default `@detour/core`. */
  readonly meterName?: string;
}

export interface PoolOptions {
  /** Initial endpoints (addresses or descriptions). Required, non-empty, unless `source` is given. */
  readonly endpoints?: readonly (EndpointInit | string)[];
  /** Where endpoint updates come from (DNS, etcd, file, or your own). */
  readonly source?: EndpointSource;
  /** How each attempt's endpoint is chosen. Default `p2c-peak-ewma`. */
  readonly selector?: Selector | SelectorName;
  /**
   * Fault detectors. Default: consecutive failures (5), outlier detection (failure percentage and
   * success rate, 1 s sweeps) and latency outliers (3 × the median).
   */
  readonly detectors?: readonly Detector[];
  readonly health?: HealthOptions;
  readonly stats?: StatsOptions;
  /** Defaults for every `execute()` call (each call may override them). */
  readonly call?: CallPolicy;
  /**
   * Retry budget shared by every call: `{ kind: 'ratio', percent: 20, minPerSecond: 10,
   * windowMs: 10000 }` (the default, Finagle's and Linkerd's), `{ kind: 'token-bucket',
   * maxTokens, tokenRatio }` (gRFC A6), a `RetryBudget`, or false for none.
   */
  readonly budget?: RetryBudgetOption;
  /** In-flight limits. Default none. */
  readonly bulkhead?: BulkheadOptions;
  /** OpenTelemetry metrics, or false. Default: the global MeterProvider (a no-op unless the app registers one). */
  readonly metrics?: MetricsOptions | false;
  /** Time source. Default: the runtime's monotonic clock with unref'd timers. */
  readonly clock?: Clock;
  /** Randomness. Default `Math.random`. */
  readonly random?: Random;
}

export interface HealthSettings {
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly ejectionJitterPercent: number;
  readonly ejectionDecayMs: number;
  readonly maxEjectedPercent: number;
  readonly panicThresholdPercent: number;
  readonly trialCalls: number;
}

export interface StatsSettings {
  readonly windowMs: number;
  readonly windowBuckets: number;
  readonly latencyDecayMs: number;
  readonly failurePenaltyDecayMs: number;
  readonly faultLogSize: number;
}

export interface PoolSettings {
  readonly call: ResolvedPolicy;
  readonly budget: RetryBudget | undefined;
  readonly maxInflight: number;
  readonly maxInflightPerEndpoint: number;
  readonly metrics: MetricsOptions | false;
  readonly endpoints: Endpoint[];
  readonly source: EndpointSource | undefined;
  readonly selector: Selector;
  readonly detectors: readonly Detector[];
  readonly health: HealthSettings;
  readonly stats: StatsSettings;
  readonly clock: Clock;
  readonly random: Random;
}

/** At most 30 detectors: holds are kept as bits of one number. */
export const maxDetectors = 30;

export function defaultDetectors(): Detector[] {
  return [consecutiveFailures(), outlierDetection(), latencyOutlier()];
}

/** Every key `createPool()` accepts (adapters that take pool options check against it). */
export const poolOptionKeys: readonly string[] = [
  'endpoints',
  'source',
  'selector',
  'detectors',
  'health',
  'stats',
  'call',
  'budget',
  'bulkhead',
  'metrics',
  'clock',
  'random',
];
const healthKeys = [
  'baseEjectionMs',
  'maxEjectionMs',
  'ejectionJitterPercent',
  'ejectionDecayMs',
  'maxEjectedPercent',
  'panicThresholdPercent',
  'trialCalls',
];
const statsKeys = [
  'windowMs',
  'windowBuckets',
  'latencyDecayMs',
  'failurePenaltyDecayMs',
  'faultLogSize',
];

export function resolvePoolOptions(options: PoolOptions): PoolSettings {
  v.knownKeys('', options, poolOptionKeys);
  const source = options.source;
  if (
    source !== undefined &&
    (typeof source !== 'object' || source === null || typeof source.subscribe !== 'function')
  ) {
    throw new DetourConfigError(
      'source',
      source,
      'must be an EndpointSource (an object with subscribe())',
    );
  }
  const endpoints =
    options.endpoints === undefined && source !== undefined
      ? []
      : normalizeEndpoints(options.endpoints, 'endpoints', source === undefined);

  let selector: Selector;
  if (options.selector === undefined) selector = p2cPeakEwmaSelector();
  else if (typeof options.selector === 'string')
    selector = selectorFromName(options.selector, 'selector');
  else if (
    typeof options.selector === 'object' &&
    options.selector !== null &&
    typeof options.selector.build === 'function'
  ) {
    selector = options.selector;
  } else {
    throw new DetourConfigError(
      'selector',
      options.selector,
      'must be a selector name or a Selector',
    );
  }

  let detectors: readonly Detector[];
  if (options.detectors === undefined) detectors = defaultDetectors();
  else {
    if (!Array.isArray(options.detectors)) {
      throw new DetourConfigError('detectors', options.detectors, 'must be an array of detectors');
    }
    if (options.detectors.length > maxDetectors) {
      throw new DetourConfigError(
        'detectors',
        options.detectors.length,
        `must hold at most ${maxDetectors} detectors`,
      );
    }
    options.detectors.forEach((d: unknown, i) => {
      const det = d as Partial<Detector> | null;
      if (
        typeof det !== 'object' ||
        det === null ||
        typeof det.attach !== 'function' ||
        typeof det.name !== 'string'
      ) {
        throw new DetourConfigError(`detectors[${i}]`, d, 'must be a Detector (name and attach())');
      }
    });
    detectors = options.detectors;
  }

  const h = options.health ?? {};
  v.knownKeys('health', h, healthKeys);
  const baseEjectionMs = v.positive('health.baseEjectionMs', h.baseEjectionMs, 5000);
  const maxEjectionMs = v.notBelow(
    'health.maxEjectionMs',
    v.positive('health.maxEjectionMs', h.maxEjectionMs, Math.max(60000, baseEjectionMs)),
    'health.baseEjectionMs',
    baseEjectionMs,
  );
  const health: HealthSettings = {
    baseEjectionMs,
    maxEjectionMs,
    ejectionJitterPercent: v.percent('health.ejectionJitterPercent', h.ejectionJitterPercent, 10),
    ejectionDecayMs: v.positive('health.ejectionDecayMs', h.ejectionDecayMs, 10000),
    maxEjectedPercent: v.percent('health.maxEjectedPercent', h.maxEjectedPercent, 50),
    panicThresholdPercent: v.percent('health.panicThresholdPercent', h.panicThresholdPercent, 0),
    trialCalls: v.integer('health.trialCalls', h.trialCalls, 3, 1, 1000),
  };

  const s = options.stats ?? {};
  v.knownKeys('stats', s, statsKeys);
  const stats: StatsSettings = {
    windowMs: v.positive('stats.windowMs', s.windowMs, 10000),
    windowBuckets: v.integer('stats.windowBuckets', s.windowBuckets, 10, 1, 1000),
    latencyDecayMs: v.positive('stats.latencyDecayMs', s.latencyDecayMs, 1000),
    failurePenaltyDecayMs: v.positive('stats.failurePenaltyDecayMs', s.failurePenaltyDecayMs, 1000),
    faultLogSize: v.integer('stats.faultLogSize', s.faultLogSize, 16, 0, 10000),
  };

  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function') {
    throw new DetourConfigError('clock', clock, 'must be a Clock (now() and setTimeout())');
  }
  const random = options.random ?? systemRandom;
  if (typeof random.next !== 'function')
    throw new DetourConfigError('random', random, 'must be a Random (next())');

  const call = resolvePolicy(options.call, 'call', defaultPolicy);
  const budget = retryBudgetFromOptions(options.budget, 'budget');
  const b = options.bulkhead ?? {};
  v.knownKeys('bulkhead', b, ['maxInflight', 'maxInflightPerEndpoint']);
  const maxInflight =
    b.maxInflight === undefined ? Infinity : v.integer('bulkhead.maxInflight', b.maxInflight, 0, 1);
  const maxInflightPerEndpoint =
    b.maxInflightPerEndpoint === undefined
      ? Infinity
      : v.integer('bulkhead.maxInflightPerEndpoint', b.maxInflightPerEndpoint, 0, 1);
  const metrics = options.metrics ?? {};
  if (metrics !== false) {
    v.knownKeys('metrics', metrics, ['meterProvider', 'meterName']);
    if (metrics.meterName !== undefined) v.nonEmptyString('metrics.meterName', metrics.meterName);
  }

  return {
    endpoints,
    source,
    selector,
    detectors,
    health,
    stats,
    clock,
    random,
    call,
    budget,
    maxInflight,
    maxInflightPerEndpoint,
    metrics,
  };
}
