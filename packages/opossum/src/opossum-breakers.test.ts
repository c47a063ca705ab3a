import { DetourConfigError } from '@detour/core';
import type { PoolEvents } from '@detour/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointBreaker, OpossumBreakersOptions } from './opossum-breakers-options.js';
import { opossumBreakers } from './opossum-breakers.js';
import { configError } from './test-support/config-error.js';
import { error, flush, makePool, ok, picks, record, report, sleep } from './test-support/pool.js';
import { settle, trackTimers } from './test-support/timers.js';
import type { TimerTracker } from './test-support/timers.js';

const resetTimeout = 60;
/** Long enough for opossum's unref'd reset timer on a busy machine. */
const afterReset = resetTimeout + 60;

const pools: { close(): void }[] = [];
let tracker: TimerTracker | undefined;
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
  tracker?.stop();
  tracker = undefined;
});

function setup(options: OpossumBreakersOptions = {}, trialCalls = 3) {
  const breakers = new Map<string, EndpointBreaker>();
  const detector = opossumBreakers({
    resetTimeout,
    volumeThreshold: 4,
    onBreaker: (breaker, endpoint) => breakers.set(endpoint.id, breaker),
    ...options,
  });
  const pool = makePool([detector], { trialCalls });
  pools.push(pool);
  const ejected: PoolEvents['ejected'][] = [];
  const restored: string[] = [];
  pool.on('ejected', (e) => ejected.push(e));
  pool.on('restored', (e) => restored.push(e.endpoint.id));
  return { pool, breakers, ejected, restored };
}

/** Opens a:1's breaker: 1 success, 3 failures (75 % of 4 fires). */
async function trip(pool: ReturnType<typeof setup>['pool']): Promise<void> {
  report(pool, 'a:1', ok);
  report(pool, 'a:1', error, 3);
  await flush();
}

describe('opossumBreakers', () => {
  it('is a detector named opossum', () => {
    expect(opossumBreakers().name).toBe('opossum');
  });

  describe.each([
    ['lazy (default)', true],
    ['eager', false],
  ])('%s', (_name, lazy) => {
    it('opens after the error threshold and holds the endpoint: no picks', async () => {
      const { pool, breakers, ejected } = setup({ lazy });
      await trip(pool);
      expect(breakers.get('a:1')!.opened).toBe(true);
      expect(record(pool, 'a:1').status).toBe('ejected');
      expect(ejected.map((e) => e.endpoint.id)).toEqual(['a:1']);
      expect(ejected).toMatchObject([
        {
          detector: 'opossum',
          durationMs: undefined, // a hold, not a timed ejection
          ejections: 1,
          fault: {
            kind: 'error',
            code: 'circuit-open',
            message:
              'opossum breaker opened: 3 of 4 outcomes failed in the last 10000 ms (last: UNAVAILABLE)',
          },
        },
      ]);
      expect(pool.snapshot().endpoints.find((e) => e.id === 'a:1')!.heldBy).toEqual(['opossum']);
      expect(new Set(picks(pool, 30))).toEqual(new Set(['b:1', 'c:1']));
    });

    it('does not open at exactly the threshold (opossum compares strictly)', async () => {
      const { pool } = setup({ lazy });
      report(pool, 'a:1', ok, 2);
      report(pool, 'a:1', error, 2); // 50 % of 4
      await flush();
      expect(record(pool, 'a:1').status).toBe('healthy');
      report(pool, 'a:1', error); // 60 % of 5
      await flush();
      expect(record(pool, 'a:1').status).toBe('ejected');
    });

    it('does not open below volumeThreshold', async () => {
      const { pool } = setup({ lazy, volumeThreshold: 6 });
      report(pool, 'a:1', error, 5);
      await flush();
      expect(record(pool, 'a:1').status).toBe('healthy');
      report(pool, 'a:1', error);
      await flush();
      expect(record(pool, 'a:1').status).toBe('ejected');
    });

    it('counts timeouts and rejections as failures', async () => {
      const { pool } = setup({ lazy });
      report(pool, 'a:1', { kind: 'timeout', latencyMs: 1000 }, 2);
      report(pool, 'a:1', { kind: 'rejected', latencyMs: 1, code: 429 }, 2);
      await flush();
      expect(record(pool, 'a:1').status).toBe('ejected');
    });
  });

  it('after resetTimeout the endpoint probes with trialCalls trials: one success does not restore, three do', async () => {
    const { pool, breakers, restored } = setup({}, 3);
    await trip(pool);
    await sleep(afterReset);
    const breaker = breakers.get('a:1')!;
    expect(breaker.halfOpen).toBe(true);
    const a = record(pool, 'a:1');
    expect(a.status).toBe('probing');
    expect(a.trialsLeft).toBe(3);
    // The probing endpoint takes picks again, up to its trial calls.
    expect(picks(pool, 9).filter((id) => id === 'a:1').length).toBeGreaterThan(0);

    report(pool, 'a:1', ok);
    await flush();
    expect(a.status).toBe('probing');
    expect(breaker.halfOpen).toBe(true); // opossum alone would have closed on this success
    report(pool, 'a:1', ok);
    expect(a.status).toBe('probing');
    report(pool, 'a:1', ok);
    expect(a.status).toBe('healthy');
    expect(restored).toEqual(['a:1']);
    expect(breaker.closed).toBe(true);
  });

  it('a failure while probing re-opens the breaker and holds the endpoint again', async () => {
    const { pool, breakers, ejected } = setup({}, 3);
    await trip(pool);
    await sleep(afterReset);
    const a = record(pool, 'a:1');
    expect(a.status).toBe('probing');

    report(pool, 'a:1', ok);
    report(pool, 'a:1', error);
    // At once, inside endAttempt: held by opossum, not a timed ejection by the pool.
    expect(a.status).toBe('ejected');
    expect(breakers.get('a:1')!.opened).toBe(true);
    expect(ejected.at(-1)).toMatchObject({
      detector: 'opossum',
      durationMs: undefined,
      fault: {
        code: 'circuit-open',
        message: 'opossum breaker re-opened: a trial call failed while half-open (UNAVAILABLE)',
      },
    });
    expect(a.ejectedUntil).toBe(0);

    // And opossum's reset timer starts again: probing after another resetTimeout.
    await sleep(afterReset);
    expect(a.status).toBe('probing');
    report(pool, 'a:1', ok, 3);
    expect(a.status).toBe('healthy');
    expect(breakers.get('a:1')!.closed).toBe(true);
  });

  it('ignores outcomes of a held endpoint (panic mode sends to it)', async () => {
    const { pool, breakers } = setup();
    await trip(pool);
    const fires = breakers.get('a:1')!.stats.fires;
    report(pool, 'a:1', ok, 5);
    await flush();
    expect(breakers.get('a:1')!.stats.fires).toBe(fires);
    expect(record(pool, 'a:1').status).toBe('ejected');
  });

  it('lazy: no breaker until the first failure, then seeded with the successes before it', async () => {
    const { pool, breakers } = setup({ volumeThreshold: 0 });
    report(pool, 'a:1', ok, 3);
    expect(breakers.size).toBe(0);
    report(pool, 'a:1', error); // 1 of 4: would open at once without the seeded successes
    await flush();
    const breaker = breakers.get('a:1')!;
    expect(breaker.stats).toMatchObject({ fires: 4, successes: 3, failures: 1 });
    expect(breaker.closed).toBe(true);
    expect(record(pool, 'a:1').status).toBe('healthy');
  });

  it('eager: a breaker for every member from the start and for endpoints added later', () => {
    const { pool, breakers } = setup({ lazy: false });
    expect([...breakers.keys()]).toEqual(['a:1', 'b:1', 'c:1']);
    pool.update({ type: 'delta', added: ['d:1'] });
    expect(breakers.has('d:1')).toBe(true);
  });

  it('lazy: shuts a closed breaker down once its window holds no failure', async () => {
    const { pool, breakers } = setup({ rollingCountTimeout: 40, rollingCountBuckets: 2 });
    report(pool, 'a:1', error); // below volumeThreshold: stays closed
    await flush();
    const breaker = breakers.get('a:1')!;
    expect(breaker.closed).toBe(true);
    await sleep(200); // the failure rotates out (40 ms), then a sweep runs (every 40 ms)
    expect(breaker.isShutdown).toBe(true);
    report(pool, 'a:1', error);
    expect(breakers.get('a:1')).not.toBe(breaker); // made again at the next failure
  });

  it('maxBreakers: the oldest closed breaker makes room; open ones are kept', async () => {
    const { pool, breakers } = setup({ maxBreakers: 1 });
    report(pool, 'a:1', error);
    const a = breakers.get('a:1')!;
    report(pool, 'b:1', error);
    expect(a.isShutdown).toBe(true);
    const b = breakers.get('b:1')!;
    report(pool, 'b:1', error, 3);
    await flush();
    expect(b.opened).toBe(true);
    report(pool, 'c:1', error, 4);
    await flush();
    expect(breakers.has('c:1')).toBe(false); // no room: b:1 is open
    expect(b.isShutdown).toBe(false);
    expect(record(pool, 'c:1').status).toBe('healthy');
  });

  it('shuts the breaker down and releases its hold when the endpoint leaves the pool', async () => {
    const { pool, breakers } = setup();
    await trip(pool);
    const breaker = breakers.get('a:1')!;
    pool.update({ type: 'full', endpoints: ['b:1', 'c:1'] });
    expect(breaker.isShutdown).toBe(true);
    // Back again: no stale hold keeps it out.
    pool.update({ type: 'full', endpoints: ['a:1', 'b:1', 'c:1'] });
    expect(record(pool, 'a:1').holds).toBe(0);
    expect(record(pool, 'a:1').status).not.toBe('ejected');
  });

  describe('timers', () => {
    it('shared rotation: one rotation timer for all breakers; without it, one per breaker', async () => {
      tracker = trackTimers();
      const shared = setup({ lazy: false });
      expect(shared.breakers.size).toBe(3);
      expect(tracker.live()).toHaveLength(1);
      expect(tracker.live()[0]!.creator).toMatch(/rotation-ticker/);
      shared.pool.close();
      await settle();
      expect(tracker.live()).toEqual([]);

      const own = setup({ lazy: false, sharedRotation: false });
      expect(own.breakers.size).toBe(3);
      expect(tracker.live().filter((t) => /opossum\/lib\/status/.test(t.creator))).toHaveLength(3);
    });

    it('shares one rotation emitter among many breakers without a leak warning', async () => {
      const warnings: Error[] = [];
      const onWarning = (w: Error): void => void warnings.push(w);
      process.on('warning', onWarning);
      try {
        const endpoints = Array.from({ length: 50 }, (_, i) => `e${i}:1`);
        const pool = makePool([opossumBreakers({ lazy: false })], {}, endpoints);
        pools.push(pool);
        await sleep(1);
        expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      } finally {
        process.off('warning', onWarning);
      }
    });

    it('lazy: a healthy pool holds no timer at all', () => {
      tracker = trackTimers();
      const { pool } = setup();
      report(pool, 'a:1', ok, 10);
      expect(tracker.created).toBe(0);
    });

    it('every timer is unref’d, and close() leaves no timer or handle behind', async () => {
      const resources = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
      tracker = trackTimers();
      const { pool, breakers } = setup({ enableSnapshots: true });
      await trip(pool); // a:1 open: its reset timer runs
      report(pool, 'b:1', error); // b:1 closed, in its window
      await flush();
      const live = tracker.live();
      expect(live.length).toBeGreaterThanOrEqual(3); // rotation, reset, snapshots
      for (const t of live) expect(t.timer.hasRef()).toBe(false);

      pool.close();
      await settle();
      expect(tracker.live()).toEqual([]);
      for (const breaker of breakers.values()) expect(breaker.isShutdown).toBe(true);
      expect(process.getActiveResourcesInfo().filter((r) => r !== 'Timeout')).toEqual(resources);
    });
  });

  describe('configuration', () => {
    it.each<[OpossumBreakersOptions, string]>([
      [{ errorThresholdPercentage: 101 }, 'opossumBreakers.errorThresholdPercentage'],
      [{ errorThresholdPercentage: Number.NaN }, 'opossumBreakers.errorThresholdPercentage'],
      [{ volumeThreshold: -1 }, 'opossumBreakers.volumeThreshold'],
      [{ volumeThreshold: 1.5 }, 'opossumBreakers.volumeThreshold'],
      [{ rollingCountTimeout: 0 }, 'opossumBreakers.rollingCountTimeout'],
      [{ rollingCountBuckets: 0 }, 'opossumBreakers.rollingCountBuckets'],
      [{ rollingCountTimeout: 5, rollingCountBuckets: 10 }, 'opossumBreakers.rollingCountBuckets'],
      [{ resetTimeout: 0 }, 'opossumBreakers.resetTimeout'],
      [{ resetTimeout: 2 ** 31 }, 'opossumBreakers.resetTimeout'],
      [{ lazy: 'yes' as unknown as boolean }, 'opossumBreakers.lazy'],
      [{ maxBreakers: 0 }, 'opossumBreakers.maxBreakers'],
      [{ maxBreakers: 2.5 }, 'opossumBreakers.maxBreakers'],
      [{ sharedRotation: 1 as unknown as boolean }, 'opossumBreakers.sharedRotation'],
      [{ enableSnapshots: null as unknown as boolean }, 'opossumBreakers.enableSnapshots'],
      [{ onBreaker: 'log' as unknown as () => void }, 'opossumBreakers.onBreaker'],
      [{ timeout: 1000 } as OpossumBreakersOptions, 'opossumBreakers.timeout'],
    ])('rejects %j at construction', (options, option) => {
      const e = configError(() => opossumBreakers(options));
      expect(e).toBeInstanceOf(DetourConfigError);
      expect(e.code).toBe('DETOUR_CONFIG');
      expect(e.option).toBe(option);
    });

    it('names the option and the value in the message', () => {
      expect(configError(() => opossumBreakers({ resetTimeout: -5 })).message).toBe(
        'Invalid option opossumBreakers.resetTimeout: -5 must be an integer from 1 to 2147483647',
      );
    });

    it('accepts maxBreakers: Infinity and the documented defaults', () => {
      expect(() => opossumBreakers({ maxBreakers: Infinity })).not.toThrow();
      expect(() =>
        opossumBreakers({
          errorThresholdPercentage: 50,
          volumeThreshold: 5,
          rollingCountTimeout: 10_000,
          rollingCountBuckets: 10,
          resetTimeout: 5000,
          lazy: true,
          maxBreakers: 1000,
          sharedRotation: true,
          enableSnapshots: false,
        }),
      ).not.toThrow();
    });
  });
});
