import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '../errors.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock, flushMicrotasks } from '../testing/manual-clock.js';
import type { MetricReader, MetricThresholdsOptions } from './metric-thresholds.js';
import { metricThresholds } from './metric-thresholds.js';

type Reading = Record<string, number> | Error | 'hang' | 'not-an-object';

function setup(options: Partial<MetricThresholdsOptions> = {}, endpoints = ['a:1', 'b:1']) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, endpoints });
  const readings = new Map<string, Reading>();
  const signals: AbortSignal[] = [];
  const reads: string[] = [];
  const read: MetricReader = (endpoint, signal) => {
    reads.push(endpoint.id);
    signals.push(signal);
    const reading = readings.get(endpoint.id) ?? {};
    if (reading === 'hang') return new Promise(() => {});
    if (reading === 'not-an-object') return 42 as unknown as Record<string, number>;
    if (reading instanceof Error) throw reading;
    return reading; // synchronous, as a reader of local data may be
  };
  const detector = t.attach(
    metricThresholds({
      read,
      thresholds: { cpu: { max: 0.9, resume: 0.7 } },
      initialDelayMs: 0,
      jitterPercent: 0,
      ...options,
    }),
  );
  /** Moves time on by `ms` in 100 ms steps, letting reads settle after each step. */
  const step = async (ms: number): Promise<void> => {
    clock.advance(0);
    await flushMicrotasks();
    await clock.advanceAsync(ms, 100);
  };
  return { clock, t, detector, readings, signals, reads, step };
}

describe('metricThresholds', () => {
  it('is named metric-thresholds', () => {
    expect(metricThresholds({ read: () => ({}), thresholds: { cpu: { max: 1 } } }).name).toBe(
      'metric-thresholds',
    );
  });

  it('reads every endpoint every intervalMs', async () => {
    const { reads, step } = setup();
    await step(0);
    await step(4999);
    expect(reads).toEqual(['a:1', 'b:1']);
    await step(1);
    expect(reads).toEqual(['a:1', 'b:1', 'a:1', 'b:1']);
  });

  it('holds over max and releases at or below resume (hysteresis)', async () => {
    const { t, readings, step } = setup();
    readings.set('a:1', { cpu: 0.95 });
    readings.set('b:1', { cpu: 0.5 });
    await step(0);
    expect(t.holds).toEqual([
      {
        id: 'a:1',
        detector: 'metric-thresholds',
        fault: { kind: 'probe-failed', code: 'cpu', message: 'cpu 0.95 > max 0.9' },
      },
    ]);
    readings.set('a:1', { cpu: 0.8 }); // under max, over resume: stays held
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.7 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(false);
    expect(t.releases).toEqual([{ id: 'a:1', detector: 'metric-thresholds' }]);
    expect(t.holds).toHaveLength(1);
  });

  it('holds only above max; resume defaults to max', async () => {
    const { t, readings, step } = setup({ thresholds: { queue: { max: 100 } } });
    readings.set('a:1', { queue: 100 });
    await step(0);
    expect(t.holds).toEqual([]);
    readings.set('a:1', { queue: 101 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { queue: 100 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(false);
  });

  it('holds when any metric is over; releases only when all are back', async () => {
    const { t, readings, step } = setup({
      thresholds: { cpu: { max: 0.9 }, queue: { max: 100, resume: 10 } },
    });
    readings.set('a:1', { cpu: 0.2, queue: 500 });
    await step(0);
    expect(t.holds[0]!.fault).toMatchObject({ code: 'queue', message: 'queue 500 > max 100' });
    readings.set('a:1', { cpu: 0.2, queue: 50 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.95, queue: 5 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.5, queue: 5 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(false);
  });

  it('a missing metric changes nothing', async () => {
    const { t, readings, step } = setup({ thresholds: { cpu: { max: 0.9 }, mem: { max: 0.8 } } });
    readings.set('a:1', { mem: 0.5 });
    await step(0);
    expect(t.holds).toEqual([]);
    readings.set('a:1', { cpu: 0.99 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.1 }); // mem missing: cannot tell that everything is back
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.1, mem: Number.NaN });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', { cpu: 0.1, mem: 0.1 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(false);
  });

  it('a failed, timed-out or malformed read changes nothing', async () => {
    const { t, readings, signals, step } = setup();
    readings.set('a:1', new Error('metrics endpoint down'));
    await step(0);
    expect(t.holds).toEqual([]);
    readings.set('a:1', { cpu: 1 });
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', new Error('metrics endpoint down'));
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', 'not-an-object');
    await step(5000);
    expect(t.held.has('a:1')).toBe(true);
    readings.set('a:1', 'hang');
    await step(5000);
    const signal = signals.at(-2)!; // a:1's read; b:1's comes after
    expect(signal.aborted).toBe(false);
    await step(1000);
    expect(signal.aborted).toBe(true);
    expect(t.held.has('a:1')).toBe(true);
    expect(t.releases).toEqual([]);
  });

  it('reads asynchronously too', async () => {
    const clock = new ManualClock();
    const t = createTestDetectorHost({ clock, endpoints: ['a:1'] });
    t.attach(
      metricThresholds({
        read: () => Promise.resolve({ cpu: 2 }),
        thresholds: { cpu: { max: 1 } },
        initialDelayMs: 0,
      }),
    );
    clock.advance(0);
    await flushMicrotasks();
    expect([...t.held]).toEqual(['a:1']);
  });

  it('stops reading a removed endpoint; close() leaves nothing pending', async () => {
    const { clock, t, detector, readings, signals, reads, step } = setup();
    readings.set('a:1', 'hang');
    await step(0);
    t.remove('a:1');
    expect(signals[0]!.aborted).toBe(true);
    await step(10000);
    expect(reads.filter((id) => id === 'a:1')).toHaveLength(1);
    expect(reads.filter((id) => id === 'b:1')).toHaveLength(3);
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    await step(10000);
    expect(reads).toHaveLength(4);
  });

  it('starts reading an added endpoint', async () => {
    const { t, reads, step } = setup();
    await step(0);
    t.add('c:1');
    await step(0);
    expect(reads).toEqual(['a:1', 'b:1', 'c:1']);
  });

  const read = () => ({});
  it.each([
    ['metricThresholds', undefined, 'undefined'],
    ['metricThresholds.read', { thresholds: { cpu: { max: 1 } } }, 'undefined'],
    ['metricThresholds.thresholds', { read }, 'undefined'],
    ['metricThresholds.thresholds', { read, thresholds: {} }, '{}'],
    ['metricThresholds.thresholds', { read, thresholds: [] }, '[]'],
    ['metricThresholds.thresholds.cpu', { read, thresholds: { cpu: 0.9 } }, '0.9'],
    ['metricThresholds.thresholds.cpu.max', { read, thresholds: { cpu: {} } }, 'undefined'],
    ['metricThresholds.thresholds.cpu.max', { read, thresholds: { cpu: { max: -1 } } }, '-1'],
    [
      'metricThresholds.thresholds.cpu.max',
      { read, thresholds: { cpu: { max: Number.NaN } } },
      'NaN',
    ],
    [
      'metricThresholds.thresholds.cpu.max',
      { read, thresholds: { cpu: { max: Infinity } } },
      'Infinity',
    ],
    [
      'metricThresholds.thresholds.cpu.resume',
      { read, thresholds: { cpu: { max: 1, resume: 2 } } },
      '2',
    ],
    [
      'metricThresholds.thresholds.cpu.resume',
      { read, thresholds: { cpu: { max: 1, resume: -0.1 } } },
      '-0.1',
    ],
    ['metricThresholds.thresholds.cpu.min', { read, thresholds: { cpu: { max: 1, min: 0 } } }, '0'],
    ['metricThresholds.intervalMs', { read, thresholds: { cpu: { max: 1 } }, intervalMs: 0 }, '0'],
    ['metricThresholds.timeoutMs', { read, thresholds: { cpu: { max: 1 } }, timeoutMs: -1 }, '-1'],
    [
      'metricThresholds.jitterPercent',
      { read, thresholds: { cpu: { max: 1 } }, jitterPercent: 120 },
      '120',
    ],
    [
      'metricThresholds.initialDelayMs',
      { read, thresholds: { cpu: { max: 1 } }, initialDelayMs: Number.NaN },
      'NaN',
    ],
    ['metricThresholds.limits', { read, thresholds: { cpu: { max: 1 } }, limits: {} }, '{}'],
  ])('rejects %s in %j', (option, options, shown) => {
    expect(() => metricThresholds(options as never)).toThrow(DetourConfigError);
    expect(() => metricThresholds(options as never)).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
