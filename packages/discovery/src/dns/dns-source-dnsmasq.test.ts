/**
 * `dnsSource()` against a real dnsmasq (test-support/dnsmasq.ts) in real time: A/AAAA and SRV
 * answers, records changed while the source runs (SIGHUP for host records, a restart for SRV
 * records) and picked up on their 1 s TTL, `refresh()`, dnsmasq going away and coming back,
 * NXDOMAIN and NODATA. Every wait polls for its condition up to a generous deadline; no test
 * asserts how long anything took.
 */
import type { Backoff, EndpointInit } from '@detour/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq } from '../test-support/dnsmasq.js';
import type { Dnsmasq, DnsmasqHost, DnsmasqSrv } from '../test-support/dnsmasq.js';
import type { DiscoveryEvents } from '../source.js';
import { settledResources, waitForNoLeaks } from '../test-support/open-resources.js';
import type { DnsSourceOptions } from './dns-options.js';
import { dnsSource } from './dns-source.js';
import type { DnsSource } from './dns-source.js';

/** Every wait for the source to see a change polls for at most this long, ms. */
const settleMs = 8_000;

const hosts: DnsmasqHost[] = [
  { name: 'r1.detour.test', address: '127.0.0.1' },
  { name: 'r1.detour.test', address: '::1' },
  { name: 'r2.detour.test', address: '127.0.0.2' },
  { name: 'r3.detour.test', address: '127.0.0.3' },
];
const service = '_grpc._tcp.greeter.detour.test';
const records: DnsmasqSrv[] = [
  { name: service, target: 'r1.detour.test', port: 5001, priority: 10, weight: 60 },
  { name: service, target: 'r2.detour.test', port: 5002, priority: 10, weight: 20 },
  { name: service, target: 'r3.detour.test', port: 5003, priority: 20, weight: 0 },
];

let dns: Dnsmasq;
const sources: DnsSource[] = [];

beforeAll(async () => {
  dns = await startDnsmasq({ hosts, srv: records, ttl: 1 });
});

afterAll(async () => {
  await dns?.dispose();
});

afterEach(async () => {
  for (const source of sources.splice(0)) source.close();
  // Each test leaves dnsmasq as it found it.
  if (!dns.running) await dns.start();
  await dns.setHosts(hosts);
});

interface Watched {
  readonly source: DnsSource;
  readonly events: { [K in keyof DiscoveryEvents]: DiscoveryEvents[K][] };
}

function watch(options: Partial<DnsSourceOptions>): Watched {
  const source = dnsSource({
    servers: [dns.server],
    metrics: false,
    ...options,
  } as DnsSourceOptions);
  sources.push(source);
  const events = { update: [], error: [], health: [], skipped: [], empty: [] } as Watched['events'];
  for (const name of Object.keys(events) as (keyof DiscoveryEvents)[]) {
    source.on(name, (e) => (events[name] as unknown[]).push(e));
  }
  source.subscribe({ next: () => undefined });
  return { source, events };
}

/** Polls `condition` every 20 ms for up to `settleMs`; the error says what was awaited. */
async function until(what: string, condition: () => boolean, timeoutMs = settleMs): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n${dns.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const addresses = (list: readonly EndpointInit[]): string[] => list.map((e) => e.address);

describe('dnsSource on dnsmasq', () => {
  it('resolves A and AAAA records', async () => {
    const any = watch({ hostname: 'r1.detour.test', port: 50051 });
    const four = watch({ hostname: 'r1.detour.test', port: 50051, family: 4 });
    const six = watch({ hostname: 'r1.detour.test', port: 50051, family: 6 });
    expect(addresses(await any.source.ready())).toEqual(['127.0.0.1:50051', '[::1]:50051']);
    expect(addresses(await four.source.ready())).toEqual(['127.0.0.1:50051']);
    expect(addresses(await six.source.ready())).toEqual(['[::1]:50051']);
  });

  it('resolves SRV records: priorities to groups, weights to weights', async () => {
    const { source } = watch({ srv: service, family: 4 });
    const list = await source.ready();
    expect(list.map((e) => [e.address, e.priority, e.weight, e.group])).toEqual([
      ['127.0.0.1:5001', 0, 60, 'srv-10'],
      ['127.0.0.2:5002', 0, 20, 'srv-10'],
      ['127.0.0.3:5003', 1, 1, 'srv-20'],
    ]);
  });

  it('picks up changed host records on their TTL (dnsmasq reloads them on SIGHUP)', async () => {
    const { source, events } = watch({ hostname: 'r2.detour.test', port: 80 });
    expect(addresses(await source.ready())).toEqual(['127.0.0.2:80']);
    await dns.setHosts([
      ...hosts.filter((h) => h.name !== 'r2.detour.test'),
      { name: 'r2.detour.test', address: '127.0.0.22' },
      { name: 'r2.detour.test', address: '127.0.0.23' },
    ]);
    await until('the new addresses', () => events.update.length === 2);
    expect(events.update[1]).toMatchObject({
      added: ['127.0.0.22:80', '127.0.0.23:80'],
      removed: ['127.0.0.2:80'],
    });
  });

  it('picks up changed SRV records (dnsmasq restarted on the same port)', async () => {
    const { source, events } = watch({ srv: service, family: 4 });
    await source.ready();
    try {
      await dns.setSrv([
        ...records.filter((r) => r.port !== 5002),
        { name: service, target: 'r2.detour.test', port: 6002, priority: 10, weight: 20 },
      ]);
      await until('the new SRV record', () => events.update.length === 2);
      expect(events.update[1]).toMatchObject({
        added: ['127.0.0.2:6002'],
        removed: ['127.0.0.2:5002'],
      });
    } finally {
      await dns.setSrv(records);
    }
  });

  it('asks again at once on refresh(), whatever the TTL', async () => {
    const slow = await startDnsmasq({ hosts, ttl: 3_600 });
    try {
      const source = dnsSource({
        hostname: 'r3.detour.test',
        port: 80,
        servers: [slow.server],
        metrics: false,
        minIntervalMs: 100,
      });
      sources.push(source);
      const updates: DiscoveryEvents['update'][] = [];
      source.on('update', (u) => updates.push(u));
      source.subscribe({ next: () => undefined });
      await source.ready();
      await slow.setHosts([...hosts, { name: 'r3.detour.test', address: '127.0.0.33' }]);
      // Without refresh() the source would ask again in maxIntervalMs (60 s).
      source.refresh();
      await until('the refreshed answer', () => updates.length === 2);
      expect(updates[1]!.added).toEqual(['127.0.0.33:80']);
    } finally {
      await slow.dispose();
    }
  });

  it('keeps its endpoints while dnsmasq is down, failing with backoff, and recovers when it returns', async () => {
    const retries: number[] = [];
    const backoff: Backoff = {
      name: 'recorded',
      delay: (retry) => {
        retries.push(retry);
        return 200;
      },
    };
    const { source, events } = watch({
      hostname: 'r1.detour.test',
      port: 80,
      family: 4,
      backoff,
      // Retries after the backoff's 200 ms, not the default 1 s floor.
      minIntervalMs: 100,
    });
    const before = await source.ready();
    await dns.stop();
    await until('two failures', () => events.error.length >= 2);
    expect(events.error[0]!.error.message).toBe(
      `dns:r1.detour.test:80: DNS A query for r1.detour.test failed: ${dns.server} refused the UDP query (ECONNREFUSED)`,
    );
    expect(events.error.slice(0, 2).map((e) => [e.consecutiveFailures, e.retryInMs])).toEqual([
      [1, 200],
      [2, 200],
    ]);
    expect(retries.slice(0, 2)).toEqual([1, 2]);
    expect(source.endpoints()).toEqual(before);
    expect(source.health()).toMatchObject({ state: 'failing', endpoints: 1 });
    await dns.start();
    await until('healthy again', () => source.health().state === 'healthy');
    expect(source.endpoints()).toEqual(before);
    expect(source.health().consecutiveFailures).toBe(0);
  });

  it('on NXDOMAIN keeps its endpoints (an empty event), or empties with allowEmpty', async () => {
    const keep = watch({ hostname: 'r3.detour.test', port: 80 });
    const empty = watch({ hostname: 'r3.detour.test', port: 80, allowEmpty: true });
    await Promise.all([keep.source.ready(), empty.source.ready()]);
    await dns.setHosts(hosts.filter((h) => h.name !== 'r3.detour.test'));
    await until(
      'empty answers',
      () => keep.events.empty.length > 0 && empty.events.update.length === 2,
    );
    expect(keep.events.empty[0]).toEqual({ kept: 1 });
    expect(addresses(keep.source.endpoints())).toEqual(['127.0.0.3:80']);
    expect(keep.source.health().state).toBe('healthy');
    expect(empty.events.update[1]).toMatchObject({ endpoints: [], removed: ['127.0.0.3:80'] });
    expect(empty.source.endpoints()).toEqual([]);
  });

  it('takes NODATA (no AAAA for an IPv4-only name) as an empty answer', async () => {
    const { source, events } = watch({
      hostname: 'r2.detour.test',
      port: 80,
      family: 6,
      allowEmpty: true,
    });
    expect(await source.ready()).toEqual([]);
    expect(events.error).toEqual([]);
  });

  it('the harness: stop() and dispose() wait until dnsmasq has exited', async () => {
    const other = await startDnsmasq({ hosts });
    const first = other.pid!;
    expect(() => process.kill(first, 0)).not.toThrow();
    await other.stop();
    expect(other.running).toBe(false);
    expect(() => process.kill(first, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await other.start();
    const second = other.pid!;
    await other.dispose();
    expect(() => process.kill(second, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('close() leaves no socket behind', async () => {
    const baseline = await settledResources();
    const { source } = watch({ srv: service });
    await source.ready();
    source.close();
    await waitForNoLeaks(baseline);
  });
});
