import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '../errors.js';
import type { Outcome } from '../outcome.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock } from '../testing/manual-clock.js';
import { consecutiveFailures } from './consecutive-failures.js';

const ok: Outcome = { kind: 'success', latencyMs: 1 };
const error: Outcome = { kind: 'error', latencyMs: 1, code: 14, message: 'UNAVAILABLE' };

function setup(options?: Parameters<typeof consecutiveFailures>[0]) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, endpoints: ['a:1', 'b:1'] });
  const detector = t.attach(consecutiveFailures(options));
  return { clock, t, detector };
}

describe('consecutiveFailures', () => {
  it('is named consecutive-failures', () => {
    expect(consecutiveFailures().name).toBe('consecutive-failures');
  });

  it('ejects at the 5th failure in a row, not at the 4th', () => {
    const { t, detector } = setup();
    t.feed(detector, 'a:1', error, 4);
    expect(t.ejected).toEqual([]);
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toEqual([
      {
        id: 'a:1',
        detector: 'consecutive-failures',
        fault: { kind: 'error', code: 14, message: '5 consecutive failures; last: UNAVAILABLE' },
      },
    ]);
    expect(t.record('a:1').status).toBe('ejected');
    expect(t.record('b:1').status).toBe('healthy');
  });

  it('resets on success', () => {
    const { t, detector } = setup();
    t.feed(detector, 'a:1', error, 4);
    t.feed(detector, 'a:1', ok);
    t.feed(detector, 'a:1', error, 4);
    expect(t.ejected).toEqual([]);
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toHaveLength(1);
  });

  it('counts timeouts and rejections as failures, and reports the last kind', () => {
    const { t, detector } = setup();
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 1000 }, 2);
    t.feed(detector, 'a:1', { kind: 'rejected', latencyMs: 1, code: 429 }, 2);
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 1000 });
    expect(t.ejected[0]!.fault).toMatchObject({ kind: 'timeout' });
  });

  it('counts each endpoint separately', () => {
    const { t, detector } = setup();
    for (let i = 0; i < 4; i++) {
      t.feed(detector, 'a:1', error);
      t.feed(detector, 'b:1', error);
    }
    expect(t.ejected).toEqual([]);
  });

  it('starts afresh after an ejection and a restore', () => {
    const { t, detector } = setup();
    t.feed(detector, 'a:1', error, 5);
    t.restore('a:1');
    t.feed(detector, 'a:1', error, 4);
    expect(t.ejected).toHaveLength(1);
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toHaveLength(2);
  });

  it('resets on any status change', () => {
    const { t, detector } = setup();
    t.feed(detector, 'a:1', error, 4);
    detector.onStatusChange!(t.record('a:1'));
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toEqual([]);
  });

  it('resets after a refused ejection and asks again after threshold more failures', () => {
    const { t, detector } = setup();
    t.refuseEject = true;
    t.feed(detector, 'a:1', error, 5);
    expect(t.refused).toHaveLength(1);
    t.feed(detector, 'a:1', error, 4);
    expect(t.refused).toHaveLength(1);
    t.refuseEject = false;
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toHaveLength(1);
  });

  it('ignores draining endpoints', () => {
    const { t, detector } = setup();
    t.remove('a:1');
    t.feed(detector, 'a:1', error, 10);
    expect(t.ejected).toEqual([]);
    expect(t.refused).toEqual([]);
  });

  it('honours a custom threshold', () => {
    const { t, detector } = setup({ threshold: 1 });
    t.feed(detector, 'a:1', error);
    expect(t.ejected).toHaveLength(1);
  });

  it('sets no timer', () => {
    const { clock, detector } = setup();
    expect(clock.pendingTimers).toBe(0);
    detector.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([
    ['consecutiveFailures.threshold', { threshold: 0 }, '0'],
    ['consecutiveFailures.threshold', { threshold: -1 }, '-1'],
    ['consecutiveFailures.threshold', { threshold: 2.5 }, '2.5'],
    ['consecutiveFailures.threshold', { threshold: Number.NaN }, 'NaN'],
    ['consecutiveFailures.threshold', { threshold: Infinity }, 'Infinity'],
    ['consecutiveFailures.threshold', { threshold: '5' }, '"5"'],
    ['consecutiveFailures.treshold', { treshold: 5 }, '5'],
    ['consecutiveFailures', null, 'null'],
  ])('rejects %s = %j', (option, options, shown) => {
    expect(() => consecutiveFailures(options as never)).toThrow(DetourConfigError);
    expect(() => consecutiveFailures(options as never)).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
