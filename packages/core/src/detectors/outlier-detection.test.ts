import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '../errors.js';
import type { Outcome } from '../outcome.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import type { OutlierDetectionOptions } from './outlier-detection.js';
import { outlierDetection } from './outlier-detection.js';

const ok: Outcome = { kind: 'success', latencyMs: 1 };
const error: Outcome = { kind: 'error', latencyMs: 1, code: 503 };

function setup(options?: OutlierDetectionOptions, endpoints = ['a:1', 'b:1', 'c:1']) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, random: seededRandom(7), endpoints });
  const detector = t.attach(outlierDetection(options));
  /** Feeds `successes` then `failures` outcomes to `id`. */
  const calls = (id: string, successes: number, failures: number): void => {
    t.feed(detector, id, ok, successes);
    t.feed(detector, id, error, failures);
  };
  return { clock, t, detector, calls };
}

describe('outlierDetection', () => {
  it('is named outlier-detection', () => {
    expect(outlierDetection().name).toBe('outlier-detection');
  });

  it('failure percentage: ejects a host failing 50 % among 3, not the healthy ones', () => {
    const { clock, t, calls } = setup({ successRate: false });
    calls('a:1', 5, 5);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(999);
    expect(t.ejected).toEqual([]);
    clock.advance(1);
    expect(t.ejected).toEqual([
      {
        id: 'a:1',
        detector: 'outlier-detection',
        fault: {
          kind: 'error',
          code: 'failure-percentage',
          message: '50.0% of 10 calls failed (threshold 40.0%)',
        },
      },
    ]);
  });

  it('failure percentage: not at the threshold, only above it', () => {
    const { clock, t, calls } = setup({ successRate: false });
    calls('a:1', 6, 4);
    calls('b:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('success rate: ejects a host succeeding 50 % among 3, not the healthy ones', () => {
    const { clock, t, calls } = setup({ failurePercentage: false });
    calls('a:1', 5, 5);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toHaveLength(1);
    expect(t.ejected[0]).toMatchObject({
      id: 'a:1',
      fault: { kind: 'error', code: 'success-rate' },
    });
    expect(t.ejected[0]!.fault.message).toBe(
      'success rate 50.0% of 10 calls is below the limit 62.1% (mean 83.3% of 3 endpoints)',
    );
  });

  it('ejects an endpoint once per sweep when both algorithms flag it', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 5, 5);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
    expect(t.refused).toEqual([]);
  });

  it('counts timeouts and rejections as failures', () => {
    const { clock, t, detector, calls } = setup({ successRate: false });
    t.feed(detector, 'a:1', ok, 5);
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 1000 }, 3);
    t.feed(detector, 'a:1', { kind: 'rejected', latencyMs: 1, code: 429 }, 2);
    calls('b:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('judges only hosts with requestVolume calls in the interval', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 4, 5); // 9 calls: not judged
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('judges nobody with fewer than minimumHosts qualifying hosts', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 0, 20);
    calls('b:1', 9, 0);
    calls('c:1', 9, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('judges a fleet of one only with minimumHosts 1', () => {
    const one = setup(undefined, ['a:1']);
    one.calls('a:1', 0, 20);
    one.clock.advance(1000);
    expect(one.t.ejected).toEqual([]);

    const alone = setup({ failurePercentage: { minimumHosts: 1 } }, ['a:1']);
    alone.calls('a:1', 0, 20);
    alone.clock.advance(1000);
    expect(alone.t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('with windowMs = intervalMs, looks only at the calls since the previous sweep (A50)', () => {
    const { clock, t, calls } = setup({ windowMs: 1000 });
    calls('a:1', 0, 6);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000); // a: 6 calls, not judged
    calls('a:1', 6, 0);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000); // a: 6 successes; 6 of 12 failed overall, but not in one interval
    expect(t.ejected).toEqual([]);
  });

  it('judges the last windowMs: an endpoint getting few calls is caught once it has requestVolume', () => {
    const { clock, t, calls } = setup();
    for (let second = 1; second <= 3; second++) {
      calls('a:1', 1, 3); // 4 calls a second, 75 % failed: below requestVolume in any one second
      calls('b:1', 20, 0);
      calls('c:1', 20, 0);
      clock.advance(1000);
      expect(t.ejected.map((v) => v.id)).toEqual(second < 3 ? [] : ['a:1']);
    }
    expect(t.ejected[0]!.fault.message).toContain('of 12 calls');
  });

  it('forgets calls older than windowMs', () => {
    const { clock, t, calls } = setup({ windowMs: 3000 });
    calls('a:1', 0, 6);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(3000); // a's failures are in the window for sweeps at 1, 2 and 3 s only
    calls('a:1', 6, 0);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it("forgets an ejected endpoint's history: it comes back with a clean slate", () => {
    const { clock, t, calls } = setup();
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected.map((v) => v.id)).toEqual(['a:1']);
    clock.advance(1000); // a is ejected: nothing is counted for it
    t.restore('a:1');
    for (let second = 0; second < 5; second++) {
      calls('a:1', 3, 0);
      calls('b:1', 10, 0);
      calls('c:1', 10, 0);
      clock.advance(1000);
    }
    expect(t.ejected).toHaveLength(1); // the 10 old failures are not held against it
  });

  it('sweeps every intervalMs', () => {
    const { clock, t, calls } = setup({ intervalMs: 250 });
    clock.advance(250);
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    clock.advance(249);
    expect(t.ejected).toEqual([]);
    clock.advance(1);
    expect(t.ejected).toHaveLength(1);
  });

  it('success rate: a 2-host fleet needs the minimum gap', () => {
    const near = setup();
    near.calls('a:1', 19, 1); // 95 % against 100 %: 2.5 points below the mean
    near.calls('b:1', 20, 0);
    near.clock.advance(1000);
    expect(near.t.ejected).toEqual([]);

    const noGap = setup({ successRate: { minimumGapPercent: 0 }, failurePercentage: false });
    noGap.calls('a:1', 19, 1); // z-score 1 > 0.9: ejected without the gap
    noGap.calls('b:1', 20, 0);
    noGap.clock.advance(1000);
    expect(noGap.t.ejected.map((e) => e.id)).toEqual(['a:1']);

    const far = setup();
    far.calls('a:1', 16, 4); // 80 % against 100 %: exactly 10 points below the mean of 90 %
    far.calls('b:1', 20, 0);
    far.clock.advance(1000);
    expect(far.t.ejected.map((e) => `${e.id} ${e.fault.code}`)).toEqual(['a:1 success-rate']);
  });

  it("success rate: A50's stdev factor 1.9 can never eject one of 3 hosts", () => {
    const { clock, t, calls } = setup({
      successRate: { stdevFactor: 1.9 },
      failurePercentage: false,
    });
    calls('a:1', 0, 100);
    calls('b:1', 100, 0);
    calls('c:1', 100, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('success rate: equal rates eject nobody', () => {
    const { clock, t, calls } = setup({ failurePercentage: false });
    calls('a:1', 5, 5);
    calls('b:1', 5, 5);
    calls('c:1', 5, 5);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('enforces with probability enforcementPercent', () => {
    const never = setup({ enforcementPercent: 0 });
    never.calls('a:1', 0, 10);
    never.calls('b:1', 10, 0);
    never.clock.advance(1000);
    expect(never.t.ejected).toEqual([]);

    const own = setup({ enforcementPercent: 0, failurePercentage: { enforcementPercent: 100 } });
    own.calls('a:1', 0, 10);
    own.calls('b:1', 10, 0);
    own.clock.advance(1000);
    expect(own.t.ejected.map((e) => e.fault.code)).toEqual(['failure-percentage']);

    const half = setup({ successRate: false, failurePercentage: { enforcementPercent: 50 } });
    let ejected = 0;
    for (let i = 0; i < 200; i++) {
      half.calls('a:1', 0, 10);
      half.calls('b:1', 10, 0);
      half.clock.advance(1000);
      if (half.t.ejected.length > 0) {
        ejected++;
        half.t.ejected.length = 0;
        half.t.restore('a:1');
      }
    }
    expect(ejected).toBeGreaterThan(70);
    expect(ejected).toBeLessThan(130);
  });

  it('asks again at the next sweep after a refusal', () => {
    const { clock, t, calls } = setup();
    t.refuseEject = true;
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    clock.advance(1000);
    expect(t.refused).toHaveLength(1);
    t.refuseEject = false;
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toHaveLength(1);
  });

  it('ignores draining endpoints', () => {
    const { clock, t, calls } = setup();
    t.remove('a:1');
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    calls('c:1', 10, 0);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
    expect(t.refused).toEqual([]);
  });

  it('close() cancels the sweep', () => {
    const { clock, t, detector, calls } = setup();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(3000);
    expect(clock.pendingTimers).toBe(1);
    calls('a:1', 0, 10);
    calls('b:1', 10, 0);
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(t.ejected).toEqual([]);
  });

  it.each([
    ['outlierDetection.intervalMs', { intervalMs: 0 }, '0'],
    ['outlierDetection.intervalMs', { intervalMs: -5 }, '-5'],
    ['outlierDetection.intervalMs', { intervalMs: Infinity }, 'Infinity'],
    ['outlierDetection.enforcementPercent', { enforcementPercent: 101 }, '101'],
    ['outlierDetection.enforcementPercent', { enforcementPercent: -1 }, '-1'],
    ['outlierDetection.successRate', { successRate: true }, 'true'],
    ['outlierDetection.successRate.stdevFactor', { successRate: { stdevFactor: -0.5 } }, '-0.5'],
    [
      'outlierDetection.successRate.stdevFactor',
      { successRate: { stdevFactor: Number.NaN } },
      'NaN',
    ],
    [
      'outlierDetection.successRate.minimumGapPercent',
      { successRate: { minimumGapPercent: 150 } },
      '150',
    ],
    ['outlierDetection.successRate.minimumHosts', { successRate: { minimumHosts: 0 } }, '0'],
    ['outlierDetection.successRate.minimumHosts', { successRate: { minimumHosts: 1.5 } }, '1.5'],
    ['outlierDetection.successRate.requestVolume', { successRate: { requestVolume: 0 } }, '0'],
    [
      'outlierDetection.successRate.enforcementPercent',
      { successRate: { enforcementPercent: 200 } },
      '200',
    ],
    ['outlierDetection.successRate.stdev', { successRate: { stdev: 1 } }, '1'],
    ['outlierDetection.failurePercentage', { failurePercentage: 'on' }, '"on"'],
    [
      'outlierDetection.failurePercentage.thresholdPercent',
      { failurePercentage: { thresholdPercent: 100.5 } },
      '100.5',
    ],
    [
      'outlierDetection.failurePercentage.thresholdPercent',
      { failurePercentage: { thresholdPercent: -1 } },
      '-1',
    ],
    [
      'outlierDetection.failurePercentage.minimumHosts',
      { failurePercentage: { minimumHosts: -2 } },
      '-2',
    ],
    [
      'outlierDetection.failurePercentage.requestVolume',
      { failurePercentage: { requestVolume: '10' } },
      '"10"',
    ],
    [
      'outlierDetection.failurePercentage.enforcementPercent',
      { failurePercentage: { enforcementPercent: Infinity } },
      'Infinity',
    ],
    [
      'outlierDetection.failurePercentage',
      { successRate: false, failurePercentage: false },
      'false',
    ],
    ['outlierDetection.interval', { interval: 1000 }, '1000'],
    ['outlierDetection.windowMs', { windowMs: 1500 }, '1500'],
    ['outlierDetection.windowMs', { intervalMs: 100, windowMs: 20_000 }, '20000'],
    ['outlierDetection.windowMs', { windowMs: 0 }, '0'],
  ])('rejects %s in %j', (option, options, shown) => {
    expect(() => outlierDetection(options as never)).toThrow(DetourConfigError);
    expect(() => outlierDetection(options as never)).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
