import { DetourConfigError, DetourError, isDetourError } from '@detour/core';
import type { Pool } from '@detour/core';
import { manualDetector } from '@detour/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitOpenError } from './circuit-open-error.js';
import { opossumBreakers } from './opossum-breakers.js';
import { poolBreaker } from './pool-breaker.js';
import type { PoolBreakerOptions } from './pool-breaker.js';
import { configError } from './test-support/config-error.js';
import { error, flush, makePool, ok, picks, record, report, sleep } from './test-support/pool.js';
import { settle, trackTimers } from './test-support/timers.js';

const closers: { close(): void }[] = [];
afterEach(() => {
  for (const c of closers.splice(0).reverse()) c.close();
});

function manualSetup<F = never>(options?: PoolBreakerOptions<F>, endpoints?: string[]) {
  const manual = manualDetector();
  const pool = makePool([manual], {}, endpoints);
  const breaker = poolBreaker(pool, options);
  closers.push(pool, breaker);
  let calls = 0;
  const op = (): Promise<string> => {
    calls++;
    return Promise.resolve('answer');
  };
  return { manual, pool, breaker, op, calls: () => calls };
}

function holdAll(manual: ReturnType<typeof manualDetector>, pool: Pool): void {
  for (const r of pool.members()) manual.hold(r.id);
}

describe('poolBreaker', () => {
  it('calls through while an endpoint is eligible', async () => {
    const { manual, breaker, op, calls } = manualSetup();
    manual.hold('a:1');
    manual.hold('b:1');
    expect(breaker.opened).toBe(false);
    await expect(breaker.fire(op)).resolves.toBe('answer');
    expect(calls()).toBe(1);
  });

  it('fails fast with CircuitOpenError while every endpoint is held, without calling fn', async () => {
    const { manual, pool, breaker, op, calls } = manualSetup();
    holdAll(manual, pool);
    expect(breaker.opened).toBe(true);
    const e = await breaker.fire(op).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CircuitOpenError);
    expect(e).toBeInstanceOf(DetourError);
    expect(isDetourError(e)).toBe(true);
    expect(e).toMatchObject({ code: 'DETOUR_CIRCUIT_OPEN', name: 'CircuitOpenError' });
    expect(calls()).toBe(0);
  });

  it('closes as soon as one endpoint is eligible again (probing counts)', async () => {
    const { manual, pool, breaker, op } = manualSetup();
    holdAll(manual, pool);
    expect(breaker.opened).toBe(true);
    manual.release('b:1');
    expect(record(pool, 'b:1').status).toBe('probing');
    expect(breaker.opened).toBe(false);
    await expect(breaker.fire(op)).resolves.toBe('answer');
  });

  it('does not wait for the pool to pick (the pool emits panic only then)', () => {
    const { manual, pool, breaker } = manualSetup();
    holdAll(manual, pool);
    expect(breaker.opened).toBe(true);
    expect(pool.panic).toBe(true); // now the pool computes it, and agrees
    expect(breaker.opened).toBe(true);
  });

  it('is open from the start when created while every endpoint is out', async () => {
    const manual = manualDetector();
    const pool = makePool([manual]);
    closers.push(pool);
    holdAll(manual, pool);
    const breaker = poolBreaker(pool);
    closers.push(breaker);
    expect(breaker.opened).toBe(true);
    await expect(breaker.fire(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('follows membership: open for an empty pool, closed when an endpoint arrives', () => {
    const { pool, breaker } = manualSetup();
    pool.update({ type: 'full', endpoints: [] });
    expect(breaker.opened).toBe(true);
    pool.update({ type: 'full', endpoints: ['d:1'] });
    expect(breaker.opened).toBe(false);
  });

  it('counts an endpoint held as it arrives', () => {
    const { manual, pool, breaker } = manualSetup();
    holdAll(manual, pool);
    pool.update({ type: 'delta', added: ['d:1'] });
    expect(breaker.opened).toBe(false);
    manual.hold('d:1');
    expect(breaker.opened).toBe(true);
  });

  it('uses the fallback while open, with the CircuitOpenError', async () => {
    const seen: unknown[] = [];
    const { manual, pool, breaker, op } = manualSetup({
      fallback: (e) => {
        seen.push(e);
        return 'cached';
      },
    });
    await expect(breaker.fire(op)).resolves.toBe('answer');
    holdAll(manual, pool);
    await expect(breaker.fire(op)).resolves.toBe('cached');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(CircuitOpenError);
  });

  it('passes errors thrown by fn through, without the fallback, and never opens on them', async () => {
    const { breaker } = manualSetup({ fallback: () => 'cached' });
    const boom = new Error('boom');
    for (let i = 0; i < 20; i++) {
      await expect(breaker.fire(() => Promise.reject(boom))).rejects.toBe(boom);
    }
    expect(breaker.opened).toBe(false);
  });

  it('with opossumBreakers: opens when every breaker is open, closes when they go half-open', async () => {
    const pool = makePool([opossumBreakers({ resetTimeout: 60, volumeThreshold: 2 })]);
    const breaker = poolBreaker(pool, { fallback: () => 'fallback' });
    closers.push(pool, breaker);
    for (const id of ['a:1', 'b:1', 'c:1']) report(pool, id, error, 2);
    await flush();
    expect(pool.members().map((r) => r.status)).toEqual(['ejected', 'ejected', 'ejected']);
    expect(breaker.opened).toBe(true);
    let called = false;
    const op = (): Promise<string> => {
      called = true;
      const r = pool.pick()!;
      pool.startAttempt(r);
      pool.endAttempt(r, ok);
      return Promise.resolve(r.id);
    };
    await expect(breaker.fire(op)).resolves.toBe('fallback');
    expect(called).toBe(false);

    await sleep(120); // resetTimeout: every endpoint probes
    expect(breaker.opened).toBe(false);
    await expect(breaker.fire(op)).resolves.toMatch(/^[abc]:1$/);
    expect(called).toBe(true);
    expect(picks(pool, 3)).toHaveLength(3);
  });

  it('close(): stops following the pool, later fires reject, no timer is left', async () => {
    const tracker = trackTimers();
    try {
      const { manual, pool, breaker, op } = manualSetup();
      holdAll(manual, pool); // open: opossum's (backstop) reset timer runs
      expect(tracker.live().length).toBeGreaterThan(0);
      for (const t of tracker.live()) expect(t.timer.hasRef()).toBe(false);
      breaker.close();
      breaker.close();
      await settle();
      expect(tracker.live()).toEqual([]);
      manual.release('a:1');
      const e = await breaker.fire(op).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'DETOUR_BREAKER_SHUT_DOWN' });
      expect(isDetourError(e)).toBe(true);
    } finally {
      tracker.stop();
    }
  });

  describe('configuration', () => {
    it('rejects something that is not a pool', () => {
      expect(configError(() => poolBreaker({} as Pool)).option).toBe('poolBreaker.pool');
      expect(configError(() => poolBreaker(undefined as unknown as Pool)).option).toBe(
        'poolBreaker.pool',
      );
    });

    it.each<[Record<string, unknown>, string]>([
      [{ fallback: 'cached' }, 'poolBreaker.fallback'],
      [{ name: '' }, 'poolBreaker.name'],
      [{ resetTimeout: 10 }, 'poolBreaker.resetTimeout'],
    ])('rejects %j', (options, option) => {
      const pool = makePool([]);
      closers.push(pool);
      const e = configError(() => poolBreaker(pool, options as PoolBreakerOptions));
      expect(e).toBeInstanceOf(DetourConfigError);
      expect(e.option).toBe(option);
    });
  });
});
