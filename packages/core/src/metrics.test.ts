import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, Meter, MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DetourConfigError } from './errors.js';
import { noopInstrumentation } from './instrumentation.js';
import type { Instrumentation } from './instrumentation.js';
import { createMetrics } from './metrics.js';
import type { Outcome } from './outcome.js';
import { createPool } from './pool.js';
import type { Pool } from './pool.js';
import { ManualClock } from './testing/manual-clock.js';
import { manualDetector } from './testing/manual-detector.js';
import { seededRandom } from './testing/seeded-random.js';

/** A reader that collects when the test asks, never on a timer. */
class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const ok: Outcome = { kind: 'success', latencyMs: 12 };
const failed: Outcome = { kind: 'error', latencyMs: 30, code: 'UNAVAILABLE' };
const timedOut: Outcome = { kind: 'timeout', latencyMs: 100 };

function setup() {
  const clock = new ManualClock();
  const manual = manualDetector();
  const pool = createPool({
    endpoints: ['a:1', 'b:1'],
    clock,
    random: seededRandom(1),
    detectors: [manual],
    selector: 'round-robin',
    health: { ejectionJitterPercent: 0 },
    metrics: false, // the pool's own: these tests make theirs
  });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation = createMetrics(pool, { meterProvider });
  const a = pool.get('a:1')!;
  const b = pool.get('b:1')!;

  /** Data points of the instrument `name` in this collection (empty if it reported none). */
  async function collect(): Promise<(name: string) => DataPoint<unknown>[]> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === '@detour/core');
    return (name) => scope?.metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
  }
  return { clock, manual, pool, a, b, instrumentation, meterProvider, collect };
}

/** `points` as `[attributes, value]` pairs, in a stable order. */
function values(points: DataPoint<unknown>[]): [Attributes, unknown][] {
  return points
    .map((p): [Attributes, unknown] => [p.attributes, p.value])
    .sort((x, y) => JSON.stringify(x[0]).localeCompare(JSON.stringify(y[0])));
}

/**
 * The state gauge as `endpoint id -> state`: the one state at 1, checking that the three others
 * are reported at 0. An endpoint whose series are all 0 (it left) maps to `'gone'`.
 */
function states(points: DataPoint<unknown>[]): Record<string, string> {
  const byEndpoint: Record<string, DataPoint<unknown>[]> = {};
  for (const p of points) (byEndpoint[String(p.attributes['detour.endpoint.id'])] ??= []).push(p);
  const result: Record<string, string> = {};
  for (const [id, series] of Object.entries(byEndpoint)) {
    expect(series.map((p) => p.attributes['detour.endpoint.state']).sort()).toEqual([
      'draining',
      'ejected',
      'healthy',
      'probing',
    ]);
    const current = series.filter((p) => p.value === 1);
    expect(current.length, id).toBeLessThanOrEqual(1);
    expect(series.filter((p) => p.value !== 0 && p.value !== 1)).toEqual([]);
    result[id] = current[0] ? String(current[0].attributes['detour.endpoint.state']) : 'gone';
  }
  return result;
}

function histogram(points: DataPoint<unknown>[], attributes: Attributes): Histogram {
  const point = points.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes));
  expect(point, JSON.stringify(attributes)).toBeDefined();
  return point!.value as Histogram;
}

/** A meter that does nothing except what `overrides` do, and is not the API's no-op meter. */
function fakeMeter(overrides: Partial<Meter>): Meter {
  return Object.assign(Object.create(createNoopMeter()) as Meter, overrides);
}

const endpointA = { 'detour.endpoint.id': 'a:1', 'detour.endpoint.group': 'p0' };
const endpointB = { 'detour.endpoint.id': 'b:1', 'detour.endpoint.group': 'p0' };

describe('createMetrics', () => {
  afterEach(() => {
    metrics.disable();
  });

  it('counts attempts by endpoint and kind', async () => {
    const { a, b, instrumentation, collect } = setup();
    instrumentation.attemptStarted(a, 'first');
    instrumentation.attemptStarted(a, 'first');
    instrumentation.attemptStarted(b, 'retry');
    instrumentation.attemptStarted(a, 'hedge');
    const points = (await collect())('detour.attempts');
    expect(values(points)).toEqual([
      [{ ...endpointA, 'detour.attempt.kind': 'first' }, 2],
      [{ ...endpointA, 'detour.attempt.kind': 'hedge' }, 1],
      [{ ...endpointB, 'detour.attempt.kind': 'retry' }, 1],
    ]);
  });

  it('records attempt durations by endpoint and outcome, cancelled included', async () => {
    const { a, b, instrumentation, collect } = setup();
    instrumentation.attemptEnded(a, 'first', ok, 12);
    instrumentation.attemptEnded(a, 'retry', ok, 8);
    instrumentation.attemptEnded(b, 'first', failed, 30);
    instrumentation.attemptEnded(b, 'hedge', timedOut, 100);
    instrumentation.attemptEnded(a, 'hedge', undefined, 4);
    const points = (await collect())('detour.attempt.duration');
    expect(points).toHaveLength(4);
    const success = histogram(points, { ...endpointA, 'detour.outcome': 'success' });
    expect([success.count, success.sum, success.min, success.max]).toEqual([2, 20, 8, 12]);
    expect(histogram(points, { ...endpointB, 'detour.outcome': 'error' }).sum).toBe(30);
    expect(histogram(points, { ...endpointB, 'detour.outcome': 'timeout' }).count).toBe(1);
    expect(histogram(points, { ...endpointA, 'detour.outcome': 'cancelled' }).sum).toBe(4);
  });

  it('counts budget refusals by kind', async () => {
    const { instrumentation, collect } = setup();
    instrumentation.budgetRefused('retry');
    instrumentation.budgetRefused('retry');
    instrumentation.budgetRefused('hedge');
    expect(values((await collect())('detour.budget.refusals'))).toEqual([
      [{ 'detour.attempt.kind': 'hedge' }, 1],
      [{ 'detour.attempt.kind': 'retry' }, 2],
    ]);
  });

  it('records call durations and attempts per call by outcome', async () => {
    const { instrumentation, collect } = setup();
    instrumentation.callEnded(true, 1, 20);
    instrumentation.callEnded(true, 2, 45);
    instrumentation.callEnded(false, 3, 300);
    const read = await collect();
    const duration = read('detour.call.duration');
    const success = histogram(duration, { 'detour.outcome': 'success' });
    expect([success.count, success.sum]).toEqual([2, 65]);
    expect(histogram(duration, { 'detour.outcome': 'failure' }).sum).toBe(300);

    const attempts = read('detour.call.attempts');
    const ok = histogram(attempts, { 'detour.outcome': 'success' });
    expect([ok.count, ok.sum]).toEqual([2, 3]);
    // Buckets sized for attempt counts, not the SDK's millisecond defaults.
    expect(ok.buckets.boundaries).toEqual([1, 2, 3, 4, 5, 6, 8, 10, 16]);
    expect(ok.buckets.counts.slice(0, 3)).toEqual([1, 1, 0]);
    expect(histogram(attempts, { 'detour.outcome': 'failure' }).buckets.counts[2]).toBe(1);
  });

  it('counts ejections by endpoint and detector, and reports each endpoint state', async () => {
    const { clock, manual, instrumentation, collect } = setup();
    expect(instrumentation).not.toBe(noopInstrumentation);
    let read = await collect();
    expect(read('detour.ejections')).toEqual([]);
    expect(states(read('detour.endpoint.state'))).toEqual({ 'a:1': 'healthy', 'b:1': 'healthy' });
    expect(read('detour.endpoint.state')[0]!.attributes).toEqual({
      ...endpointA,
      'detour.endpoint.state': 'healthy',
    });

    expect(manual.eject('a:1')).toBe(true);
    read = await collect();
    expect(values(read('detour.ejections'))).toEqual([
      [{ ...endpointA, 'detour.detector': 'manual' }, 1],
    ]);
    // A state set: the state a left (healthy) is now 0, not a stale 1.
    expect(states(read('detour.endpoint.state'))).toEqual({ 'a:1': 'ejected', 'b:1': 'healthy' });

    clock.advance(60_000); // the ejection time ends: probing
    read = await collect();
    expect(states(read('detour.endpoint.state'))).toEqual({ 'a:1': 'probing', 'b:1': 'healthy' });
  });

  it('reports in-flight attempts, and draining endpoints until they leave', async () => {
    const { pool, a, b, collect } = setup();
    pool.startAttempt(a);
    pool.startAttempt(a);
    pool.startAttempt(b);
    let read = await collect();
    expect(values(read('detour.endpoint.inflight'))).toEqual([
      [endpointA, 2],
      [endpointB, 1],
    ]);

    pool.update({ type: 'full', endpoints: ['a:1'] }); // b drains: one attempt in flight
    pool.endAttempt(a, ok);
    read = await collect();
    expect(states(read('detour.endpoint.state'))).toEqual({ 'a:1': 'healthy', 'b:1': 'draining' });
    expect(values(read('detour.endpoint.inflight'))).toEqual([
      [endpointA, 1],
      [endpointB, 1],
    ]);

    pool.endAttempt(b, ok); // b leaves the pool: its series drop to 0 (the SDK may keep them)
    read = await collect();
    expect(states(read('detour.endpoint.state'))).toEqual({ 'a:1': 'healthy', 'b:1': 'gone' });
    expect(values(read('detour.endpoint.inflight'))).toEqual([
      [endpointA, 1],
      [endpointB, 0],
    ]);
  });

  it('follows an endpoint whose group a discovery update changed', async () => {
    const { pool, a, instrumentation, collect } = setup();
    instrumentation.attemptStarted(a, 'first');
    pool.update({
      type: 'full',
      endpoints: [{ id: 'a:1', address: 'a:1', group: 'blue' }, 'b:1'],
    });
    instrumentation.attemptStarted(a, 'first');
    expect(values((await collect())('detour.attempts'))).toEqual([
      [{ ...endpointA, 'detour.endpoint.group': 'blue', 'detour.attempt.kind': 'first' }, 1],
      [{ ...endpointA, 'detour.attempt.kind': 'first' }, 1],
    ]);
  });

  it('is what a pool made with the metrics option reports its calls to', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const pool = createPool({
      endpoints: ['a:1'],
      clock: new ManualClock(),
      random: seededRandom(1),
      detectors: [],
      metrics: { meterProvider },
    });
    await expect(pool.execute(() => Promise.resolve('ok'))).resolves.toBe('ok');
    const { resourceMetrics } = await reader.collect();
    const found = resourceMetrics.scopeMetrics[0]!.metrics;
    const points = (name: string) => found.find((m) => m.descriptor.name === name)!.dataPoints;
    expect(values(points('detour.attempts'))).toEqual([
      [{ ...endpointA, 'detour.attempt.kind': 'first' }, 1],
    ]);
    expect(points('detour.call.duration')[0]!.attributes).toEqual({ 'detour.outcome': 'success' });
    pool.close();
  });

  it('passes the same attribute object on every call (no allocation per call)', () => {
    const seen: Record<string, Set<Attributes | undefined>> = {};
    const spy = (name: string) => (_value: number, attributes?: Attributes) => {
      (seen[name] ??= new Set()).add(attributes);
    };
    const meter = fakeMeter({
      createCounter: (name: string) => ({ add: spy(name) }),
      createHistogram: (name: string) => ({ record: spy(name) }),
    });
    const { pool } = setup();
    const a = pool.get('a:1')!;
    const instrumentation = createMetrics(pool, { meterProvider: { getMeter: () => meter } });
    for (let i = 0; i < 3; i++) {
      instrumentation.attemptStarted(a, 'retry');
      instrumentation.attemptEnded(a, 'retry', failed, 5);
      instrumentation.budgetRefused('hedge');
      instrumentation.callEnded(false, 2, 9);
    }
    for (const name of [
      'detour.attempts',
      'detour.attempt.duration',
      'detour.budget.refusals',
      'detour.call.duration',
      'detour.call.attempts',
    ]) {
      expect(seen[name]?.size, name).toBe(1);
    }
  });

  it('stops observing the pool after close()', async () => {
    const { manual, a, instrumentation, collect } = setup();
    expect(states((await collect())('detour.endpoint.state'))).toEqual({
      'a:1': 'healthy',
      'b:1': 'healthy',
    });
    instrumentation.close();
    instrumentation.close(); // idempotent
    manual.eject('a:1');
    expect(a.status).toBe('ejected');
    const read = await collect();
    // No callback ran: the ejection is not seen (the JS SDK may still export the last values).
    expect(read('detour.endpoint.state').filter((p) => p.value === 1)).not.toContainEqual(
      expect.objectContaining({ attributes: { ...endpointA, 'detour.endpoint.state': 'ejected' } }),
    );
    expect(read('detour.ejections')).toEqual([]);
  });

  it('removes the callback it added, with the same instruments', () => {
    const added: unknown[][] = [];
    const removed: unknown[][] = [];
    const meter = fakeMeter({
      addBatchObservableCallback: (...args: unknown[]) => void added.push(args),
      removeBatchObservableCallback: (...args: unknown[]) => void removed.push(args),
    });
    const { pool } = setup();
    const on = vi.spyOn(pool, 'on');
    const instrumentation = createMetrics(pool, { meterProvider: { getMeter: () => meter } });
    expect(on).toHaveBeenCalled();
    instrumentation.close();
    expect(added).toHaveLength(1);
    expect(removed).toEqual(added);
  });

  it('observes nothing once the pool is closed', async () => {
    const { pool, collect } = setup();
    pool.close();
    expect((await collect())('detour.endpoint.state')).toEqual([]);
  });

  it('uses the global meter provider when one is registered', async () => {
    const { pool } = setup();
    const reader = new TestReader();
    expect(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))).toBe(true);
    const instrumentation = createMetrics(pool, { meterName: 'my-pool' });
    expect(instrumentation).not.toBe(noopInstrumentation);
    instrumentation.budgetRefused('retry');
    const { resourceMetrics } = await reader.collect();
    const scope = resourceMetrics.scopeMetrics.find((s) => s.scope.name === 'my-pool');
    expect(scope?.metrics.map((m) => m.descriptor.name)).toContain('detour.budget.refusals');
    instrumentation.close();
  });
});

describe('createMetrics without an SDK', () => {
  function bare(): Pool {
    return createPool({
      endpoints: ['a:1', 'b:1'],
      clock: new ManualClock(),
      random: seededRandom(1),
      detectors: [manualDetector()],
      selector: 'round-robin',
    });
  }

  it('returns noopInstrumentation and listens to nothing when no provider is registered', () => {
    const pool = bare();
    const on = vi.spyOn(pool, 'on');
    expect(createMetrics(pool)).toBe(noopInstrumentation);
    expect(on).not.toHaveBeenCalled();
  });

  it('returns noopInstrumentation for a provider that gives the no-op meter', () => {
    const pool = bare();
    const on = vi.spyOn(pool, 'on');
    const meterProvider: ApiMeterProvider = { getMeter: () => createNoopMeter() };
    expect(createMetrics(pool, { meterProvider })).toBe(noopInstrumentation);
    const shutDown = new MeterProvider();
    return shutDown.shutdown().then(() => {
      const instrumentation: Instrumentation = createMetrics(pool, { meterProvider: shutDown });
      expect(instrumentation).toBe(noopInstrumentation);
      expect(on).not.toHaveBeenCalled();
    });
  });

  it('rejects bad options at construction', () => {
    const pool = bare();
    const meterProvider = new MeterProvider();
    expect(() => createMetrics(pool, { meterProvider, meterName: '' })).toThrow(DetourConfigError);
    expect(() =>
      createMetrics(pool, { meterProvider, meterNmae: 'x' } as unknown as { meterName: string }),
    ).toThrow(/metrics.meterNmae/);
    expect(() => createMetrics(pool, { meterProvider: {} as unknown as ApiMeterProvider })).toThrow(
      /metrics.meterProvider/,
    );
  });
});
