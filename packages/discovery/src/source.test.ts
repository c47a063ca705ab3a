import { constantBackoff, createPool, DetourConfigError } from '@detour/core';
import type { EndpointUpdate } from '@detour/core';
import { flushMicrotasks, ManualClock, seededRandom } from '@detour/core/testing';
import { describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  PollingSource,
  resolvePollingOptions,
  resolveSourceOptions,
} from './source.js';
import type {
  DiscoveryEvents,
  PollingOptions,
  Resolution,
  SourceHealth,
  SourceOptions,
} from './source.js';

/** A polling source whose registry is the test: each poll waits for `answer()` or `failWith()`. */
class ScriptedSource extends PollingSource {
  polls = 0;
  #pending: { resolve: (r: Resolution) => void; reject: (e: unknown) => void }[] = [];

  constructor(options: SourceOptions & PollingOptions = {}) {
    super(
      resolveSourceOptions(
        { clock: new ManualClock(), random: seededRandom(1), metrics: false, ...options },
        'scripted',
      ),
      resolvePollingOptions(options, {
        intervalMs: 10_000,
        minIntervalMs: 1_000,
        maxIntervalMs: 60_000,
      }),
    );
  }

  get manualClock(): ManualClock {
    return this.clock as ManualClock;
  }

  get waiting(): number {
    return this.#pending.length;
  }

  protected resolve(): Promise<Resolution> {
    this.polls++;
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  async answer(resolution: Resolution): Promise<void> {
    const next = this.#pending.shift();
    if (!next) throw new Error('no poll is waiting');
    next.resolve(resolution);
    await flushMicrotasks();
  }

  async failWith(error: unknown): Promise<void> {
    const next = this.#pending.shift();
    if (!next) throw new Error('no poll is waiting');
    next.reject(error);
    await flushMicrotasks();
  }
}

function record<K extends keyof DiscoveryEvents>(
  source: ScriptedSource,
  event: K,
): DiscoveryEvents[K][] {
  const seen: DiscoveryEvents[K][] = [];
  source.on(event, (e) => seen.push(e));
  return seen;
}

function subscribe(source: ScriptedSource): {
  updates: EndpointUpdate[];
  errors: unknown[];
  stop: () => void;
} {
  const updates: EndpointUpdate[] = [];
  const errors: unknown[] = [];
  const stop = source.subscribe({
    next: (u) => updates.push(u),
    error: (e) => errors.push(e),
  });
  return { updates, errors, stop };
}

const addresses = (u: EndpointUpdate | undefined): string[] =>
  u?.type === 'full' ? u.endpoints.map((e) => (typeof e === 'string' ? e : e.address)) : [];

describe('DiscoverySource / PollingSource', () => {
  it('starts on the first subscriber, delivers a full list, and polls again after the TTL, bounded', async () => {
    const source = new ScriptedSource({ minIntervalMs: 1_000, maxIntervalMs: 20_000 });
    expect(source.polls).toBe(0);
    const { updates } = subscribe(source);
    expect(source.polls).toBe(1);
    expect(source.health().state).toBe('starting');
    await source.answer({ endpoints: [{ address: 'a:1' }, { address: 'b:1' }], ttlMs: 5_000 });
    expect(addresses(updates[0])).toEqual(['a:1', 'b:1']);
    expect(source.health()).toMatchObject({
      state: 'healthy',
      endpoints: 2,
      consecutiveFailures: 0,
    });

    source.manualClock.advance(4_999);
    expect(source.polls).toBe(1);
    source.manualClock.advance(1);
    expect(source.polls).toBe(2);
    // A TTL under minIntervalMs waits minIntervalMs; one over maxIntervalMs waits maxIntervalMs.
    await source.answer({ endpoints: [{ address: 'a:1' }, { address: 'b:1' }], ttlMs: 0 });
    source.manualClock.advance(999);
    expect(source.polls).toBe(2);
    source.manualClock.advance(1);
    expect(source.polls).toBe(3);
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 3_600_000 });
    source.manualClock.advance(19_999);
    expect(source.polls).toBe(3);
    source.manualClock.advance(1);
    expect(source.polls).toBe(4);
    // Without a TTL: intervalMs.
    await source.answer({ endpoints: [{ address: 'a:1' }] });
    source.manualClock.advance(9_999);
    expect(source.polls).toBe(4);
    source.manualClock.advance(1);
    expect(source.polls).toBe(5);
    // Only changed lists are delivered: the same answer twice made one update.
    expect(updates.map(addresses)).toEqual([['a:1', 'b:1'], ['a:1']]);
    source.close();
  });

  it('keeps the last good endpoints through failures, backs off, and reports health and errors', async () => {
    const source = new ScriptedSource({ backoff: constantBackoff({ delayMs: 3_000 }) });
    const { updates, errors } = subscribe(source);
    const events = record(source, 'error');
    const health = record(source, 'health');
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 1_000 });
    source.manualClock.advance(1_000);
    await source.failWith(new Error('connection refused'));
    expect(source.endpoints()).toEqual([{ address: 'a:1' }]);
    expect(updates).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DiscoveryError);
    expect((errors[0] as DiscoveryError).message).toBe('scripted: connection refused');
    expect((errors[0] as DiscoveryError).source).toBe('scripted');
    expect(events).toEqual([{ error: errors[0], consecutiveFailures: 1, retryInMs: 3_000 }]);
    const failing: SourceHealth = source.health();
    expect(failing).toMatchObject({ state: 'failing', endpoints: 1, consecutiveFailures: 1 });
    expect(failing.lastError?.message).toBe('scripted: connection refused');
    expect(failing.lastSuccessAt).toBe(0);
    // The next try comes after the backoff's wait, not the TTL.
    source.manualClock.advance(2_999);
    expect(source.waiting).toBe(0);
    source.manualClock.advance(1);
    await source.failWith('garbage');
    expect(source.health().consecutiveFailures).toBe(2);
    source.manualClock.advance(3_000);
    await source.answer({ endpoints: [{ address: 'a:1' }, { address: 'c:1' }], ttlMs: 1_000 });
    expect(source.health()).toMatchObject({
      state: 'healthy',
      consecutiveFailures: 0,
      lastError: undefined,
      lastSuccessAt: 7_000,
    });
    expect(addresses(updates[1])).toEqual(['a:1', 'c:1']);
    expect(health.map((h) => `${h.previous}>${h.health.state}`)).toEqual([
      'starting>healthy',
      'healthy>failing',
      'failing>healthy',
    ]);
    source.close();
  });

  it('skips malformed records and duplicates with events, keeping the rest', async () => {
    const source = new ScriptedSource();
    const { updates } = subscribe(source);
    const skipped = record(source, 'skipped');
    await source.answer({
      endpoints: [
        { address: 'a:1' },
        { address: '' },
        { address: 'b:1', weight: -1 },
        { address: 'a:1' },
        { address: 'c:1', colour: 'red' } as never,
      ],
      skipped: [{ record: 'key x', reason: 'not JSON' }],
    });
    expect(addresses(updates[0])).toEqual(['a:1']);
    expect(skipped.map((s) => s.reason)).toEqual([
      'not JSON',
      expect.stringContaining('endpoints[1].address'),
      expect.stringContaining('endpoints[2].weight'),
      'duplicate endpoint id "a:1"',
      expect.stringContaining('colour'),
    ]);
    expect(skipped[1]!.record).toBe('{"address":""}');
    source.close();
  });

  it('maps endpoints before checking them: rewrites, filters, and skips what throws', async () => {
    const source = new ScriptedSource({
      map: (e) => {
        const meta = e.metadata as { replica?: string; http?: string } | undefined;
        if (meta?.replica === 'drop') return undefined;
        if (meta?.replica === 'bad') throw new Error('no replica name');
        return { ...e, id: meta?.replica, address: meta?.http ?? e.address };
      },
    });
    const { updates } = subscribe(source);
    const skipped = record(source, 'skipped');
    await source.answer({
      endpoints: [
        { address: 'a:1', metadata: { replica: 'r1', http: 'http://a:2' } },
        { address: 'b:1', metadata: { replica: 'drop' } },
        { address: 'c:1', metadata: { replica: 'bad' } },
      ],
    });
    expect(updates[0]).toEqual({
      type: 'full',
      endpoints: [
        { id: 'r1', address: 'http://a:2', metadata: { replica: 'r1', http: 'http://a:2' } },
      ],
    });
    expect(skipped).toEqual([
      { record: '{"address":"c:1","metadata":{"replica":"bad"}}', reason: 'no replica name' },
    ]);
    source.close();
  });

  it('does not empty a list on an empty answer unless allowEmpty', async () => {
    const guarded = new ScriptedSource();
    const g = subscribe(guarded);
    const empty = record(guarded, 'empty');
    await guarded.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 1_000 });
    guarded.manualClock.advance(1_000);
    await guarded.answer({ endpoints: [], ttlMs: 1_000 });
    expect(g.updates).toHaveLength(1);
    expect(guarded.endpoints()).toHaveLength(1);
    expect(empty).toEqual([{ kept: 1 }]);
    expect(guarded.health().state).toBe('healthy');
    guarded.close();

    const open = new ScriptedSource({ allowEmpty: true });
    const o = subscribe(open);
    await open.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 1_000 });
    open.manualClock.advance(1_000);
    await open.answer({ endpoints: [], ttlMs: 1_000 });
    expect(o.updates.map(addresses)).toEqual([['a:1'], []]);
    open.close();

    // The first answer may be empty either way: there is nothing to keep.
    const first = new ScriptedSource();
    const f = subscribe(first);
    await first.answer({ endpoints: [] });
    expect(f.updates.map(addresses)).toEqual([[]]);
    await expect(first.ready()).resolves.toEqual([]);
    first.close();
  });

  it('refreshes on demand at most once per minIntervalMs, and after a poll in flight', async () => {
    const source = new ScriptedSource({ minIntervalMs: 1_000 });
    subscribe(source);
    source.refresh(); // a poll is in flight: the refresh waits for it
    expect(source.polls).toBe(1);
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 30_000 });
    expect(source.polls).toBe(1);
    source.manualClock.advance(1_000);
    expect(source.polls).toBe(2);
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 30_000 });
    source.manualClock.advance(400);
    source.refresh();
    source.refresh();
    expect(source.polls).toBe(2);
    source.manualClock.advance(600);
    expect(source.polls).toBe(3);
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 30_000 });
    source.manualClock.advance(5_000);
    source.refresh();
    expect(source.polls).toBe(4);
    source.close();
  });

  it('stops when the last subscriber leaves, drops a late answer, and restarts with the last list', async () => {
    const source = new ScriptedSource();
    const first = subscribe(source);
    await source.answer({ endpoints: [{ address: 'a:1' }], ttlMs: 1_000 });
    source.manualClock.advance(1_000);
    expect(source.waiting).toBe(1);
    first.stop();
    expect(source.health().state).toBe('stopped');
    expect(source.manualClock.pendingTimers).toBe(0);
    await source.answer({ endpoints: [{ address: 'z:1' }] });
    expect(source.endpoints()).toEqual([{ address: 'a:1' }]);
    const second = subscribe(source);
    expect(addresses(second.updates[0])).toEqual(['a:1']);
    expect(source.polls).toBe(3);
    source.close();
    expect(source.manualClock.pendingTimers).toBe(0);
    expect(source.health().state).toBe('closed');
    expect(() => source.subscribe({ next: () => {} })).toThrow(DiscoveryError);
    await expect(source.ready()).rejects.toThrow('scripted: the source is closed');
  });

  it('ready() waits for the first good answer, and rejects on close', async () => {
    const source = new ScriptedSource();
    const ready = source.ready();
    subscribe(source);
    await source.failWith(new Error('down'));
    source.manualClock.advance(60_000);
    await source.answer({ endpoints: [{ address: 'a:1' }] });
    await expect(ready).resolves.toEqual([{ address: 'a:1' }]);

    const never = new ScriptedSource();
    const pending = never.ready();
    never.close();
    await expect(pending).rejects.toBeInstanceOf(DiscoveryError);
  });

  it('feeds a pool, which keeps its endpoints through failures and asks for a refresh when many fail', async () => {
    const clock = new ManualClock();
    const source = new ScriptedSource({ minIntervalMs: 0 });
    const pool = createPool({
      source,
      clock,
      random: seededRandom(2),
      detectors: [],
      metrics: false,
    });
    const sourceErrors: unknown[] = [];
    pool.on('source-error', (e) => sourceErrors.push(e.error));
    await source.answer({ endpoints: [{ address: 'a:1' }, { address: 'b:1' }], ttlMs: 60_000 });
    expect(pool.members().map((r) => r.endpoint.address)).toEqual(['a:1', 'b:1']);
    source.refresh();
    expect(source.polls).toBe(2);
    await source.failWith(new Error('etcd is down'));
    expect(sourceErrors).toHaveLength(1);
    expect(pool.members()).toHaveLength(2);
    pool.close();
    expect(source.health().state).toBe('stopped');
    source.close();
  });

  it('rejects bad options naming the option and the value', () => {
    const bad: [SourceOptions & PollingOptions, string][] = [
      [{ name: '' }, 'name'],
      [{ allowEmpty: 'yes' as never }, 'allowEmpty'],
      [{ map: 'id' as never }, 'map'],
      [{ backoff: {} as never }, 'backoff'],
      [{ clock: {} as never }, 'clock'],
      [{ random: Math.random as never }, 'random'],
      [{ metrics: 1 as never }, 'metrics'],
      [{ metrics: { meterProvider: {} as never } }, 'metrics.meterProvider'],
      [{ minIntervalMs: -1 }, 'minIntervalMs'],
      [{ maxIntervalMs: 0 }, 'maxIntervalMs'],
      [{ minIntervalMs: 5_000, maxIntervalMs: 1_000 }, 'maxIntervalMs'],
      [{ intervalMs: Number.NaN }, 'intervalMs'],
    ];
    for (const [options, option] of bad) {
      let error: unknown;
      try {
        new ScriptedSource(options);
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(DetourConfigError);
      expect((error as DetourConfigError).option).toBe(option);
    }
  });
});
