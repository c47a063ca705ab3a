import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import { ratioRetryBudget } from './retry-budget-ratio.js';

/** Spends up to `n` retries at `now`; returns how many were allowed. */
function spend(budget: ReturnType<typeof ratioRetryBudget>, now: number, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (budget.tryRetry(now)) allowed++;
  return allowed;
}

describe('ratioRetryBudget', () => {
  it('defaults to 20 % + 10 retries/s over 10 s (Finagle, Linkerd)', () => {
    const budget = ratioRetryBudget();
    expect(budget).toMatchObject({
      name: 'ratio',
      percent: 20,
      minPerSecond: 10,
      windowMs: 10_000,
    });
    expect(budget.snapshot(0)).toEqual({
      name: 'ratio',
      available: 100,
      refused: 0,
      requests: 0,
      retries: 0,
    });
  });

  it('under a total outage lets through no more than 20 % of requests + 10/s, and all of that', () => {
    // 100 requests/s for 60 s; every attempt fails and every call wants 2 retries.
    const budget = ratioRetryBudget();
    const seconds = 60;
    let requests = 0;
    let retries = 0;
    let refusedCalls = 0;
    const perWindow = new Array<number>(seconds / 10).fill(0);
    for (let i = 0; i < seconds * 100; i++) {
      const t = i * 10;
      budget.onRequest(t);
      budget.onOutcome(t + 1, true);
      requests++;
      for (let k = 0; k < 2; k++) {
        if (!budget.tryRetry(t + 1 + k)) {
          refusedCalls++; // the call gives up
          break;
        }
        budget.onOutcome(t + 2 + k, true);
        retries++;
        perWindow[Math.floor(t / 10_000)]! += 1;
      }
    }
    const bound = 0.2 * requests + 10 * seconds; // 1200 + 600
    expect(bound).toBe(1_800);
    expect(retries).toBeLessThanOrEqual(bound);
    expect(retries).toBeGreaterThanOrEqual(0.98 * bound); // not stingier than configured
    // Each 10 s window: 20 % of its 1000 requests + 100 free.
    for (const count of perWindow) expect(count).toBeLessThanOrEqual(300);
    expect(retries / requests).toBeCloseTo(0.3, 2); // vs 2.0 without a budget
    expect(budget.snapshot(seconds * 1000).refused).toBe(refusedCalls);
  });

  it('gives quiet traffic the 10/s floor', () => {
    const budget = ratioRetryBudget();
    // No first attempts at all; a retry wanted every 10 ms for 60 s.
    let allowed = 0;
    for (let t = 0; t < 60_000; t += 10) if (budget.tryRetry(t)) allowed++;
    expect(allowed).toBe(600);

    // One request a second adds 20 % of 60 requests.
    const light = ratioRetryBudget();
    let lightAllowed = 0;
    for (let t = 0; t < 60_000; t += 10) {
      if (t % 1_000 === 0) light.onRequest(t);
      if (light.tryRetry(t)) lightAllowed++;
    }
    expect(lightAllowed).toBeLessThanOrEqual(600 + 0.2 * 60);
    expect(lightAllowed).toBeGreaterThanOrEqual(600 + 0.2 * 60 - 2);
  });

  it('slides: requests older than the window stop funding retries', () => {
    const fresh = ratioRetryBudget();
    const stale = ratioRetryBudget();
    for (let i = 0; i < 1_000; i++) {
      fresh.onRequest(0);
      stale.onRequest(0);
    }
    expect(fresh.snapshot(5_000)).toMatchObject({ requests: 1_000, available: 300 });
    expect(spend(fresh, 5_000, 1_000)).toBe(300);
    expect(stale.snapshot(10_500)).toMatchObject({ requests: 0, available: 100 });
    expect(spend(stale, 10_500, 1_000)).toBe(100);
  });

  it('slides: retries older than the window stop counting', () => {
    const budget = ratioRetryBudget();
    for (let i = 0; i < 1_000; i++) budget.onRequest(0);
    expect(spend(budget, 0, 1_000)).toBe(300);
    expect(budget.tryRetry(9_999)).toBe(false);
    expect(budget.snapshot(9_999)).toMatchObject({ retries: 300, available: 0, refused: 701 });
    expect(spend(budget, 10_000, 1_000)).toBe(100); // bucket [0, 1000) left the window
  });

  it('keeps buckets of windowMs / 10', () => {
    const budget = ratioRetryBudget({ windowMs: 1_000, minPerSecond: 0, percent: 100 });
    budget.onRequest(0);
    budget.onRequest(450);
    expect(budget.snapshot(999).requests).toBe(2);
    expect(budget.snapshot(1_000).requests).toBe(1); // [0, 100) gone
    expect(budget.snapshot(1_399).requests).toBe(1);
    expect(budget.snapshot(1_400).requests).toBe(0); // [400, 500) gone
  });

  it('survives time standing still, going back, and jumping far ahead', () => {
    const budget = ratioRetryBudget({ minPerSecond: 0, percent: 100 });
    budget.onRequest(5_000);
    budget.onRequest(4_000); // counted in the current bucket
    expect(budget.snapshot(5_000).requests).toBe(2);
    expect(budget.snapshot(1e12).requests).toBe(0);
    budget.onRequest(1e12);
    expect(budget.tryRetry(1e12)).toBe(true);
    expect(budget.tryRetry(1e12)).toBe(false);
  });

  it('allows no retries with percent 0 and minPerSecond 0', () => {
    const budget = ratioRetryBudget({ percent: 0, minPerSecond: 0 });
    for (let i = 0; i < 100; i++) budget.onRequest(i);
    expect(budget.tryRetry(100)).toBe(false);
    expect(budget.snapshot(100)).toMatchObject({ available: 0, refused: 1 });
  });

  it('counts whole retries exactly despite rounding (29 % of 100 is 29)', () => {
    const budget = ratioRetryBudget({ percent: 29, minPerSecond: 0 });
    for (let i = 0; i < 100; i++) budget.onRequest(0);
    expect(spend(budget, 0, 100)).toBe(29);
  });

  it('ignores outcomes', () => {
    const budget = ratioRetryBudget();
    for (let i = 0; i < 1_000; i++) budget.onOutcome(0, true);
    expect(budget.snapshot(0).available).toBe(100);
  });

  it('never exceeds percent × requests + minPerSecond × duration over aligned windows (property)', () => {
    const event = fc.record({ at: fc.integer({ min: 0, max: 39_999 }), retry: fc.boolean() });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(event, { maxLength: 2_000 }),
        (percent, minPerSecond, events) => {
          const budget = ratioRetryBudget({ percent, minPerSecond });
          budget.onRequest(0); // aligns the buckets to 0
          let requests = 1;
          let retries = 0;
          for (const e of [...events].sort((a, b) => a.at - b.at)) {
            if (!e.retry) {
              budget.onRequest(e.at);
              requests++;
            } else if (budget.tryRetry(e.at)) retries++;
          }
          expect(retries).toBeLessThanOrEqual(
            (percent / 100) * requests + minPerSecond * 40 + 1e-9,
          );
        },
      ),
    );
  });

  it.each([
    ['budget.percent', { percent: -1 }, '-1'],
    ['budget.percent', { percent: 101 }, '101'],
    ['budget.percent', { percent: Number.NaN }, 'NaN'],
    ['budget.percent', { percent: '20' }, '"20"'],
    ['budget.minPerSecond', { minPerSecond: -1 }, '-1'],
    ['budget.minPerSecond', { minPerSecond: Infinity }, 'Infinity'],
    ['budget.windowMs', { windowMs: 999 }, '999'],
    ['budget.windowMs', { windowMs: 60_001 }, '60001'],
    ['budget.windowMs', { windowMs: Number.NaN }, 'NaN'],
    ['budget.ttl', { ttl: 10 }, '10'],
    ['budget', null, 'null'],
  ])('rejects %s = %j', (option, options, shown) => {
    const error = configError(() => ratioRetryBudget(options as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });

  it('names the path it is given', () => {
    expect(configError(() => ratioRetryBudget({ percent: 200 }, 'retry.budget')).option).toBe(
      'retry.budget.percent',
    );
  });
});
