/**
 * OpenTelemetry metrics of a discovery source, through `@opentelemetry/api` (a peer dependency,
 * as in `@detour/core`). Every instrument carries `detour.discovery.source` (the source's name).
 *
 * | instrument                          | kind          | unit | what                                         |
 * | ----------------------------------- | ------------- | ---- | -------------------------------------------- |
 * | `detour.discovery.answers`          | counter       | 1    | good answers from the registry               |
 * | `detour.discovery.updates`          | counter       | 1    | changed endpoint lists delivered             |
 * | `detour.discovery.errors`           | counter       | 1    | failures to ask or watch the registry        |
 * | `detour.discovery.skipped_records`  | counter       | 1    | malformed or unusable records left out       |
 * | `detour.discovery.endpoints`        | gauge         | 1    | endpoints the source holds                   |
 * | `detour.discovery.healthy`          | gauge         | 1    | 1 while the last ask or watch succeeded, else 0 |
 * | `detour.discovery.staleness`        | gauge         | s    | time since the last good answer              |
 */
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Meter,
  MeterProvider,
  ObservableGauge,
} from '@opentelemetry/api';
import type { Clock } from '@detour/core';
import { DetourConfigError, validate as v } from '@detour/core';
import type { SourceHealth } from './source.js';

export interface SourceMetricsOptions {
  /** The OpenTelemetry MeterProvider. Default: the global one, read when the source starts. */
  readonly meterProvider?: MeterProvider;
  /** Meter name. Default `@detour/discovery`. */
  readonly meterName?: string;
}

/** The attribute naming the source. */
export const discoveryAttributes = { source: 'detour.discovery.source' } as const;

export interface SourceMetrics {
  answered(endpoints: number): void;
  updated(): void;
  failed(): void;
  skipped(): void;
  close(): void;
}

interface ObservedSource {
  readonly name: string;
  health(): SourceHealth;
}

const noop: SourceMetrics = {
  answered: () => {},
  updated: () => {},
  failed: () => {},
  skipped: () => {},
  close: () => {},
};

/** Checks metrics options at construction time. */
export function checkMetricsOptions(options: SourceMetricsOptions | false): void {
  if (options === false) return;
  v.knownKeys('metrics', options, ['meterProvider', 'meterName']);
  const provider = options.meterProvider;
  if (
    provider !== undefined &&
    typeof (provider as Partial<MeterProvider> | null)?.getMeter !== 'function'
  ) {
    throw new DetourConfigError('metrics.meterProvider', provider, 'must be a MeterProvider');
  }
  if (options.meterName !== undefined) v.nonEmptyString('metrics.meterName', options.meterName);
}

/** Instruments for one source; nothing at all without an SDK (OpenTelemetry's no-op meter). */
export function createSourceMetrics(
  source: ObservedSource,
  options: SourceMetricsOptions,
  clock: Clock,
): SourceMetrics {
  const provider = options.meterProvider ?? metrics.getMeterProvider();
  const meter = provider.getMeter(options.meterName ?? '@detour/discovery');
  if (meter === createNoopMeter()) return noop;
  return new Instruments(source, meter, clock);
}

class Instruments implements SourceMetrics {
  readonly #source: ObservedSource;
  readonly #meter: Meter;
  readonly #attributes: Attributes;
  readonly #answers: Counter;
  readonly #updates: Counter;
  readonly #errors: Counter;
  readonly #skipped: Counter;
  readonly #gauges: ObservableGauge[];
  readonly #observe: BatchObservableCallback;

  constructor(source: ObservedSource, meter: Meter, clock: Clock) {
    this.#source = source;
    this.#meter = meter;
    this.#attributes = Object.freeze({ [discoveryAttributes.source]: source.name });
    this.#answers = meter.createCounter('detour.discovery.answers', {
      description: 'Good answers from the registry',
      unit: '1',
    });
    this.#updates = meter.createCounter('detour.discovery.updates', {
      description: 'Changed endpoint lists delivered to subscribers',
      unit: '1',
    });
    this.#errors = meter.createCounter('detour.discovery.errors', {
      description: 'Failures to ask or watch the registry',
      unit: '1',
    });
    this.#skipped = meter.createCounter('detour.discovery.skipped_records', {
      description: 'Malformed or unusable registry records left out',
      unit: '1',
    });
    const endpoints = meter.createObservableGauge('detour.discovery.endpoints', {
      description: 'Endpoints the source holds (its last good answer)',
      unit: '1',
    });
    const healthy = meter.createObservableGauge('detour.discovery.healthy', {
      description: '1 while the last ask or watch of the registry succeeded, else 0',
      unit: '1',
    });
    const staleness = meter.createObservableGauge('detour.discovery.staleness', {
      description: 'Time since the last good answer from the registry',
      unit: 's',
    });
    this.#gauges = [endpoints, healthy, staleness];
    this.#observe = (result) => {
      const health = this.#source.health();
      result.observe(endpoints, health.endpoints, this.#attributes);
      result.observe(healthy, health.state === 'healthy' ? 1 : 0, this.#attributes);
      if (health.lastSuccessAt !== undefined) {
        const now = clock.now();
        result.observe(staleness, Math.max(0, now - health.lastSuccessAt) / 1000, this.#attributes);
      }
    };
    meter.addBatchObservableCallback(this.#observe, this.#gauges);
  }

  answered(): void {
    this.#answers.add(1, this.#attributes);
  }

  updated(): void {
    this.#updates.add(1, this.#attributes);
  }

  failed(): void {
    this.#errors.add(1, this.#attributes);
  }

  skipped(): void {
    this.#skipped.add(1, this.#attributes);
  }

  close(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#gauges);
  }
}
