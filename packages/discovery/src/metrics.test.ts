import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import { constantBackoff } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { describe, expect, it } from 'vitest';
import { discoveryAttributes } from './metrics.js';
import { PollingSource, resolvePollingOptions, resolveSourceOptions } from './source.js';
import type { Resolution } from './source.js';

/** A reader that collects when the test asks, never on a timer. */
class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** A source whose registry answers from a queue the test fills. */
class QueueSource extends PollingSource {
  readonly answers: (Resolution | Error)[] = [];

  constructor(clock: ManualClock, meterProvider: MeterProvider) {
    super(
      resolveSourceOptions(
        {
          clock,
          name: 'queue',
          metrics: { meterProvider },
          backoff: constantBackoff({ delayMs: 60_000 }),
        },
        'queue',
      ),
      resolvePollingOptions({}, { intervalMs: 1_000, minIntervalMs: 0, maxIntervalMs: 1_000 }),
    );
  }

  protected resolve(): Promise<Resolution> {
    const next = this.answers.shift() ?? new Error('no answer queued');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  }
}

describe('discovery metrics', () => {
  it('counts answers, updates, errors and skipped records, and observes endpoints, health and staleness', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const clock = new ManualClock();
    const source = new QueueSource(clock, meterProvider);
    source.answers.push(
      { endpoints: [{ address: 'a:1' }, { address: 'b:1' }], ttlMs: 1_000 },
      { endpoints: [{ address: 'a:1' }, { address: '' }], ttlMs: 1_000 },
      new Error('down'),
    );
    const stop = source.subscribe({ next: () => {} });
    await source.ready();
    clock.advance(1_000);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(2_500);

    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === '@detour/discovery');
    const value = (name: string): unknown => {
      const points: DataPoint<unknown>[] =
        scope?.metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
      expect(points, name).toHaveLength(1);
      expect(points[0]!.attributes).toEqual({ [discoveryAttributes.source]: 'queue' });
      return points[0]!.value;
    };
    expect(value('detour.discovery.answers')).toBe(2);
    expect(value('detour.discovery.updates')).toBe(2);
    expect(value('detour.discovery.errors')).toBe(1);
    expect(value('detour.discovery.skipped_records')).toBe(1);
    expect(value('detour.discovery.endpoints')).toBe(1);
    expect(value('detour.discovery.healthy')).toBe(0);
    // The last good answer came at 1 s; now is 4.5 s.
    expect(value('detour.discovery.staleness')).toBe(3.5);

    stop();
    source.close();
    clock.advance(10_000);
    const after = await reader.collect();
    const staleness = after.resourceMetrics.scopeMetrics
      .find((s) => s.scope.name === '@detour/discovery')
      ?.metrics.find((m) => m.descriptor.name === 'detour.discovery.staleness');
    // The gauges' callback is gone: no new observation (a live one would say 13.5 s).
    expect(staleness?.dataPoints.map((p) => p.value) ?? []).not.toContain(13.5);
    await meterProvider.shutdown();
  });
});
