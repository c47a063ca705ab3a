import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '../errors.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock, flushMicrotasks } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import { heartbeat } from './heartbeat.js';
import type { PhiAccrualOptions } from './phi-accrual.js';
import { phi, phiAccrual } from './phi-accrual.js';

/** Akka's two-branch formula, for comparison. */
function akkaPhi(timeDiff: number, mean: number, stdDev: number): number {
  const y = (timeDiff - mean) / stdDev;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return timeDiff > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}

function setup(options?: PhiAccrualOptions, endpoints = ['a:1', 'b:1']) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, random: seededRandom(5), endpoints });
  // Most cases use no pause allowance, so the numbers are Akka's formula's; the default is tested apart.
  const detector = t.attach(phiAccrual({ acceptableHeartbeatPauseMs: 0, ...options }));
  /** `count` heartbeats of `id`, `everyMs` apart, the first one now; ends at the last one. */
  const beats = (id: string, count: number, everyMs = 1000): void => {
    for (let i = 0; i < count; i++) {
      if (i > 0) clock.advance(everyMs);
      detector.onHeartbeat!(t.record(id), clock.now());
    }
  };
  return { clock, t, detector, beats };
}

describe('phi()', () => {
  it('matches hand-computed values', () => {
    // y = 0: F = 1/2, φ = log10 2.
    expect(phi(1000, 1000, 100)).toBeCloseTo(0.30103, 5);
    // y = 1: a = 1.5976 + 0.070566 = 1.668166; φ = (a + ln(1 + e^−a)) / ln 10 = 0.79951
    // (the exact normal tail, −log10 0.158655, is 0.79953).
    expect(phi(1100, 1000, 100)).toBeCloseTo(0.79951, 4);
    // y = 2: a = 2 × (1.5976 + 0.282264) = 3.759728; φ = (3.759728 + 0.023016) / 2.302585.
    expect(phi(1200, 1000, 100)).toBeCloseTo(1.64283, 4);
    // y = 5: a = 5 × (1.5976 + 1.76415) = 16.80875; e^−a ≈ 5e−8; φ = a / ln 10 = 7.29995.
    expect(phi(1500, 1000, 100)).toBeCloseTo(7.29995, 4);
    // y = −1: φ = log10(1 + e^−1.668166) = 0.07503.
    expect(phi(900, 1000, 100)).toBeCloseTo(0.07503, 4);
  });

  it("equals Akka's formula, and stays finite where Akka's overflows", () => {
    for (let t = 0; t <= 3000; t += 37) {
      expect(phi(t, 1000, 200)).toBeCloseTo(akkaPhi(t, 1000, 200), 9);
    }
    expect(akkaPhi(10000, 1000, 100)).toBe(Infinity);
    expect(phi(10000, 1000, 100)).toBeGreaterThan(20000);
    expect(Number.isFinite(phi(10000, 1000, 100))).toBe(true);
  });

  it('rises with silence', () => {
    let last = -1;
    for (let t = 0; t <= 5000; t += 50) {
      const level = phi(t, 1000, 100);
      expect(level).toBeGreaterThan(last);
      last = level;
    }
  });

  it('crosses 8 about 5.23 standard deviations after the mean', () => {
    expect(phi(1522, 1000, 100)).toBeLessThan(8);
    expect(phi(1523, 1000, 100)).toBeGreaterThanOrEqual(8);
  });
});

describe('phiAccrual', () => {
  it('is named phi-accrual', () => {
    expect(phiAccrual().name).toBe('phi-accrual');
  });

  it('holds an endpoint about 1.52 s after the last of regular 1 s heartbeats', () => {
    const { clock, t, beats } = setup();
    beats('a:1', 20);
    const last = clock.now();
    clock.advanceTo(last + 1500);
    expect(t.held.size).toBe(0);
    clock.advanceTo(last + 1600); // φ crosses 8 at +1522.6 ms; the next check is at +1600
    expect(t.holds).toEqual([
      {
        id: 'a:1',
        detector: 'phi-accrual',
        fault: { kind: 'probe-failed', code: 'phi', message: 'phi=10.8' },
      },
    ]);
    expect(t.record('a:1').status).toBe('ejected');
    expect(t.held.has('b:1')).toBe(false); // never sent a heartbeat: not judged
  });

  it('by default tolerates one lost 1 s heartbeat and holds after two (about 2.52 s)', () => {
    const clock = new ManualClock();
    const t = createTestDetectorHost({ clock, random: seededRandom(5), endpoints: ['a:1'] });
    const detector = t.attach(phiAccrual());
    for (let i = 0; i < 20; i++) {
      if (i > 0) clock.advance(1000);
      detector.onHeartbeat!(t.record('a:1'), clock.now());
    }
    const last = clock.now();
    clock.advanceTo(last + 2500);
    expect(t.held.size).toBe(0);
    clock.advanceTo(last + 2600);
    expect(t.held.has('a:1')).toBe(true);
    detector.close();
  });

  it('does not hold while heartbeats keep coming', () => {
    const { clock, t, beats } = setup();
    beats('a:1', 100);
    clock.advance(1000);
    expect(t.holds).toEqual([]);
  });

  it('suspects an endpoint with a single heartbeat, from the bootstrap history', () => {
    // History {750, 1250}: mean 1000, σ 250; φ = 8 at 1000 + 5.226 × 250 = 2306.5 ms.
    const { clock, t, beats } = setup();
    beats('a:1', 1);
    clock.advanceTo(2300);
    expect(t.held.size).toBe(0);
    clock.advanceTo(2400);
    expect([...t.held]).toEqual(['a:1']);
  });

  it('releases on the next heartbeat and keeps that interval out of the history', () => {
    const { clock, t, detector, beats } = setup();
    beats('a:1', 20);
    clock.advance(5000);
    expect(t.held.has('a:1')).toBe(true);
    detector.onHeartbeat!(t.record('a:1'), clock.now());
    expect(t.held.has('a:1')).toBe(false);
    expect(t.releases).toEqual([{ id: 'a:1', detector: 'phi-accrual' }]);
    expect(t.record('a:1').status).toBe('probing');
    // With the 5 s pause in the history (mean ≈ 1190 ms, σ ≈ 870 ms) φ would stay low for
    // seconds; without it the endpoint is suspected 1.6 s after the last heartbeat again.
    clock.advance(1000);
    beats('a:1', 3);
    const last = clock.now();
    clock.advanceTo(last + 1500);
    expect(t.holds).toHaveLength(1);
    clock.advanceTo(last + 1600);
    expect(t.holds).toHaveLength(2);
  });

  it('acceptableHeartbeatPauseMs shifts the mean', () => {
    const { clock, t, beats } = setup({ acceptableHeartbeatPauseMs: 1000 });
    beats('a:1', 20);
    const last = clock.now();
    clock.advanceTo(last + 2500);
    expect(t.held.size).toBe(0);
    clock.advanceTo(last + 2600);
    expect(t.held.size).toBe(1);
  });

  it('keeps only maxSampleSize intervals', () => {
    // After 10 intervals of 2 s the bootstrap {750, 1250} has left a ring of 4: mean 2000, σ
    // floored at 100, so φ = 8 at +2522.6 ms. With the bootstrap kept it would be far earlier.
    const { clock, t, beats } = setup({ maxSampleSize: 4 });
    beats('a:1', 11, 2000);
    const last = clock.now();
    clock.advanceTo(last + 2500);
    expect(t.held.size).toBe(0);
    clock.advanceTo(last + 2600);
    expect(t.held.size).toBe(1);
  });

  it('adapts to a slower heartbeat rate', () => {
    const { clock, t, beats } = setup({ maxSampleSize: 10 });
    beats('a:1', 5, 1000);
    beats('a:1', 1, 1400); // φ(1400) ≈ 3.9: accepted
    beats('a:1', 30, 1400);
    const last = clock.now();
    clock.advanceTo(last + 1900);
    expect(t.held.size).toBe(0);
    clock.advanceTo(last + 2000);
    expect(t.held.size).toBe(1);
  });

  it('counts successful responses as heartbeats only with countResponses', () => {
    const off = setup();
    for (let i = 0; i < 20; i++) {
      off.t.feed(off.detector, 'a:1', { kind: 'success', latencyMs: 1 });
      off.clock.advance(1000);
    }
    off.clock.advance(10000);
    expect(off.t.holds).toEqual([]);
    expect(off.t.ejected).toEqual([]);
  });

  it('with countResponses only, ejects for a time instead of holding (a hold could never end)', () => {
    const { clock, t, detector } = setup({ countResponses: true });
    for (let i = 0; i < 20; i++) {
      if (i > 0) clock.advance(1000);
      t.feed(detector, 'a:1', { kind: 'success', latencyMs: 1 });
      t.feed(detector, 'a:1', { kind: 'error', latencyMs: 1 }); // failures are not heartbeats
    }
    const last = clock.now();
    clock.advanceTo(last + 1500);
    expect(t.ejected).toEqual([]);
    clock.advanceTo(last + 1600);
    expect(t.holds).toEqual([]);
    expect(t.ejected).toEqual([
      {
        id: 'a:1',
        detector: 'phi-accrual',
        fault: { kind: 'timeout', code: 'phi', message: 'phi=10.8' },
      },
    ]);
    // Ejected: no calls, no judgement, however long.
    clock.advance(60000);
    expect(t.ejected).toHaveLength(1);
    // Back in service: the silence restarts at the status change.
    t.restore('a:1');
    clock.advance(1500);
    expect(t.ejected).toHaveLength(1);
    clock.advance(100);
    expect(t.ejected).toHaveLength(2);
  });

  it('with countResponses and a refused ejection, asks again after another full rise', () => {
    const { clock, t, detector } = setup({ countResponses: true });
    t.refuseEject = true;
    for (let i = 0; i < 20; i++) {
      if (i > 0) clock.advance(1000);
      t.feed(detector, 'a:1', { kind: 'success', latencyMs: 1 });
    }
    clock.advance(1600);
    expect(t.refused).toHaveLength(1);
    clock.advance(1500);
    expect(t.refused).toHaveLength(1);
    clock.advance(100);
    expect(t.refused).toHaveLength(2);
  });

  it("works with the heartbeat detector's probes through the host", async () => {
    const clock = new ManualClock();
    const t = createTestDetectorHost({ clock, random: seededRandom(9), endpoints: ['a:1', 'b:1'] });
    let aHealthy = true;
    let lastHealthyAt = 0;
    t.attach(
      heartbeat({
        probe: (endpoint) => {
          if (endpoint.id !== 'a:1') return Promise.resolve(true);
          if (aHealthy) lastHealthyAt = clock.now();
          return Promise.resolve(aHealthy);
        },
        initialDelayMs: 0,
        unhealthyThreshold: 5,
      }),
    );
    t.attach(phiAccrual({ acceptableHeartbeatPauseMs: 0 }));
    await clock.advanceAsync(20000, 10);
    expect(t.holds).toEqual([]);
    aHealthy = false;
    let heldAt: number | undefined;
    while (heldAt === undefined && clock.now() < 30000) {
      await clock.advanceAsync(10);
      if (t.held.has('a:1')) heldAt = clock.now();
    }
    // Jittered 1 s heartbeats: σ is under the 100 ms floor, so φ = 8 at about +1.52 s, and the
    // 100 ms checks see it within 100 ms.
    expect(heldAt! - lastHealthyAt).toBeGreaterThanOrEqual(1500);
    expect(heldAt! - lastHealthyAt).toBeLessThanOrEqual(1700);
    expect(t.holds.map((h) => `${h.id} ${h.detector}`)).toEqual(['a:1 phi-accrual']);
    expect(t.holds[0]!.fault).toMatchObject({ kind: 'probe-failed', code: 'phi' });
    aHealthy = true;
    await clock.advanceAsync(1200, 10);
    await flushMicrotasks();
    expect(t.releases.map((r) => `${r.id} ${r.detector}`)).toEqual(['a:1 phi-accrual']);
    expect(t.held.size).toBe(0);
  });

  it('forgets removed endpoints and ignores draining ones', () => {
    const { clock, t, beats } = setup();
    beats('a:1', 5);
    t.remove('a:1');
    clock.advance(10000);
    expect(t.holds).toEqual([]);
  });

  it('close() cancels the check timer', () => {
    const { clock, t, detector, beats } = setup();
    beats('a:1', 5);
    expect(clock.pendingTimers).toBe(1);
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(10000);
    expect(t.holds).toEqual([]);
  });

  it.each([
    ['phiAccrual.threshold', { threshold: 0 }, '0'],
    ['phiAccrual.threshold', { threshold: -8 }, '-8'],
    ['phiAccrual.threshold', { threshold: Number.NaN }, 'NaN'],
    ['phiAccrual.maxSampleSize', { maxSampleSize: 1 }, '1'],
    ['phiAccrual.maxSampleSize', { maxSampleSize: 10.5 }, '10.5'],
    ['phiAccrual.minStdDeviationMs', { minStdDeviationMs: 0 }, '0'],
    ['phiAccrual.acceptableHeartbeatPauseMs', { acceptableHeartbeatPauseMs: -1 }, '-1'],
    ['phiAccrual.acceptableHeartbeatPauseMs', { acceptableHeartbeatPauseMs: Infinity }, 'Infinity'],
    ['phiAccrual.firstHeartbeatEstimateMs', { firstHeartbeatEstimateMs: 0 }, '0'],
    ['phiAccrual.checkIntervalMs', { checkIntervalMs: '100' }, '"100"'],
    ['phiAccrual.countResponses', { countResponses: 'yes' }, '"yes"'],
    ['phiAccrual.maxSamples', { maxSamples: 100 }, '100'],
  ])('rejects %s in %j', (option, options, shown) => {
    expect(() => phiAccrual(options as never)).toThrow(DetourConfigError);
    expect(() => phiAccrual(options as never)).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
