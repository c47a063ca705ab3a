/**
 * OpenTelemetry metrics for a pool: the default `Instrumentation`. Counters and histograms are
 * recorded by `execute()` through the `Instrumentation` methods; endpoint states and in-flight
 * counts are read from the pool only when a metric reader collects, so they cost nothing between
 * collections. Instrument names, units and attributes: `README.metrics.md`.
 *
 * Uses only `@opentelemetry/api` (a peer dependency, so the application's SDK and this library
 * share one global API): https://opentelemetry.io/docs/specs/otel/metrics/api/
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  ObservableGauge,
  ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { Endpoint } from './endpoint.js';
import { DetourConfigError } from './errors.js';
import type { EndpointRecord, HealthStatus } from './health/endpoint-record.js';
import type { AttemptKind, Instrumentation } from './instrumentation.js';
import { noopInstrumentation } from './instrumentation.js';
import type { Outcome, OutcomeKind } from './outcome.js';
import type { MetricsOptions } from './pool-options.js';
import type { Pool } from './pool.js';
import * as v from './validate.js';

/** Attribute keys. `detour.endpoint` is a namespace, so the endpoint's id is `detour.endpoint.id`. */
export const metricAttributes = {
  endpointId: 'detour.endpoint.id',
  endpointGroup: 'detour.endpoint.group',
  endpointState: 'detour.endpoint.state',
  attemptKind: 'detour.attempt.kind',
  outcome: 'detour.outcome',
  detector: 'detour.detector',
} as const;

/** An attempt's outcome as a metric attribute: an `OutcomeKind`, or `cancelled` when none was counted. */
export type AttemptOutcome = OutcomeKind | 'cancelled';

const A = metricAttributes;
const defaultMeterName = '@detour/core';

/**
 * Bucket boundaries for `detour.call.attempts`: the SDK's default boundaries (0, 5, 10, 25…) are
 * made for milliseconds and would put nearly every call in one bucket.
 */
const attemptCountBuckets = [1, 2, 3, 4, 5, 6, 8, 10, 16];

/** Attribute objects of one endpoint, each built on first use and then reused. */
interface EndpointAttributes {
  /** The endpoint they were built from: a discovery update can replace it (a new group). */
  readonly endpoint: Endpoint;
  readonly base: Attributes;
  readonly byKind: Record<AttemptKind, Attributes | undefined>;
  readonly byOutcome: Record<AttemptOutcome, Attributes | undefined>;
  /** Built with the entry: every collection reports all four. */
  readonly byState: Readonly<Record<HealthStatus, Attributes>>;
}

const healthStatuses: readonly HealthStatus[] = ['healthy', 'ejected', 'probing', 'draining'];

function withState(base: Attributes, status: HealthStatus): Attributes {
  return Object.freeze({ ...base, [A.endpointState]: status });
}

/**
 * Records a pool's metrics with OpenTelemetry and returns them as the `Instrumentation` that
 * `execute()` reports to (the pool makes its own from its `metrics` option). Returns
 * `noopInstrumentation`, subscribing to nothing, when the meter is OpenTelemetry's no-op meter
 * (no SDK registered): an application without metrics pays nothing. Call `close()` to stop
 * observing the pool.
 *
 * `options.meterProvider` defaults to the global provider, read once, here: the metrics API has
 * no proxy provider (unlike tracing), so an SDK registered afterwards is not seen. Register it
 * before creating the pool. `options.meterName` (the instrumentation scope) defaults to
 * `'@detour/core'`.
 *
 * The recording methods allocate nothing: each endpoint's attribute objects are built once and
 * cached with its record.
 */
export function createMetrics(pool: Pool, options?: MetricsOptions): Instrumentation {
  v.knownKeys('metrics', options, ['meterProvider', 'meterName']);
  const provider = options?.meterProvider ?? metrics.getMeterProvider();
  if (typeof (provider as Partial<MeterProvider> | null)?.getMeter !== 'function') {
    throw new DetourConfigError('metrics.meterProvider', provider, 'must be a MeterProvider');
  }
  const name =
    options?.meterName === undefined
      ? defaultMeterName
      : v.nonEmptyString('metrics.meterName', options.meterName);
  const meter = provider.getMeter(name);
  if (isNoopMeter(meter)) return noopInstrumentation;
  return new PoolMetrics(pool, meter);
}

/**
 * True for the API's no-op meter: what the global provider gives while no SDK is registered (and
 * what an SDK provider gives after shutdown). The API exports no class to test against, but
 * `createNoopMeter()` returns its one shared instance.
 */
function isNoopMeter(meter: Meter): boolean {
  return meter === createNoopMeter();
}

class PoolMetrics implements Instrumentation {
  readonly #pool: Pool;
  readonly #meter: Meter;
  readonly #cache = new WeakMap<EndpointRecord, EndpointAttributes>();
  /** Ids of draining endpoints: `pool.members()` leaves them out, the state gauge does not. */
  readonly #draining = new Set<string>();
  /** Endpoints whose state and in-flight series the last collection reported, and this one's. */
  #observedLast = new Set<EndpointAttributes>();
  #observedNow = new Set<EndpointAttributes>();
  readonly #unsubscribe: (() => void)[] = [];
  #closed = false;

  readonly #attempts: Counter;
  readonly #budgetRefusals: Counter;
  readonly #ejections: Counter;
  readonly #attemptDuration: Histogram;
  readonly #callDuration: Histogram;
  readonly #callAttempts: Histogram;
  readonly #state: ObservableGauge;
  readonly #inflight: ObservableUpDownCounter;
  readonly #observables: (ObservableGauge | ObservableUpDownCounter)[];
  readonly #observe: BatchObservableCallback;

  readonly #refusedRetry: Attributes = Object.freeze({ [A.attemptKind]: 'retry' });
  readonly #refusedHedge: Attributes = Object.freeze({ [A.attemptKind]: 'hedge' });
  readonly #callSuccess: Attributes = Object.freeze({ [A.outcome]: 'success' });
  readonly #callFailure: Attributes = Object.freeze({ [A.outcome]: 'failure' });

  constructor(pool: Pool, meter: Meter) {
    this.#pool = pool;
    this.#meter = meter;
    this.#attempts = meter.createCounter('detour.attempts', {
      description: 'Attempts sent, by endpoint and kind (first, retry, hedge).',
      unit: '{attempt}',
    });
    this.#budgetRefusals = meter.createCounter('detour.budget.refusals', {
      description: 'Retries and hedges the retry budget refused.',
      unit: '{attempt}',
    });
    this.#ejections = meter.createCounter('detour.ejections', {
      description: 'Endpoint ejections, by endpoint and detector.',
      unit: '{ejection}',
    });
    this.#attemptDuration = meter.createHistogram('detour.attempt.duration', {
      description: 'Duration of attempts, by endpoint and outcome.',
      unit: 'ms',
    });
    this.#callDuration = meter.createHistogram('detour.call.duration', {
      description: 'Duration of calls, all attempts and waits included, by outcome.',
      unit: 'ms',
    });
    this.#callAttempts = meter.createHistogram('detour.call.attempts', {
      description: 'Attempts sent per call, by outcome.',
      unit: '{attempt}',
      advice: { explicitBucketBoundaries: attemptCountBuckets },
    });
    this.#state = meter.createObservableGauge('detour.endpoint.state', {
      description:
        'Health state of each endpoint: 1 for its current state, 0 for the others (healthy, ejected, probing, draining).',
      // A count of endpoints, as semconv's state metrics (k8s.container.status.state) do; unit
      // '1' would become a `_ratio` suffix in Prometheus.
      unit: '{endpoint}',
    });
    this.#inflight = meter.createObservableUpDownCounter('detour.endpoint.inflight', {
      description: 'Attempts in flight, by endpoint.',
      unit: '{attempt}',
    });
    this.#observables = [this.#state, this.#inflight];
    this.#observe = (result) => {
      const observed = this.#observedNow;
      if (!this.#pool.closed) {
        for (const record of this.#pool.members()) this.#observeRecord(result, record, observed);
        for (const id of this.#draining) {
          const record = this.#pool.get(id);
          if (record?.status === 'draining') this.#observeRecord(result, record, observed);
          else this.#draining.delete(id);
        }
      }
      // Series observed last time and not now (endpoint removed, group changed, pool closed):
      // report them as 0 once. The JS SDK keeps exporting an unobserved series at its last value
      // under cumulative temporality (open-telemetry/opentelemetry-js#4096); a spec-following SDK
      // drops it after this zero.
      for (const entry of this.#observedLast) {
        if (observed.has(entry)) continue;
        for (const status of healthStatuses) result.observe(this.#state, 0, entry.byState[status]);
        result.observe(this.#inflight, 0, entry.base);
      }
      this.#observedLast.clear();
      this.#observedNow = this.#observedLast;
      this.#observedLast = observed;
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables);

    this.#unsubscribe.push(
      pool.on('ejected', (e) => {
        // Rare: an attribute object per ejection is not worth a cache.
        this.#ejections.add(1, {
          [A.endpointId]: e.endpoint.id,
          [A.endpointGroup]: e.endpoint.group,
          [A.detector]: e.detector,
        });
      }),
      pool.on('state-change', (e) => {
        if (e.to === 'draining') this.#draining.add(e.endpoint.id);
        else if (e.from === 'draining') this.#draining.delete(e.endpoint.id);
      }),
      pool.on('endpoint-removed', (e) => {
        this.#draining.delete(e.endpoint.id);
      }),
    );
  }

  attemptStarted(record: EndpointRecord, kind: AttemptKind): void {
    this.#attempts.add(1, this.#kindAttributes(record, kind));
  }

  attemptEnded(
    record: EndpointRecord,
    _kind: AttemptKind,
    outcome: Outcome | undefined,
    latencyMs: number,
  ): void {
    this.#attemptDuration.record(latencyMs, this.#outcomeAttributes(record, outcome));
  }

  budgetRefused(kind: 'retry' | 'hedge'): void {
    this.#budgetRefusals.add(1, kind === 'retry' ? this.#refusedRetry : this.#refusedHedge);
  }

  callEnded(success: boolean, attempts: number, latencyMs: number): void {
    const attributes = success ? this.#callSuccess : this.#callFailure;
    this.#callDuration.record(latencyMs, attributes);
    this.#callAttempts.record(attempts, attributes);
  }

  /** Removes the observable callback and the pool listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe.length = 0;
    this.#draining.clear();
  }

  // --- attribute cache ---

  #for(record: EndpointRecord): EndpointAttributes {
    const cached = this.#cache.get(record);
    if (cached && cached.endpoint === record.endpoint) return cached;
    const endpoint = record.endpoint;
    const base = Object.freeze({ [A.endpointId]: endpoint.id, [A.endpointGroup]: endpoint.group });
    const entry: EndpointAttributes = {
      endpoint,
      base,
      byKind: { first: undefined, retry: undefined, hedge: undefined },
      byOutcome: {
        success: undefined,
        error: undefined,
        timeout: undefined,
        rejected: undefined,
        cancelled: undefined,
      },
      byState: {
        healthy: withState(base, 'healthy'),
        ejected: withState(base, 'ejected'),
        probing: withState(base, 'probing'),
        draining: withState(base, 'draining'),
      },
    };
    this.#cache.set(record, entry);
    return entry;
  }

  #kindAttributes(record: EndpointRecord, kind: AttemptKind): Attributes {
    const entry = this.#for(record);
    return (entry.byKind[kind] ??= Object.freeze({ ...entry.base, [A.attemptKind]: kind }));
  }

  #outcomeAttributes(record: EndpointRecord, outcome: Outcome | undefined): Attributes {
    const entry = this.#for(record);
    const kind: AttemptOutcome = outcome ? outcome.kind : 'cancelled';
    return (entry.byOutcome[kind] ??= Object.freeze({ ...entry.base, [A.outcome]: kind }));
  }

  /**
   * Reports the endpoint's state as a state set (1 for its status, 0 for the three others, as
   * OpenMetrics' StateSet does), so that a state it left never lingers at 1 in a cumulative
   * export, and its in-flight attempts.
   */
  #observeRecord(
    result: BatchObservableResult,
    record: EndpointRecord,
    observed: Set<EndpointAttributes>,
  ): void {
    const entry = this.#for(record);
    const status = record.status;
    for (const s of healthStatuses)
      result.observe(this.#state, s === status ? 1 : 0, entry.byState[s]);
    result.observe(this.#inflight, record.inflight, entry.base);
    observed.add(entry);
  }
}
