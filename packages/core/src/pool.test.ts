import { describe, expect, it } from 'vitest';
import { staticSource } from './discovery/static-source.js';
import type { EndpointRecord } from './health/endpoint-record.js';
import type { Outcome } from './outcome.js';
import type { PoolOptions } from './pool-options.js';
import { createPool } from './pool.js';
import type { Pool } from './pool.js';
import { ManualClock } from './testing/manual-clock.js';
import { manualDetector } from './testing/manual-detector.js';
import { flushMicrotasks } from './testing/manual-clock.js';
import { seededRandom } from './testing/seeded-random.js';
import { PoolClosedError } from './errors.js';

const ok: Outcome = { kind: 'success', latencyMs: 1 };
const fail: Outcome = { kind: 'error', latencyMs: 1, code: 'UNAVAILABLE', message: 'down' };

function setup(ids: string[], options: Partial<PoolOptions> = {}) {
  const clock = new ManualClock();
  const manual = manualDetector();
  const pool = createPool({
    endpoints: ids.map((id) => ({ id, address: `${id}:1` })),
    selector: 'round-robin',
    detectors: [manual],
    clock,
    random: seededRandom(7),
    ...options,
    health: { ejectionJitterPercent: 0, ...options.health },
  });
  return { clock, manual, pool };
}

/** Runs one attempt through the pool: pick, start, end with `outcome`. */
function attempt(pool: Pool, outcome: Outcome, record?: EndpointRecord): EndpointRecord {
  const chosen = record ?? pool.pick()!;
  pool.startAttempt(chosen);
  pool.endAttempt(chosen, outcome);
  return chosen;
}

function picks(pool: Pool, n: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = pool.pick()!.id;
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe('health state machine', () => {
  it('endEjection() starts probing a timed ejection at once, never a hold or a healthy endpoint', () => {
    const { clock, manual, pool } = setup(['a', 'b', 'c']);
    const changes: string[] = [];
    pool.on('state-change', (e) =>
      changes.push(`${e.endpoint.id}:${e.from}->${e.to} ${e.detector ?? ''}`),
    );
    manual.eject('a');
    clock.advance(1000);
    manual.endEjection('a');
    expect(pool.get('a')!.status).toBe('probing');
    clock.advance(10_000); // the cancelled ejection timer changes nothing
    expect(pool.get('a')!.status).toBe('probing');

    manual.hold('b');
    manual.endEjection('b');
    expect(pool.get('b')!.status).toBe('ejected');
    manual.endEjection('c');
    expect(pool.get('c')!.status).toBe('healthy');
    expect(changes).toEqual([
      'a:healthy->ejected manual',
      'a:ejected->probing manual',
      'b:healthy->ejected manual',
    ]);
  });

  it('ejects, probes after the ejection time, and restores after the trial calls', () => {
    const { clock, manual, pool } = setup(['a', 'b', 'c']);
    const events: string[] = [];
    pool.on('state-change', (e) => events.push(`${e.endpoint.id}:${e.from}->${e.to}`));
    pool.on('restored', (e) => events.push(`restored ${e.endpoint.id}`));
    expect(manual.eject('a')).toBe(true);
    expect(pool.get('a')!.status).toBe('ejected');
    expect(picks(pool, 30).a).toBeUndefined();

    clock.advance(4999);
    expect(pool.get('a')!.status).toBe('ejected');
    clock.advance(1);
    expect(pool.get('a')!.status).toBe('probing');

    // Three trial calls (the default); two successes are not enough.
    const a = pool.get('a')!;
    attempt(pool, ok, a);
    attempt(pool, ok, a);
    expect(a.status).toBe('probing');
    attempt(pool, ok, a);
    expect(a.status).toBe('healthy');
    expect(events).toEqual([
      'a:healthy->ejected',
      'a:ejected->probing',
      'a:probing->healthy',
      'restored a',
    ]);
  });

  it('re-ejects a probing endpoint that fails a trial, for longer each time (A50 multiplier)', () => {
    const { clock, manual, pool } = setup(['a', 'b']);
    const durations: (number | undefined)[] = [];
    pool.on('ejected', (e) => durations.push(e.durationMs));
    manual.eject('a');
    clock.advance(5000);
    attempt(pool, fail, pool.get('a'));
    expect(pool.get('a')!.status).toBe('ejected');
    clock.advance(10000);
    expect(pool.get('a')!.status).toBe('probing');
    attempt(pool, fail, pool.get('a'));
    expect(durations).toEqual([5000, 10000, 15000]);
  });

  it('caps the ejection time at maxEjectionMs', () => {
    const { clock, manual, pool } = setup(['a', 'b'], {
      health: { baseEjectionMs: 1000, maxEjectionMs: 2500 },
    });
    const durations: (number | undefined)[] = [];
    pool.on('ejected', (e) => durations.push(e.durationMs));
    manual.eject('a');
    for (let i = 0; i < 3; i++) {
      clock.advance(3000);
      attempt(pool, fail, pool.get('a'));
    }
    expect(durations).toEqual([1000, 2000, 2500, 2500]);
  });

  it('decays the ejection multiplier after sustained health', () => {
    const { clock, manual, pool } = setup(['a', 'b']);
    const durations: (number | undefined)[] = [];
    pool.on('ejected', (e) => durations.push(e.durationMs));
    manual.eject('a'); // multiplier 1
    clock.advance(5000);
    attempt(pool, fail, pool.get('a')); // multiplier 2
    clock.advance(10000);
    for (let i = 0; i < 3; i++) attempt(pool, ok, pool.get('a'));
    expect(pool.get('a')!.status).toBe('healthy');
    clock.advance(10000); // one decay step: multiplier 1, next ejection is the 2nd step again
    manual.eject('a');
    expect(durations).toEqual([5000, 10000, 10000]);
    clock.advance(10000);
    for (let i = 0; i < 3; i++) attempt(pool, ok, pool.get('a'));
    clock.advance(30000); // fully decayed
    manual.eject('a');
    expect(durations.at(-1)).toBe(5000);
  });

  it('adds jitter of up to ejectionJitterPercent', () => {
    const { manual, pool } = setup(['a', 'b'], { health: { ejectionJitterPercent: 10 } });
    let duration = 0;
    pool.on('ejected', (e) => (duration = e.durationMs!));
    manual.eject('a');
    expect(duration).toBeGreaterThanOrEqual(5000);
    expect(duration).toBeLessThan(5500);
  });

  it('limits a probing endpoint to its trial calls while others are eligible', () => {
    const { clock, manual, pool } = setup(['a', 'b']);
    manual.eject('a');
    clock.advance(5000);
    const a = pool.get('a')!;
    let onA = 0;
    for (let i = 0; i < 20; i++) {
      const r = pool.pick()!;
      pool.startAttempt(r); // never ended: all in flight
      if (r === a) onA++;
    }
    expect(onA).toBe(3);
  });

  it('sends a probing endpoint its trial calls at once under P2C peak-EWMA, despite its old latency', () => {
    // Regression: a replica ejected while slow (or frozen) kept its high peak-EWMA latency, so
    // P2C never picked it while probing and it could not be restored for many seconds.
    const clock = new ManualClock();
    const manual = manualDetector();
    const pool = createPool({
      endpoints: ['a', 'b', 'c'],
      selector: 'p2c-peak-ewma',
      detectors: [manual],
      clock,
      random: seededRandom(4),
      health: { ejectionJitterPercent: 0 },
    });
    for (const id of ['a', 'b']) attempt(pool, { kind: 'success', latencyMs: 2 }, pool.get(id));
    attempt(pool, { kind: 'timeout', latencyMs: 500 }, pool.get('c'));
    manual.eject('c');
    clock.advance(5000);
    expect(pool.get('c')!.status).toBe('probing');
    let trials = 0;
    for (let i = 0; i < 30; i++) {
      const r = pool.pick()!;
      if (r.id === 'c') trials++;
      attempt(pool, { kind: 'success', latencyMs: 2 }, r);
    }
    expect(trials).toBeGreaterThanOrEqual(3);
    expect(pool.get('c')!.status).toBe('healthy');
  });

  it('gives a probing endpoint its trial back when the attempt is ignored', () => {
    const { clock, manual, pool } = setup(['a', 'b']);
    manual.eject('a');
    clock.advance(5000);
    const a = pool.get('a')!;
    pool.startAttempt(a);
    expect(a.trialsLeft).toBe(2);
    pool.endAttempt(a, undefined);
    expect(a.trialsLeft).toBe(3);
    expect(a.status).toBe('probing');
  });

  it('never ejects more than maxEjectedPercent with timed ejections, but always allows one', () => {
    const four = setup(['a', 'b', 'c', 'd']);
    expect(four.manual.eject('a')).toBe(true);
    expect(four.manual.eject('b')).toBe(true);
    expect(four.manual.eject('c')).toBe(false);
    expect(four.pool.get('c')!.status).toBe('healthy');

    const three = setup(['a', 'b', 'c']);
    expect(three.manual.eject('a')).toBe(true);
    expect(three.manual.eject('b')).toBe(false);

    const one = setup(['a']);
    expect(one.manual.eject('a')).toBe(true);
  });

  it('holds an endpoint until every holding detector releases it, then probes at once', () => {
    const clock = new ManualClock();
    const hb = manualDetector('heartbeat');
    const phi = manualDetector('phi');
    const pool = createPool({
      endpoints: ['a', 'b', 'c'],
      selector: 'round-robin',
      detectors: [hb, phi],
      clock,
      random: seededRandom(1),
    });
    hb.hold('a');
    hb.hold('b'); // holds are not capped by maxEjectedPercent
    phi.hold('a');
    expect(pool.get('a')!.status).toBe('ejected');
    expect(pool.get('b')!.status).toBe('ejected');
    expect(pool.snapshot().endpoints.find((e) => e.id === 'a')!.heldBy).toEqual([
      'heartbeat',
      'phi',
    ]);
    hb.release('a');
    expect(pool.get('a')!.status).toBe('ejected');
    phi.release('a');
    expect(pool.get('a')!.status).toBe('probing');
    clock.advance(600_000);
    expect(pool.get('b')!.status).toBe('ejected'); // a hold has no time limit
  });

  it('keeps a held endpoint out when its timed ejection ends, and probes on release', () => {
    const clock = new ManualClock();
    const timed = manualDetector('consecutive');
    const hb = manualDetector('heartbeat');
    const pool = createPool({
      endpoints: ['a', 'b'],
      selector: 'round-robin',
      detectors: [timed, hb],
      clock,
      random: seededRandom(1),
      health: { ejectionJitterPercent: 0 },
    });
    timed.eject('a');
    hb.hold('a');
    clock.advance(60_000);
    expect(pool.get('a')!.status).toBe('ejected');
    hb.release('a');
    expect(pool.get('a')!.status).toBe('probing');
  });

  it('enters panic mode when no endpoint is eligible and sends traffic to all', () => {
    const { manual, pool } = setup(['a', 'b']);
    const panics: boolean[] = [];
    pool.on('panic', (e) => panics.push(e.active));
    manual.hold('a');
    manual.hold('b');
    expect(pool.panic).toBe(true);
    const counts = picks(pool, 10);
    expect(counts.a! + counts.b!).toBe(10);
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
    manual.release('b');
    expect(pool.panic).toBe(false);
    expect(picks(pool, 10)).toEqual({ b: 10 });
    expect(panics).toEqual([true, false]);
  });

  it('enters panic mode below panicThresholdPercent', () => {
    const { manual, pool } = setup(['a', 'b', 'c', 'd'], { health: { panicThresholdPercent: 50 } });
    manual.hold('a');
    manual.hold('b');
    expect(pool.panic).toBe(false); // 50 % eligible is not below 50 %
    manual.hold('c');
    expect(pool.panic).toBe(true);
    expect(Object.keys(picks(pool, 40)).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('picking', () => {
  it('avoids excluded endpoints while another is eligible, then falls back to them', () => {
    const { pool } = setup(['a', 'b', 'c']);
    const tried = new Set<EndpointRecord>([pool.get('a')!, pool.get('b')!]);
    for (let i = 0; i < 20; i++) expect(pool.pick({ exclude: tried })!.id).toBe('c');
    tried.add(pool.get('c')!);
    expect(pool.pick({ exclude: tried })).toBeDefined();
  });

  it('returns undefined for an empty pool', () => {
    const clock = new ManualClock();
    const source = staticSource([]);
    const pool = createPool({ source, clock, random: seededRandom(1), selector: 'random' });
    expect(pool.pick()).toBeUndefined();
    source.set(['x:1']);
    expect(pool.pick()!.id).toBe('x:1');
  });
});

describe('membership updates', () => {
  it('keeps the state of remaining endpoints, adds new ones and drains removed ones', () => {
    const { manual, pool } = setup(['a', 'b', 'c']);
    const removed: string[] = [];
    const added: string[] = [];
    pool.on('endpoint-removed', (e) => removed.push(e.endpoint.id));
    pool.on('endpoint-added', (e) => added.push(e.endpoint.id));
    manual.eject('a');
    const c = pool.get('c')!;
    pool.startAttempt(c); // in flight across the update
    pool.update({
      type: 'full',
      endpoints: [
        { id: 'a', address: 'a:1' },
        { id: 'b', address: 'b:1' },
        { id: 'd', address: 'd:1' },
      ],
    });
    expect(pool.get('a')!.status).toBe('ejected');
    expect(c.status).toBe('draining');
    expect(added).toEqual(['d']);
    expect(removed).toEqual([]);
    for (let i = 0; i < 20; i++) expect(pool.pick()!.id).not.toBe('c');
    pool.endAttempt(c, ok);
    expect(removed).toEqual(['c']);
    expect(pool.get('c')).toBeUndefined();
  });

  it('applies deltas and brings a draining endpoint back', () => {
    const { pool } = setup(['a', 'b']);
    const b = pool.get('b')!;
    pool.startAttempt(b);
    pool.update({ type: 'delta', removed: ['b'] });
    expect(b.status).toBe('draining');
    pool.update({ type: 'delta', added: [{ id: 'b', address: 'b:1' }] });
    expect(b.status).toBe('healthy');
    expect(pool.get('b')).toBe(b);
    pool.update({ type: 'delta', added: ['c:1'] });
    expect(pool.members().map((r) => r.id)).toEqual(['a', 'b', 'c:1']);
  });

  it('follows an endpoint source and reports a rejected update without losing endpoints', () => {
    const clock = new ManualClock();
    const source = staticSource(['a:1', 'b:1']);
    const pool = createPool({
      source,
      clock,
      random: seededRandom(1),
      selector: 'round-robin',
      detectors: [],
    });
    const errors: unknown[] = [];
    pool.on('source-error', (e) => errors.push(e.error));
    expect(pool.members().map((r) => r.id)).toEqual(['a:1', 'b:1']);
    source.set(['a:1', 'a:1']);
    expect(errors).toHaveLength(1);
    expect(pool.members().map((r) => r.id)).toEqual(['a:1', 'b:1']);
    source.set(['b:1', 'c:1']);
    expect(pool.members().map((r) => r.id)).toEqual(['b:1', 'c:1']);
    pool.close();
    source.set(['z:1']); // no longer subscribed
    expect(pool.closed).toBe(true);
  });

  it('asks its source for a refresh when many endpoints fail at once', async () => {
    const clock = new ManualClock();
    let refreshes = 0;
    const inner = staticSource(['a:1', 'b:1', 'c:1', 'd:1']);
    const source = { subscribe: inner.subscribe, refresh: () => refreshes++ };
    const manual = manualDetector();
    const pool = createPool({
      source,
      clock,
      random: seededRandom(1),
      detectors: [manual],
      health: { maxEjectedPercent: 100 },
    });
    manual.eject('a:1');
    await flushMicrotasks();
    expect(refreshes).toBe(0); // one of four
    manual.eject('b:1'); // half the members ejected
    await flushMicrotasks();
    expect(refreshes).toBe(1);
    manual.eject('c:1');
    manual.hold('d:1'); // and panic in the same turn: one refresh
    await flushMicrotasks();
    expect(pool.panic).toBe(true);
    expect(refreshes).toBe(2);
    manual.release('d:1');
    pool.pick(); // the pool notices at its next pick
    expect(pool.panic).toBe(false);
    manual.hold('d:1'); // panic again, and the pool closes before the refresh is due
    pool.pick();
    expect(pool.panic).toBe(true);
    pool.close();
    await flushMicrotasks();
    expect(refreshes).toBe(2);
  });

  it('reports a throwing refresh() as source-error', async () => {
    const inner = staticSource(['a:1']);
    const source = {
      subscribe: inner.subscribe,
      refresh: () => {
        throw new Error('refresh failed');
      },
    };
    const manual = manualDetector();
    const pool = createPool({ source, clock: new ManualClock(), detectors: [manual] });
    const errors: unknown[] = [];
    pool.on('source-error', (e) => errors.push(e.error));
    manual.eject('a:1');
    await flushMicrotasks();
    expect(errors).toEqual([new Error('refresh failed')]);
    pool.close();
  });

  it('updates an endpoint whose properties changed', () => {
    const { pool } = setup(['a', 'b']);
    pool.update({
      type: 'full',
      endpoints: [
        { id: 'a', address: 'a:2', weight: 5 },
        { id: 'b', address: 'b:1' },
      ],
    });
    expect(pool.get('a')!.endpoint.address).toBe('a:2');
    expect(pool.get('a')!.endpoint.weight).toBe(5);
  });
});

describe('statistics and snapshot', () => {
  it('records in-flight, latency, window, counts and a bounded fault log', () => {
    const { clock, pool } = setup(['a'], { stats: { faultLogSize: 2 } });
    const a = pool.get('a')!;
    pool.startAttempt(a);
    expect(pool.snapshot().endpoints[0]!.inflight).toBe(1);
    pool.endAttempt(a, { kind: 'success', latencyMs: 10 });
    clock.advance(100);
    for (const code of ['E1', 'E2', 'E3']) attempt(pool, { kind: 'error', latencyMs: 20, code }, a);
    attempt(pool, { kind: 'timeout', latencyMs: 50, code: 'T' }, a);
    pool.noteRetry(a);
    const snap = pool.snapshot().endpoints[0]!;
    expect(snap.inflight).toBe(0);
    expect(snap.counts).toEqual({
      attempts: 5,
      successes: 1,
      failures: 4,
      retries: 1,
      ejections: 0,
    });
    expect(snap.window).toEqual({ successes: 1, failures: 4, successRate: 0.2 });
    expect(snap.faults.map((f) => [f.kind, f.code])).toEqual([
      ['error', 'E3'],
      ['timeout', 'T'],
    ]);
    expect(snap.latency.ewmaMs).toBeGreaterThan(10);
    // Peak: jumps to the slowest sample, and each failure counts as at least twice the estimate:
    // 10 ms, then 20, 40 and 80 for the three fast errors, then max(50, 160) for the timeout.
    expect(snap.latency.peakEwmaMs).toBe(160);
    expect(JSON.parse(JSON.stringify(pool.snapshot()))).toEqual(pool.snapshot());
    clock.advance(10_000);
    expect(pool.snapshot().endpoints[0]!.window).toEqual({
      successes: 0,
      failures: 0,
      successRate: null,
    });
  });

  it('computes MTBF, MTTR and availability from observed up and down periods', () => {
    const { clock, manual, pool } = setup(['a', 'b']);
    let avail = pool.snapshot().endpoints[0]!.availability;
    expect(avail).toEqual({ mtbfMs: null, mttrMs: null, availability: 1 });
    clock.advance(20_000); // up 20 s
    manual.eject('a'); // down 5 s
    clock.advance(5000);
    avail = pool.snapshot().endpoints[0]!.availability;
    expect(avail.mtbfMs).toBe(20_000);
    expect(avail.mttrMs).toBe(5000);
    expect(avail.availability).toBeCloseTo(0.8, 10);
    for (let i = 0; i < 3; i++) attempt(pool, ok, pool.get('a'));
    clock.advance(10_000); // up 10 s more, then down 5 s again
    manual.eject('a');
    clock.advance(5000); // the second ejection (5 s again: the multiplier decayed) ends
    avail = pool.snapshot().endpoints[0]!.availability;
    expect(avail.mtbfMs).toBe(15_000); // 30 s up over 2 failures
    expect(avail.mttrMs).toBe(5000); // 10 s down over 2 repairs
  });

  it('records probe failures in the fault log and emits probe results', () => {
    const { manual, pool } = setup(['a', 'b']);
    const results: boolean[] = [];
    pool.on('probe-result', (e) => results.push(e.result.healthy));
    manual.probed('a', { healthy: false, latencyMs: 3, code: 'NOT_SERVING' });
    manual.probed('a', { healthy: true, latencyMs: 3 });
    expect(results).toEqual([false, true]);
    expect(pool.snapshot().endpoints[0]!.faults.map((f) => f.kind)).toEqual(['probe-failed']);
  });
});

describe('close', () => {
  it('cancels every timer and rejects further use', () => {
    const { clock, manual, pool } = setup(['a', 'b', 'c', 'd']);
    manual.eject('a');
    manual.eject('b');
    expect(clock.pendingTimers).toBeGreaterThan(0);
    pool.close();
    expect(clock.pendingTimers).toBe(0);
    expect(() => pool.pick()).toThrow(PoolClosedError);
    pool.close();
  });

  it('leaves no timer behind with the default detectors', () => {
    const clock = new ManualClock();
    const pool = createPool({ endpoints: ['a:1', 'b:1'], clock, random: seededRandom(3) });
    const a = pool.pick()!;
    for (let i = 0; i < 10; i++) attempt(pool, fail, a);
    clock.advance(2000);
    pool.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('events', () => {
  it('stops calling a listener after unsubscribe', () => {
    const { manual, pool } = setup(['a', 'b']);
    const seen: string[] = [];
    const off = pool.on('ejected', (e) => seen.push(e.endpoint.id));
    manual.eject('a');
    off();
    manual.hold('b');
    expect(seen).toEqual(['a']);
  });
});

describe('detectors are fed', () => {
  it('passes every outcome to the detectors, after updating statistics', () => {
    const { pool, manual } = setup(['a']);
    attempt(pool, ok);
    attempt(pool, fail);
    expect(manual.seen).toEqual([
      { id: 'a', kind: 'success' },
      { id: 'a', kind: 'error' },
    ]);
  });

  it('ejects after five consecutive failures with the default detectors', () => {
    const clock = new ManualClock();
    const pool = createPool({ endpoints: ['a:1', 'b:1', 'c:1'], clock, random: seededRandom(3) });
    const a = pool.get('a:1')!;
    for (let i = 0; i < 4; i++) attempt(pool, fail, a);
    expect(a.status).toBe('healthy');
    attempt(pool, fail, a);
    expect(a.status).toBe('ejected');
    pool.close();
  });
});
