import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '../errors.js';
import { createTestDetectorHost } from '../testing/detector-host.js';
import { ManualClock } from '../testing/manual-clock.js';
import type { LatencyOutlierOptions } from './latency-outlier.js';
import { latencyOutlier, medianWithout } from './latency-outlier.js';

function setup(options?: LatencyOutlierOptions, endpoints = ['a:1', 'b:1', 'c:1']) {
  const clock = new ManualClock();
  const t = createTestDetectorHost({ clock, endpoints });
  const detector = t.attach(latencyOutlier(options));
  /** `count` successful outcomes of `latencyMs` on `id`. */
  const calls = (id: string, latencyMs: number, count = 10): void => {
    t.feed(detector, id, { kind: 'success', latencyMs }, count);
  };
  return { clock, t, detector, calls };
}

describe('latencyOutlier', () => {
  it('is named latency-outlier', () => {
    expect(latencyOutlier().name).toBe('latency-outlier');
  });

  it('ejects a 50 ms host among 1 ms peers at the second sweep that finds it so, not the peers', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 50);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250); // the first sweep: an outlier once
    expect(t.ejected).toEqual([]);
    calls('a:1', 50);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(249);
    expect(t.ejected).toEqual([]);
    clock.advance(1); // the second sweep in a row
    expect(t.ejected).toEqual([
      {
        id: 'a:1',
        detector: 'latency-outlier',
        fault: {
          kind: 'error',
          code: 'latency-outlier',
          message: 'latency 50.0 ms is over 3 × the median 1.0 ms of 2 peers',
        },
      },
    ]);
  });

  it('does not eject 0.3 ms against 0.1 ms (minimumLatencyMs)', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 0.3);
    calls('b:1', 0.1);
    calls('c:1', 0.1);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('needs both the factor and the margin', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 250); // +150 ms but only 2.5 ×
    calls('b:1', 100);
    calls('c:1', 100);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('works with two hosts, comparing each with the other', () => {
    const { clock, t, calls } = setup(undefined, ['a:1', 'b:1']);
    calls('a:1', 50);
    calls('b:1', 1);
    clock.advance(1000);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('compares with the median of the others, so two slow hosts among five are both caught', () => {
    const { clock, t, calls } = setup(undefined, ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']);
    calls('a:1', 80);
    calls('b:1', 90);
    calls('c:1', 5);
    calls('d:1', 5);
    calls('e:1', 6);
    clock.advance(1000);
    expect(t.ejected.map((e) => e.id).sort()).toEqual(['a:1', 'b:1']);
  });

  it('judges an endpoint with few outcomes per interval on earlier intervals too', () => {
    // P2C sends a slow replica only a few calls per interval: they add up over the window.
    const { clock, t, calls } = setup();
    for (let sweep = 0; sweep < 2; sweep++) {
      calls('a:1', 50, 4);
      calls('b:1', 1);
      calls('c:1', 1);
      clock.advance(250);
    }
    expect(t.ejected).toEqual([]); // 8 outcomes: too few so far
    calls('a:1', 50, 4);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250); // 12 outcomes in the last 750 ms: an outlier once
    expect(t.ejected).toEqual([]);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250); // the same 12, still within the window: twice
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('never counts outcomes older than windowMs', () => {
    const { clock, t, calls } = setup({ windowMs: 500 });
    calls('a:1', 50, 9);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250);
    calls('a:1', 50, 1);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250); // the 9 ended 500 ms ago: out of the window
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250);
    expect(t.ejected).toEqual([]);
    // With the default window of 1000 ms, the same outcomes do make an outlier.
    const wide = setup();
    wide.calls('a:1', 50, 9);
    for (let sweep = 0; sweep < 4; sweep++) {
      if (sweep === 2) wide.calls('a:1', 50, 1);
      wide.calls('b:1', 1);
      wide.calls('c:1', 1);
      wide.clock.advance(250);
    }
    expect(wide.t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('does not eject a replica that stalls now and then: the interval after a stall finds it fast', () => {
    const stall = (consecutiveSweeps?: number): string[] => {
      const { clock, t, calls } = setup(consecutiveSweeps ? { consecutiveSweeps } : undefined);
      for (let sweep = 0; sweep < 6; sweep++) {
        if (sweep % 2 === 0) {
          calls('a:1', 1, 40);
          calls('a:1', 120, 12); // the calls that waited for a 120 ms pause
        } else calls('a:1', 1, 50);
        calls('b:1', 1, 50);
        calls('c:1', 1, 50);
        clock.advance(250);
      }
      return t.ejected.map((e) => e.id);
    };
    expect(stall()).toEqual([]);
    expect(stall(1)).toEqual(['a:1']); // one sweep would have ejected it
  });

  it("forgets an ejected endpoint's outcomes: back from the ejection, it is judged on new ones", () => {
    const { clock, t, calls } = setup();
    calls('a:1', 50);
    for (let sweep = 0; sweep < 2; sweep++) {
      calls('b:1', 1);
      calls('c:1', 1);
      clock.advance(250);
    }
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
    t.restore('a:1'); // back before its slow outcomes left the window
    for (let sweep = 0; sweep < 2; sweep++) {
      calls('a:1', 1, 4); // too few alone; with the slow ones they would make an outlier
      calls('b:1', 1);
      calls('b:1', 1);
      calls('c:1', 1);
      clock.advance(250);
    }
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
    expect(t.refused).toEqual([]);
  });

  it('with consecutiveSweeps 1, ejects at the first sweep', () => {
    const { clock, t, calls } = setup({ consecutiveSweeps: 1 });
    calls('a:1', 50);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('keeps counting sweeps while an ejection is refused, and ejects once it is allowed', () => {
    const { clock, t, calls } = setup();
    t.refuseEject = true;
    calls('a:1', 50);
    for (let sweep = 0; sweep < 3; sweep++) {
      calls('b:1', 1);
      calls('c:1', 1);
      clock.advance(250);
    }
    expect(t.ejected).toEqual([]);
    expect(t.refused.map((e) => e.id)).toEqual(['a:1', 'a:1']);
    t.refuseEject = false;
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(250);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('judges nobody with fewer than minimumHosts qualifying endpoints', () => {
    const { clock, t, calls } = setup({ minimumHosts: 3 });
    calls('a:1', 50);
    calls('b:1', 1);
    calls('c:1', 1, 5);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('ignores draining endpoints', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 50);
    calls('b:1', 1);
    calls('c:1', 1);
    t.remove('a:1');
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
    expect(t.refused).toEqual([]);
  });

  it('counts failed outcomes too (a timeout is slow)', () => {
    const { clock, t, detector, calls } = setup();
    t.feed(detector, 'a:1', { kind: 'timeout', latencyMs: 1000 }, 10);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(1000);
    expect(t.ejected.map((e) => e.id)).toEqual(['a:1']);
  });

  it('leaves out the slowest outcome: one slow first call does not make an outlier', () => {
    // A new connection's first call (TCP, TLS, HTTP/2 set-up, a cold JIT) took 250 ms; the
    // replica then answers as fast as its peers. Judged by its EWMA it was ejected.
    const { clock, t, calls } = setup();
    calls('a:1', 250, 1);
    calls('a:1', 1, 15);
    calls('b:1', 1, 16);
    calls('c:1', 1, 16);
    clock.advance(1000);
    expect(t.ejected).toEqual([]);
  });

  it('still ejects a host that is slow on every call but one', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 1, 1);
    calls('a:1', 60, 10);
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(1000);
    expect(t.ejected.map((e) => [e.id, e.fault.message])).toEqual([
      ['a:1', 'latency 54.1 ms is over 3 × the median 1.0 ms of 2 peers'],
    ]);
  });

  it('judges the mean without the slowest outcome (two slow calls in eleven do count)', () => {
    const { clock, t, calls } = setup();
    calls('a:1', 1, 9);
    calls('a:1', 250, 2); // mean without one 250: (9 + 250) / 10 = 25.9 ms
    calls('b:1', 1);
    calls('c:1', 1);
    clock.advance(1000);
    expect(t.ejected.map((e) => [e.id, e.fault.message])).toEqual([
      ['a:1', 'latency 25.9 ms is over 3 × the median 1.0 ms of 2 peers'],
    ]);
  });

  it('close() cancels the sweep', () => {
    const { clock, t, detector, calls } = setup();
    calls('a:1', 50);
    calls('b:1', 1);
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(5000);
    expect(t.ejected).toEqual([]);
  });

  it('medianWithout() is the median of the other elements', () => {
    expect(medianWithout([1, 50], 1)).toBe(1);
    expect(medianWithout([1, 50], 0)).toBe(50);
    expect(medianWithout([1, 2, 3], 0)).toBe(2.5);
    expect(medianWithout([1, 2, 3], 1)).toBe(2);
    expect(medianWithout([1, 2, 3], 2)).toBe(1.5);
    expect(medianWithout([1, 2, 3, 10], 3)).toBe(2);
    expect(medianWithout([1, 2, 3, 10], 0)).toBe(3);
  });

  it.each([
    ['latencyOutlier.factor', { factor: 0.5 }, '0.5'],
    ['latencyOutlier.factor', { factor: Number.NaN }, 'NaN'],
    ['latencyOutlier.minimumHosts', { minimumHosts: 1 }, '1'],
    ['latencyOutlier.minimumHosts', { minimumHosts: 2.5 }, '2.5'],
    ['latencyOutlier.minimumLatencyMs', { minimumLatencyMs: -1 }, '-1'],
    ['latencyOutlier.minimumLatencyMs', { minimumLatencyMs: Infinity }, 'Infinity'],
    ['latencyOutlier.requestVolume', { requestVolume: 0 }, '0'],
    ['latencyOutlier.intervalMs', { intervalMs: 0 }, '0'],
    ['latencyOutlier.intervalMs', { intervalMs: '1s' }, '"1s"'],
    ['latencyOutlier.windowMs', { windowMs: 0 }, '0'],
    [
      'latencyOutlier.windowMs',
      { intervalMs: 500, windowMs: 400 },
      '>= latencyOutlier.intervalMs (500)',
    ],
    ['latencyOutlier.consecutiveSweeps', { consecutiveSweeps: 0 }, '0'],
    ['latencyOutlier.consecutiveSweeps', { consecutiveSweeps: 1.5 }, '1.5'],
    ['latencyOutlier.median', { median: 3 }, '3'],
  ])('rejects %s in %j', (option, options, shown) => {
    expect(() => latencyOutlier(options as never)).toThrow(DetourConfigError);
    expect(() => latencyOutlier(options as never)).toThrow(
      expect.objectContaining({ option, message: expect.stringContaining(shown) as unknown }),
    );
  });
});
