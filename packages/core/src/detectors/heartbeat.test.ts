import { describe, expect, it } from 'vitest';
import { sleep } from '../clock.js';
import type { ProbeResult } from '../detector.js';
import { DetourConfigError } from '../errors.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock, flushMicrotasks } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import type { HeartbeatOptions, HeartbeatProbe } from './heartbeat.js';
import { defaultEndEjections, heartbeat } from './heartbeat.js';

interface Call {
  readonly id: string;
  readonly at: number;
  readonly signal: AbortSignal;
  readonly suspect: boolean;
}

/**
 * A probe whose answer per endpoint is set by the test: a boolean, a ProbeResult, an Error to
 * reject with, or 'hang' (never settles, ignores its signal).
 */
function scriptedProbe(clock: ManualClock) {
  const answers = new Map<string, boolean | ProbeResult | Error | 'hang'>();
  const calls: Call[] = [];
  const probe: HeartbeatProbe = (endpoint, signal, context) => {
    calls.push({ id: endpoint.id, at: clock.now(), signal, suspect: context?.suspect ?? false });
    const answer = answers.get(endpoint.id) ?? true;
    if (answer === 'hang') return new Promise(() => {});
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve(answer);
  };
  return { answers, calls, probe };
}

/** Runs the timers due now (the first probes with initialDelayMs 0) and lets the probes settle. */
async function settle(clock: ManualClock): Promise<void> {
  clock.advance(0);
  await flushMicrotasks();
}

function setup(options: Omit<HeartbeatOptions, 'probe'> = {}, endpoints = ['a:1', 'b:1']) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, random: seededRandom(3), endpoints });
  const scripted = scriptedProbe(clock);
  const detector = t.attach(
    heartbeat({ probe: scripted.probe, initialDelayMs: 0, jitterPercent: 0, ...options }),
  );
  const results = (id: string) => t.probes.filter((p) => p.id === id).map((p) => p.result);
  return { clock, t, detector, results, ...scripted };
}

describe('heartbeat', () => {
  it('is named heartbeat', () => {
    expect(heartbeat({ probe: () => Promise.resolve(true) }).name).toBe('heartbeat');
  });

  it('probes every endpoint every intervalMs and reports each result', async () => {
    const { clock, t, calls } = setup();
    await clock.advanceAsync(2500);
    expect(calls.map((c) => `${c.id}@${c.at}`)).toEqual([
      'a:1@0',
      'b:1@0',
      'a:1@1000',
      'b:1@1000',
      'a:1@2000',
      'b:1@2000',
    ]);
    expect(t.probes).toHaveLength(6);
    expect(t.probes.every((p) => p.result.healthy)).toBe(true);
    expect(t.holds).toEqual([]);
  });

  it('measures latency on the clock', async () => {
    const clock = new ManualClock();
    const t = createTestDetectorHost({ clock, endpoints: ['a:1'] });
    t.attach(
      heartbeat({
        probe: (_endpoint, signal) => sleep(clock, 30, signal).then(() => true),
        initialDelayMs: 0,
      }),
    );
    await clock.advanceAsync(100);
    expect(t.probes).toEqual([{ id: 'a:1', result: { healthy: true, latencyMs: 30 } }]);
  });

  it('holds after 2 unhealthy results and releases after 2 healthy ones', async () => {
    const { clock, t, answers, results } = setup();
    answers.set('a:1', false);
    await settle(clock);
    expect(results('a:1')).toEqual([{ healthy: false, latencyMs: 0 }]);
    expect(t.held.has('a:1')).toBe(false);
    await clock.advanceAsync(1000);
    expect(t.holds).toEqual([
      {
        id: 'a:1',
        detector: 'heartbeat',
        fault: {
          kind: 'probe-failed',
          code: undefined,
          message: '2 failed health checks; last: unhealthy',
        },
      },
    ]);
    expect(t.record('a:1').status).toBe('ejected');
    expect(t.record('b:1').status).toBe('healthy');

    answers.set('a:1', true);
    await clock.advanceAsync(1000);
    expect(t.held.has('a:1')).toBe(true);
    await clock.advanceAsync(1000);
    expect(t.held.has('a:1')).toBe(false);
    expect(t.releases).toEqual([{ id: 'a:1', detector: 'heartbeat' }]);
    expect(t.record('a:1').status).toBe('probing');
  });

  it('a healthy result in between restarts the unhealthy count', async () => {
    const { clock, t, answers } = setup();
    answers.set('a:1', false);
    await clock.advanceAsync(1);
    answers.set('a:1', true);
    await clock.advanceAsync(1000);
    answers.set('a:1', false);
    await clock.advanceAsync(1000);
    expect(t.holds).toEqual([]);
    await clock.advanceAsync(1000);
    expect(t.holds).toHaveLength(1);
  });

  it('times out a probe: aborts its signal and counts it unhealthy with code timeout', async () => {
    const { clock, calls, answers, results } = setup({ timeoutMs: 300 });
    answers.set('a:1', 'hang');
    await clock.advanceAsync(299);
    expect(calls[0]!.signal.aborted).toBe(false);
    expect(results('a:1')).toEqual([]);
    await clock.advanceAsync(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect((calls[0]!.signal.reason as Error).name).toBe('TimeoutError');
    expect(results('a:1')).toEqual([
      { healthy: false, latencyMs: 300, code: 'timeout', message: 'Timed out after 300 ms' },
    ]);
  });

  it('runs one probe per endpoint at a time', async () => {
    const { clock, calls, answers, t, results } = setup({ timeoutMs: 5000 });
    answers.set('a:1', 'hang');
    await clock.advanceAsync(3500);
    expect(calls.filter((c) => c.id === 'a:1')).toHaveLength(1);
    expect(results('a:1')).toEqual([]); // still within its timeout
    expect(calls.filter((c) => c.id === 'b:1')).toHaveLength(4);
    expect(t.holds).toEqual([]);
  });

  it('a probe that ignores its signal counts as a timeout at every tick until it settles', async () => {
    const { clock, calls, answers, t, results } = setup();
    answers.set('a:1', 'hang');
    await clock.advanceAsync(1001);
    expect(calls.filter((c) => c.id === 'a:1')).toHaveLength(1);
    expect(results('a:1').map((r) => r.code)).toEqual(['timeout', 'timeout']);
    expect(results('a:1')[1]!.message).toBe(
      'The previous run is still pending 1000 ms after it started',
    );
    expect(t.holds.map((h) => h.id)).toEqual(['a:1']);
  });

  it('a rejected or throwing probe is unhealthy with its message and code', async () => {
    const { clock, answers, results } = setup();
    answers.set('a:1', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await settle(clock);
    expect(results('a:1')).toEqual([
      { healthy: false, latencyMs: 0, code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
    ]);

    const clock2 = new ManualClock();
    const t2 = createTestDetectorHost({ clock: clock2, endpoints: ['a:1'] });
    t2.attach(
      heartbeat({
        probe: () => {
          throw new Error('bad address');
        },
        initialDelayMs: 0,
      }),
    );
    await settle(clock2);
    expect(t2.probes[0]!.result).toEqual({
      healthy: false,
      latencyMs: 0,
      code: undefined,
      message: 'bad address',
    });
  });

  it('takes healthy, code and message from a ProbeResult, and measures latency itself', async () => {
    const { clock, answers, results, t } = setup({ unhealthyThreshold: 1 });
    answers.set('a:1', {
      healthy: false,
      latencyMs: 999,
      code: 'NOT_SERVING',
      message: 'draining',
    });
    answers.set('b:1', { latencyMs: 1 } as unknown as ProbeResult);
    await settle(clock);
    expect(results('a:1')).toEqual([
      { healthy: false, latencyMs: 0, code: 'NOT_SERVING', message: 'draining' },
    ]);
    expect(t.holds[0]!.fault).toEqual({
      kind: 'probe-failed',
      code: 'NOT_SERVING',
      message: '1 failed health checks; last: draining',
    });
    expect(results('b:1')[0]).toMatchObject({ healthy: false, code: 'invalid-result' });
  });

  it('probes at once, as suspect, after a call to the endpoint timed out', async () => {
    const { clock, t, detector, calls } = setup({}, ['a:1']);
    await settle(clock);
    await clock.advanceAsync(1300);
    // 300 ms after the probe of 1000: too soon, but the probe of 2000 is told.
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 300 });
    await clock.advanceAsync(1300);
    // 600 ms after the probe of 2000: at once.
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 300 });
    await flushMicrotasks();
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 300 }); // right after it: no
    await clock.advanceAsync(1000);
    expect(calls.map((c) => `${c.at}${c.suspect ? ' suspect' : ''}`)).toEqual([
      '0',
      '1000',
      '2000 suspect',
      '2600 suspect',
      '3600 suspect',
    ]);
  });

  it('does not probe early after other outcomes, for a held endpoint, or with probeOnTimeout false', async () => {
    const early = async (
      options: Omit<HeartbeatOptions, 'probe'>,
      outcome: 'timeout' | 'error',
      held = false,
    ) => {
      const { clock, t, detector, calls, answers } = setup(options, ['a:1']);
      if (held) answers.set('a:1', false);
      await settle(clock);
      await clock.advanceAsync(1000);
      expect(t.held.has('a:1')).toBe(held);
      await clock.advanceAsync(700);
      t.feed(detector, 'a:1', { kind: outcome, latencyMs: 300 });
      await flushMicrotasks();
      return calls.map((c) => c.at);
    };
    expect(await early({}, 'error')).toEqual([0, 1000]);
    expect(await early({}, 'timeout', true)).toEqual([0, 1000]);
    expect(await early({ probeOnTimeout: false }, 'timeout')).toEqual([0, 1000]);
    expect(await early({}, 'timeout')).toEqual([0, 1000, 1700]);
  });

  it('ends another detector’s timed ejection after healthyThreshold healthy probes since it', async () => {
    const { clock, t, answers } = setup({ endEjections: true }, ['a:1']);
    await settle(clock);
    answers.set('a:1', false);
    await clock.advanceAsync(1000); // one failed probe: not held (threshold 2)
    expect(t.held.has('a:1')).toBe(false);
    t.host.eject(t.record('a:1'), { kind: 'error' }); // say, consecutive failures
    answers.set('a:1', true);
    await clock.advanceAsync(1000); // 2000: healthy, 1 since the ejection
    expect(t.record('a:1').status).toBe('ejected');
    answers.set('a:1', false);
    await clock.advanceAsync(1000); // 3000: unhealthy, the streak starts again
    answers.set('a:1', true);
    await clock.advanceAsync(1000); // 4000: 1
    expect(t.record('a:1').status).toBe('ejected');
    await clock.advanceAsync(1000); // 5000: 2
    expect(t.record('a:1').status).toBe('probing');
    expect(t.endedEjections).toEqual([{ id: 'a:1', detector: 'heartbeat' }]);
  });

  it('by default ends ejections for failed calls, not for latency', async () => {
    const run = async (detector: string) => {
      const { clock, t } = setup({}, ['a:1']);
      await settle(clock);
      const view = t.attach({
        name: detector,
        attach: (host) => {
          host.eject(t.record('a:1'), { kind: 'error' });
          return { close() {} };
        },
      });
      void view;
      await clock.advanceAsync(2000);
      return t.record('a:1').status;
    };
    expect(defaultEndEjections).toEqual(['consecutive-failures', 'outlier-detection', 'half-open']);
    expect(await run('consecutive-failures')).toBe('probing');
    expect(await run('outlier-detection')).toBe('probing');
    expect(await run('latency-outlier')).toBe('ejected');
    expect(await run('metric-thresholds')).toBe('ejected');
  });

  it('does not end ejections with endEjections false, nor its own hold that way', async () => {
    const off = setup({ endEjections: false }, ['a:1']);
    await settle(off.clock);
    off.t.host.eject(off.t.record('a:1'), { kind: 'error' });
    await off.clock.advanceAsync(3000);
    expect(off.t.record('a:1').status).toBe('ejected');
    expect(off.t.endedEjections).toEqual([]);

    // Held by the heartbeat: released by its healthy probes, not through endEjection.
    const own = setup({}, ['a:1']);
    own.answers.set('a:1', false);
    await settle(own.clock);
    await own.clock.advanceAsync(1000);
    expect(own.t.held.has('a:1')).toBe(true);
    own.answers.set('a:1', true);
    await own.clock.advanceAsync(2000);
    expect(own.t.record('a:1').status).toBe('probing');
    expect(own.t.releases).toEqual([{ id: 'a:1', detector: 'heartbeat' }]);
    expect(own.t.endedEjections).toEqual([]);
  });

  it('stops probing a removed endpoint and aborts its probe', async () => {
    const { clock, t, calls, answers } = setup({ timeoutMs: 800 });
    answers.set('a:1', 'hang');
    await clock.advanceAsync(100);
    t.remove('a:1');
    expect(calls[0]!.signal.aborted).toBe(true);
    expect((calls[0]!.signal.reason as Error).name).toBe('AbortError');
    await clock.advanceAsync(3000);
    expect(calls.filter((c) => c.id === 'a:1')).toHaveLength(1);
    expect(t.probes.filter((p) => p.id === 'a:1')).toEqual([]);
    expect(calls.filter((c) => c.id === 'b:1')).toHaveLength(4);
  });

  it('starts probing an added endpoint', async () => {
    const { clock, t, calls } = setup();
    await clock.advanceAsync(500);
    t.add('c:1');
    await clock.advanceAsync(1);
    expect(calls.filter((c) => c.id === 'c:1').map((c) => c.at)).toEqual([500]);
  });

  it('close() stops every loop and aborts every probe; nothing is pending or reported after', async () => {
    const { clock, t, detector, calls, answers } = setup();
    answers.set('a:1', 'hang');
    await clock.advanceAsync(100);
    const before = t.probes.length;
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    expect(calls[0]!.signal.aborted).toBe(true);
    await clock.advanceAsync(5000);
    await flushMicrotasks();
    expect(t.probes).toHaveLength(before);
    expect(calls).toHaveLength(2);
  });

  it('ignores a probe that settles after its endpoint was removed', async () => {
    const clock = new ManualClock();
    const t = createTestDetectorHost({ clock, endpoints: ['a:1'] });
    let settle: (healthy: boolean) => void = () => {};
    t.attach(
      heartbeat({
        probe: () => new Promise<boolean>((resolve) => (settle = resolve)),
        initialDelayMs: 0,
      }),
    );
    await clock.advanceAsync(10);
    t.remove('a:1');
    settle(true);
    await flushMicrotasks();
    expect(t.probes).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('spreads the first probes over the first interval and jitters the later ones', async () => {
    const clock = new ManualClock();
    const endpoints = Array.from({ length: 10 }, (_, i) => `e${i}:1`);
    const t = createTestDetectorHost({ clock, random: seededRandom(11), endpoints });
    const { calls, probe } = scriptedProbe(clock);
    t.attach(heartbeat({ probe }));
    await clock.advanceAsync(1000, 10);
    const first = calls.map((c) => c.at);
    expect(first).toHaveLength(10);
    expect(new Set(first).size).toBeGreaterThan(5);
    expect(Math.max(...first)).toBeLessThan(1000);

    await clock.advanceAsync(20000, 10);
    for (const id of endpoints) {
      const times = calls.filter((c) => c.id === id).map((c) => c.at);
      for (let i = 1; i < times.length; i++) {
        const gap = times[i]! - times[i - 1]!;
        expect(gap).toBeGreaterThanOrEqual(900 - 10);
        expect(gap).toBeLessThanOrEqual(1100 + 10);
      }
    }
  });

  it.each([
    ['heartbeat', undefined, 'undefined'],
    ['heartbeat', null, 'null'],
    ['heartbeat.probe', {}, 'undefined'],
    ['heartbeat.probe', { probe: 'http://a/healthz' }, '"http://a/healthz"'],
    ['heartbeat.intervalMs', { intervalMs: 0 }, '0'],
    ['heartbeat.intervalMs', { intervalMs: Number.NaN }, 'NaN'],
    ['heartbeat.timeoutMs', { timeoutMs: -1 }, '-1'],
    ['heartbeat.timeoutMs', { timeoutMs: Infinity }, 'Infinity'],
    ['heartbeat.healthyThreshold', { healthyThreshold: 0 }, '0'],
    ['heartbeat.unhealthyThreshold', { unhealthyThreshold: 1.5 }, '1.5'],
    ['heartbeat.jitterPercent', { jitterPercent: 101 }, '101'],
    ['heartbeat.jitterPercent', { jitterPercent: -10 }, '-10'],
    ['heartbeat.initialDelayMs', { initialDelayMs: -5 }, '-5'],
    ['heartbeat.probeOnTimeout', { probeOnTimeout: 'yes' }, '"yes"'],
    ['heartbeat.endEjections', { endEjections: 1 }, '1'],
    ['heartbeat.endEjections', { endEjections: [1] }, '[1]'],
    ['heartbeat.interval', { interval: 1000 }, '1000'],
  ])('rejects %s in %j', (option, options, shown) => {
    const probe = () => Promise.resolve(true);
    const make = () =>
      heartbeat(
        (options === undefined || options === null || option === 'heartbeat.probe'
          ? options
          : { probe, ...options }) as never,
      );
    expect(make).toThrow(DetourConfigError);
    expect(make).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
