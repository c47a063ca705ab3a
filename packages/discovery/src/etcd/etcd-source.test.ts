/**
 * `etcdSource()` against a real etcd (`test-support/etcd-server.ts`): listing, watching, the Go
 * layout written by `etcdctl`, malformed values, an etcd that stops and comes back or is down at
 * start, refresh, options and clean-up. Each test watches a service of its own.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DetourConfigError, constantBackoff } from '@detour/core';
import type { EndpointInit } from '@detour/core';
import type { DiscoveryEvents, SkippedRecord } from '../source.js';
import { startEtcdServer } from '../test-support/etcd-server.js';
import type { EtcdServer } from '../test-support/etcd-server.js';
import { openResources, waitForNoLeaks } from '../test-support/open-resources.js';
import { waitFor } from '../test-support/wait-for.js';
import { etcdSource } from './etcd-source.js';
import type { EtcdSource, EtcdSourceOptions } from './etcd-source.js';

let etcd: EtcdServer;
/** The test's own client, for writing keys. */
let writer: Etcd3;
let serviceCount = 0;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  etcd = await startEtcdServer();
  writer = new Etcd3({ hosts: etcd.url });
});

afterEach(async () => {
  etcd.thaw();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (!etcd.running) await etcd.start();
});

afterAll(async () => {
  writer?.close();
  await etcd?.dispose();
});

function newService(): string {
  return `svc${++serviceCount}`;
}

/** A running source (a subscriber keeps it running) and what it reported. */
function watch(options: Partial<EtcdSourceOptions> & { service: string }) {
  const source = etcdSource({
    hosts: etcd.url,
    metrics: false,
    backoff: constantBackoff({ delayMs: 200 }),
    ...options,
  });
  const updates: DiscoveryEvents['update'][] = [];
  const errors: DiscoveryEvents['error'][] = [];
  const skipped: SkippedRecord[] = [];
  source.on('update', (u) => updates.push(u));
  source.on('error', (e) => errors.push(e));
  source.on('skipped', (s) => skipped.push(s));
  const unsubscribe = source.subscribe({ next: () => undefined });
  cleanups.push(() => {
    unsubscribe();
    source.close();
  });
  return { source, updates, errors, skipped };
}

function addresses(source: EtcdSource): string[] {
  return source
    .endpoints()
    .map((e) => e.address)
    .sort();
}

async function put(key: string, value: unknown): Promise<void> {
  await writer.put(key).value(typeof value === 'string' ? value : JSON.stringify(value));
}

describe('etcdSource: listing and watching', () => {
  it('discovers the keys that exist, with weight and metadata from Metadata', async () => {
    const service = newService();
    await put(`${service}/10.0.0.1:1`, { Addr: '10.0.0.1:1', Metadata: { weight: 3, az: 'a' } });
    await put(`${service}/10.0.0.2:1`, { Addr: '10.0.0.2:1' });
    await put(`${service}x/10.0.0.9:1`, { Addr: '10.0.0.9:1' }); // another service's prefix
    const { source } = watch({ service });

    const list = await source.ready();
    expect(list).toEqual<EndpointInit[]>([
      {
        id: '10.0.0.1:1',
        address: '10.0.0.1:1',
        weight: 3,
        metadata: { etcdKey: `${service}/10.0.0.1:1`, etcdMetadata: { weight: 3, az: 'a' } },
      },
      { id: '10.0.0.2:1', address: '10.0.0.2:1', metadata: { etcdKey: `${service}/10.0.0.2:1` } },
    ]);
    expect(source.health()).toMatchObject({ state: 'healthy', endpoints: 2 });
    expect(source.name).toBe(`etcd:${service}`);
    expect(source.prefix).toBe(`${service}/`);
  });

  it('follows puts and deletes, and delivers a burst of changes as one update', async () => {
    const service = newService();
    const { source, updates } = watch({ service });
    await source.ready(); // nothing registered yet: an empty first list
    expect(source.endpoints()).toEqual([]);

    await put(`${service}/a`, { Addr: 'a:1' });
    await waitFor('a:1 added', () => addresses(source).join() === 'a:1');

    // Three puts in one transaction arrive in one watch response: one update.
    const before = updates.length;
    await writer.kv.txn({
      success: ['b:1', 'c:1', 'd:1'].map((addr) => ({
        request_put: {
          key: Buffer.from(`${service}/${addr}`),
          value: Buffer.from(JSON.stringify({ Addr: addr })),
        },
      })),
    });
    await waitFor('b, c, d added', () => addresses(source).length === 4);
    expect(updates.slice(before)).toHaveLength(1);
    expect([...updates.at(-1)!.added].sort()).toEqual(['b:1', 'c:1', 'd:1']);

    // A changed value is a new endpoint description.
    await put(`${service}/a`, { Addr: 'a:1', Metadata: { weight: 5 } });
    await waitFor('a:1 reweighted', () => source.endpoints().some((e) => e.weight === 5));

    await writer.delete().key(`${service}/b:1`);
    await writer.delete().prefix(`${service}/c`);
    await waitFor('b, c removed', () => addresses(source).join() === 'a:1,d:1');
  });

  it('reads the keys that Go services write (etcdctl, both value formats)', async () => {
    const { source } = watch({ service: 'greeter', allowEmpty: true });
    await source.ready();
    // What the task's Go replicas write: endpoints.Endpoint, and endpoints.Manager's Update.
    await etcd.ctl(
      'put',
      'greeter/127.0.0.1:1234',
      '{"Addr":"127.0.0.1:1234","Metadata":{"weight":2}}',
    );
    await etcd.ctl('put', 'greeter/e2', '{"Op":0,"Addr":"127.0.0.1:1235","Metadata":null}');
    await waitFor('both Go endpoints', () => source.endpoints().length === 2);
    expect(source.endpoints()).toEqual([
      {
        id: '127.0.0.1:1234',
        address: '127.0.0.1:1234',
        weight: 2,
        metadata: { etcdKey: 'greeter/127.0.0.1:1234', etcdMetadata: { weight: 2 } },
      },
      { id: '127.0.0.1:1235', address: '127.0.0.1:1235', metadata: { etcdKey: 'greeter/e2' } },
    ]);

    // The old grpc naming.Update with Op 1 (delete) names no endpoint.
    await etcd.ctl('put', 'greeter/e2', '{"Op":1,"Addr":"127.0.0.1:1235"}');
    await waitFor('Op 1 removes it', () => addresses(source).join() === '127.0.0.1:1234');
    await etcd.ctl('del', 'greeter/127.0.0.1:1234');
    await waitFor('etcdctl del removes it', () => source.endpoints().length === 0);
  });

  it('skips malformed values with a skipped event naming the key and why, and keeps going', async () => {
    const service = newService();
    await put(`${service}/bad-json`, 'not json');
    await put(`${service}/good`, { Addr: 'good:1' });
    const { source, skipped } = watch({ service });
    await source.ready();
    expect(addresses(source)).toEqual(['good:1']);
    expect(skipped).toEqual([
      { record: `${service}/bad-json`, reason: 'the value is not JSON: "not json"' },
    ]);

    await put(`${service}/no-addr`, { Metadata: { weight: 1 } });
    await put(`${service}/bad-weight`, { Addr: 'w:1', Metadata: { weight: -1 } });
    // A good key rewritten with garbage no longer names an endpoint.
    await put(`${service}/good`, '{"Addr":');
    await put(`${service}/later`, { Addr: 'later:1' });
    await waitFor('later:1 alone', () => addresses(source).join() === 'later:1');
    expect(skipped.slice(1).map((s) => s.record)).toEqual([
      `${service}/no-addr`,
      `${service}/bad-weight`,
      `${service}/good`,
    ]);
    expect(skipped[1]!.reason).toBe('the value has no "Addr"');
    expect(skipped[2]!.reason).toMatch(/Metadata\.weight: -1 must be a finite number > 0/);
    expect(source.health().state).toBe('healthy');
  });

  it('keeps the last endpoints when the prefix empties, unless allowEmpty', async () => {
    const service = newService();
    await put(`${service}/a`, { Addr: 'a:1' });
    const guarded = watch({ service });
    const emptying = watch({ service, allowEmpty: true });
    const kept: number[] = [];
    guarded.source.on('empty', ({ kept: n }) => kept.push(n));
    await guarded.source.ready();
    await emptying.source.ready();

    await writer.delete().key(`${service}/a`);
    await waitFor('emptied', () => emptying.source.endpoints().length === 0);
    await waitFor('an empty event', () => kept.length === 1);
    expect(kept).toEqual([1]);
    expect(addresses(guarded.source)).toEqual(['a:1']);
    expect(guarded.source.health().state).toBe('healthy');
  });

  it('skips a second key with the same address (the first key in order wins)', async () => {
    const service = newService();
    await put(`${service}/a`, { Addr: 'same:1', Metadata: { weight: 1 } });
    await put(`${service}/b`, { Addr: 'same:1', Metadata: { weight: 2 } });
    const { source, skipped } = watch({ service });
    await source.ready();
    expect(source.endpoints()).toMatchObject([{ address: 'same:1', weight: 1 }]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.reason).toMatch(/duplicate endpoint id "same:1"/);
  });
});

describe('etcdSource: etcd outages', () => {
  it('keeps its endpoints while etcd is down, and re-lists when it is back', async () => {
    const service = newService();
    await put(`${service}/a`, { Addr: 'a:1' });
    await put(`${service}/b`, { Addr: 'b:1' });
    const { source, errors } = watch({ service });
    await source.ready();
    const states: string[] = [];
    source.on('health', ({ health }) => states.push(health.state));

    await etcd.stop();
    await waitFor('failing', () => source.health().state === 'failing');
    await waitFor('two errors (the watch, then a list)', () => errors.length >= 2);
    expect(addresses(source)).toEqual(['a:1', 'b:1']);
    expect(source.health()).toMatchObject({ endpoints: 2 });
    expect(source.health().lastError?.message).toMatch(new RegExp(`etcd:${service}: `));
    expect(errors[0]!.error.message).toMatch(/watching svc\d+\/ failed/);
    expect(errors[0]!.retryInMs).toBe(200);

    await etcd.start();
    // Changes made after etcd's return, by another client, before or after the source is back.
    const other = new Etcd3({ hosts: etcd.url });
    try {
      await other.delete().key(`${service}/a`);
      await other.put(`${service}/c`).value(JSON.stringify({ Addr: 'c:1' }));
    } finally {
      other.close();
    }
    // etcd3's circuit breaker keeps a failed host closed for 5 s: allow for it.
    await waitFor('healthy again', () => source.health().state === 'healthy', 20_000);
    await waitFor('the changes seen', () => addresses(source).join() === 'b:1,c:1', 10_000);
    expect(states.slice(0, 2)).toEqual(['failing', 'healthy']);

    // And the new watch works.
    await put(`${service}/d`, { Addr: 'd:1' });
    await waitFor('d:1 added', () => addresses(source).includes('d:1'));
  }, 40_000);

  it('fails a watch that a frozen etcd stops answering, and recovers when it answers again', async () => {
    const service = newService();
    await put(`${service}/a`, { Addr: 'a:1' });
    const { source, errors } = watch({ service, progressIntervalMs: 200, requestTimeoutMs: 500 });
    await source.ready();
    // Watching, and a progress request answered (the answer confirms the list).
    const listedAt = source.health().lastSuccessAt!;
    await waitFor('a progress answer', () => source.health().lastSuccessAt! > listedAt + 150);

    etcd.freeze(); // SIGSTOP: the connection stays open, nothing answers
    await waitFor('failing', () => source.health().state === 'failing');
    expect(errors[0]!.error.message).toMatch(
      /watching svc\d+\/ failed: etcd did not answer a progress request within 500 ms/,
    );
    expect(addresses(source)).toEqual(['a:1']);

    etcd.thaw();
    await waitFor('healthy again', () => source.health().state === 'healthy', 20_000);
    await put(`${service}/b`, { Addr: 'b:1' });
    await waitFor('b:1 added', () => addresses(source).join() === 'a:1,b:1');
  }, 40_000);

  it('keeps trying with the backoff when etcd is down at start', async () => {
    const service = newService();
    await put(`${service}/a`, { Addr: 'a:1' });
    await etcd.stop();
    const { source, errors } = watch({ service });
    await waitFor('three failures', () => errors.length >= 3);
    expect(source.health()).toMatchObject({ state: 'failing', endpoints: 0 });
    expect(errors.map((e) => e.consecutiveFailures).slice(0, 3)).toEqual([1, 2, 3]);
    expect(errors[0]!.error.message).toMatch(/listing svc\d+\/ failed/);

    await etcd.start();
    await expect(source.ready()).resolves.toMatchObject([{ address: 'a:1' }]);
    expect(source.health().state).toBe('healthy');
  }, 40_000);
});

describe('etcdSource: refresh and life cycle', () => {
  it('re-lists on refresh(), at most once per minRefreshIntervalMs', async () => {
    const service = newService();
    const client = new Etcd3({ hosts: etcd.url });
    cleanups.push(() => client.close());
    const range = vi.spyOn(client.kv, 'range');
    const { source } = watch({ service, hosts: undefined, client, minRefreshIntervalMs: 500 });
    await source.ready();
    expect(range).toHaveBeenCalledTimes(1);

    await new Promise((resolve) => setTimeout(resolve, 600));
    source.refresh();
    expect(range).toHaveBeenCalledTimes(2);
    source.refresh();
    source.refresh();
    expect(range).toHaveBeenCalledTimes(2); // too soon: one more, later
    await waitFor('the deferred refresh', () => range.mock.calls.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(range).toHaveBeenCalledTimes(3);

    // Still watching after the re-lists, and etcd3's breaker was not tripped by our cancels.
    await put(`${service}/z`, { Addr: 'z:1' });
    await waitFor('z:1 added', () => addresses(source).join() === 'z:1');
    expect(source.health().state).toBe('healthy');
  });

  it('has an idle watch confirm its progress every progressIntervalMs', async () => {
    const { source } = watch({ service: newService(), progressIntervalMs: 100 });
    await source.ready();
    const seen = [source.health().lastSuccessAt!];
    await waitFor('two confirmations', () => {
      const at = source.health().lastSuccessAt!;
      if (at > seen.at(-1)!) seen.push(at);
      return seen.length === 3;
    });
    expect(source.health().state).toBe('healthy');
  });

  it('stops watching when the last subscriber leaves, and lists afresh on the next', async () => {
    const service = newService();
    const source = etcdSource({ hosts: etcd.url, service, metrics: false });
    cleanups.push(() => source.close());
    const off = source.subscribe({ next: () => undefined });
    await source.ready();
    off();
    expect(source.health().state).toBe('stopped');
    await put(`${service}/a`, { Addr: 'a:1' });
    const seen: unknown[] = [];
    source.subscribe({ next: (update) => seen.push(update) });
    await waitFor('a:1 listed', () => addresses(source).join() === 'a:1');
    expect(seen.at(-1)).toMatchObject({ type: 'full', endpoints: [{ address: 'a:1' }] });
  });

  it("does not close the caller's client", async () => {
    const client = new Etcd3({ hosts: etcd.url });
    cleanups.push(() => client.close());
    const source = etcdSource({ client, service: newService(), metrics: false });
    source.subscribe({ next: () => undefined });
    await source.ready();
    source.close();
    await expect(client.get('anything').string()).resolves.toBeNull();
  });

  it('leaves no handle or timer behind after close(), while watching or while etcd is down', async () => {
    const baseline = openResources();
    const service = newService();
    const watching = etcdSource({ hosts: etcd.url, service, metrics: false });
    watching.subscribe({ next: () => undefined });
    await watching.ready();
    await put(`${service}/a`, { Addr: 'a:1' });
    await waitFor('a:1', () => addresses(watching).length === 1);
    watching.close();
    await waitForNoLeaks(baseline);

    await etcd.stop();
    const retrying = etcdSource({
      hosts: etcd.url,
      service,
      metrics: false,
      backoff: constantBackoff({ delayMs: 100 }),
    });
    const errors: unknown[] = [];
    retrying.on('error', (e) => errors.push(e));
    retrying.subscribe({ next: () => undefined });
    await waitFor('failing', () => errors.length >= 2);
    retrying.close();
    expect(retrying.health().state).toBe('closed');
    await waitForNoLeaks(baseline);
  }, 30_000);
});

describe('etcdSource: options', () => {
  const valid = { hosts: 'http://127.0.0.1:2379', service: 'greeter' };

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no service', { hosts: valid.hosts }, /Invalid option service: undefined/],
    [
      'a service ending in /',
      { ...valid, service: 'greeter/' },
      /Invalid option service: "greeter\/"/,
    ],
    [
      'neither client nor hosts',
      { service: 'greeter' },
      /Invalid option hosts: undefined is required/,
    ],
    [
      'both client and hosts',
      { ...valid, client: new Etcd3() },
      /Invalid option hosts: .* must not be given with client/,
    ],
    ['a client that is not Etcd3', { service: 'greeter', client: {} }, /Invalid option client/],
    [
      'etcdOptions with client',
      { service: 'greeter', client: new Etcd3(), etcdOptions: {} },
      /Invalid option etcdOptions/,
    ],
    ['no hosts', { ...valid, hosts: [] }, /Invalid option hosts: \[\]/],
    ['an empty host', { ...valid, hosts: ['http://a:1', ''] }, /Invalid option hosts\[1\]/],
    [
      'mixed http and https hosts',
      { ...valid, hosts: ['http://a:1', 'https://b:1'] },
      /Invalid option hosts: .*mix of secure and insecure/,
    ],
    [
      'an unknown etcdOptions key',
      { ...valid, etcdOptions: { dialTimout: 1 } },
      /Invalid option etcdOptions\.dialTimout/,
    ],
    [
      'an unknown option',
      { ...valid, prefix: 'greeter/' },
      /Invalid option prefix: "greeter\/" is not a known option/,
    ],
    [
      'a zero requestTimeoutMs',
      { ...valid, requestTimeoutMs: 0 },
      /Invalid option requestTimeoutMs: 0/,
    ],
    [
      'a negative minRefreshIntervalMs',
      { ...valid, minRefreshIntervalMs: -1 },
      /Invalid option minRefreshIntervalMs: -1/,
    ],
    ['a bad backoff', { ...valid, backoff: 100 }, /Invalid option backoff: 100/],
    ['an empty name', { ...valid, name: '' }, /Invalid option name: ""/],
  ])('rejects %s at construction', (_what, options, error) => {
    expect(() => etcdSource(options as unknown as EtcdSourceOptions)).toThrow(DetourConfigError);
    expect(() => etcdSource(options as unknown as EtcdSourceOptions)).toThrow(error);
  });

  it('rejects options that are not an object', () => {
    expect(() => etcdSource(undefined as unknown as EtcdSourceOptions)).toThrow(
      /Invalid option options: undefined must be an object/,
    );
  });

  it('takes a name, and connects to nothing until subscribed', () => {
    const source = etcdSource({ ...valid, name: 'registry', etcdOptions: { dialTimeout: 1_000 } });
    expect(source.name).toBe('registry');
    expect(source.health().state).toBe('stopped');
    source.close();
  });
});
