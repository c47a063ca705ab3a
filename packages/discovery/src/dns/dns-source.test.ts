/**
 * `dnsSource()` against a real DNS server in this process (test-support/dns-test-server.ts),
 * which answers exactly what each test needs: A/AAAA and SRV answers, CNAMEs, malformed and
 * unusable records, exact TTLs, failures. Time is a `ManualClock`: the tests read when the
 * source schedules its next poll instead of waiting for it. dnsmasq-backed tests are in
 * dns-source-dnsmasq.test.ts.
 */
import { Buffer } from 'node:buffer';
import { constantBackoff, isDetourError } from '@detour/core';
import type { EndpointInit } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import type { Answer } from 'dns-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DiscoveryEvents } from '../source.js';
import { settledResources, waitForNoLeaks } from '../test-support/open-resources.js';
import { rcodes } from './dns-message.js';
import type { DnsSourceOptions } from './dns-options.js';
import { dnsSource } from './dns-source.js';
import type { DnsSource } from './dns-source.js';
import { rawRecord, startTestDnsServer } from './test-support/dns-test-server.js';
import type { Handler, ReceivedQuery, TestDnsServer } from './test-support/dns-test-server.js';

/** A ManualClock that remembers every delay it was asked for. */
class RecordingClock extends ManualClock {
  readonly delays: number[] = [];

  override setTimeout(
    callback: () => void,
    delayMs: number,
  ): ReturnType<ManualClock['setTimeout']> {
    this.delays.push(delayMs);
    return super.setTimeout(callback, delayMs);
  }
}

/** The query timeout of every source here: told apart from poll waits by its value. */
const timeoutMs = 1_234;

const cleanup: (() => unknown)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(handler: Handler): Promise<TestDnsServer> {
  const started = await startTestDnsServer(handler);
  cleanup.push(() => started.close());
  return started;
}

interface Watched {
  readonly source: DnsSource;
  readonly clock: RecordingClock;
  readonly lists: (readonly EndpointInit[])[];
  readonly events: { [K in keyof DiscoveryEvents]: DiscoveryEvents[K][] };
  /** Resolves with the next `update` event's endpoints. */
  nextUpdate(): Promise<readonly EndpointInit[]>;
  /** Resolves with the next `error` event. */
  nextError(): Promise<DiscoveryEvents['error']>;
  /** The wait before the next poll, as last scheduled (query timeouts left out). */
  lastPollWait(): number | undefined;
}

/** A started source on `dns` with a RecordingClock, watched; closed after the test. */
function watch(dns: TestDnsServer, options: Partial<DnsSourceOptions>): Watched {
  const clock = new RecordingClock();
  const source = dnsSource({
    servers: [dns.address],
    timeoutMs,
    metrics: false,
    clock,
    ...options,
  } as DnsSourceOptions);
  cleanup.push(() => source.close());
  const lists: (readonly EndpointInit[])[] = [];
  const events = { update: [], error: [], health: [], skipped: [], empty: [] } as Watched['events'];
  for (const name of Object.keys(events) as (keyof DiscoveryEvents)[]) {
    source.on(name, (e) => (events[name] as unknown[]).push(e));
  }
  source.subscribe({
    next: (u) => lists.push(u.type === 'full' ? (u.endpoints as EndpointInit[]) : []),
  });
  const next = <K extends keyof DiscoveryEvents>(name: K): Promise<DiscoveryEvents[K]> =>
    new Promise((resolve) => {
      const off = source.on(name, (e) => {
        off();
        resolve(e);
      });
    });
  return {
    source,
    clock,
    lists,
    events,
    nextUpdate: async () => (await next('update')).endpoints,
    nextError: () => next('error'),
    lastPollWait: () => clock.delays.filter((d) => d !== timeoutMs).at(-1),
  };
}

const a = (name: string, data: string, ttl = 30): Answer => ({ type: 'A', name, ttl, data });
const aaaa = (name: string, data: string, ttl = 30): Answer => ({ type: 'AAAA', name, ttl, data });
const srv = (
  name: string,
  target: string,
  port: number,
  priority = 0,
  weight = 1,
  ttl = 30,
): Answer => ({ type: 'SRV', name, ttl, data: { target, port, priority, weight } });
const soa = (ttl: number, minimum: number): Answer => ({
  type: 'SOA',
  name: 'test',
  ttl,
  data: { mname: 'ns.test', rname: 'admin.test', serial: 1, minimum },
});

const addresses = (list: readonly EndpointInit[]): string[] => list.map((e) => e.address);

describe('dnsSource: A/AAAA', () => {
  it('makes one endpoint per A and AAAA address, on the port, asking both at once', async () => {
    const dns = await server((q) => ({
      answers:
        q.type === 'A' ? [a(q.name, '10.0.0.2'), a(q.name, '10.0.0.1')] : [aaaa(q.name, 'fd00::1')],
    }));
    const w = watch(dns, { hostname: 'greeter.test', port: 50051 });
    expect(addresses(await w.nextUpdate())).toEqual([
      '10.0.0.1:50051',
      '10.0.0.2:50051',
      '[fd00::1]:50051',
    ]);
    expect(dns.queries.map((q) => `${q.type} ${q.name}`).sort()).toEqual([
      'A greeter.test',
      'AAAA greeter.test',
    ]);
    expect(w.lists.at(-1)![0]).toEqual({
      address: '10.0.0.1:50051',
      metadata: { hostname: 'greeter.test', host: '10.0.0.1', port: 50051, family: 4 },
    });
    expect(w.source.health()).toMatchObject({ state: 'healthy', endpoints: 3 });
  });

  it('asks only A for family 4 and only AAAA for family 6', async () => {
    const dns = await server((q) => ({
      answers: q.type === 'A' ? [a(q.name, '10.0.0.1')] : [aaaa(q.name, 'fd00::1')],
    }));
    const four = watch(dns, { hostname: 'four.test', port: 80, family: 4 });
    expect(addresses(await four.nextUpdate())).toEqual(['10.0.0.1:80']);
    const six = watch(dns, { hostname: 'six.test', port: 80, family: 6 });
    expect(addresses(await six.nextUpdate())).toEqual(['[fd00::1]:80']);
    expect(dns.queries.map((q) => `${q.type} ${q.name}`)).toEqual(['A four.test', 'AAAA six.test']);
  });

  it('follows a CNAME chain within the answer; its TTLs count', async () => {
    const dns = await server((q) => ({
      answers: [
        { type: 'CNAME', name: q.name, ttl: 9, data: 'mid.test' },
        { type: 'CNAME', name: 'mid.test', ttl: 30, data: 'real.test' },
        a('real.test', '10.0.0.7', 40),
        a('unrelated.test', '10.9.9.9', 1),
      ],
    }));
    const w = watch(dns, { hostname: 'alias.test', port: 80, family: 4 });
    expect(addresses(await w.nextUpdate())).toEqual(['10.0.0.7:80']);
    expect(w.lastPollWait()).toBe(9_000);
  });

  it('makes each address with toAddress (base URLs for createFetch)', async () => {
    const dns = await server((q) => ({
      answers: q.type === 'A' ? [a(q.name, '10.0.0.1')] : [aaaa(q.name, 'fd00::1')],
    }));
    const w = watch(dns, {
      hostname: 'web.test',
      port: 8080,
      toAddress: ({ host, port, family }) =>
        family === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`,
    });
    expect(addresses(await w.nextUpdate())).toEqual([
      'http://10.0.0.1:8080',
      'http://[fd00::1]:8080',
    ]);
  });
});

describe('dnsSource: SRV', () => {
  const name = '_grpc._tcp.greeter.test';

  it('maps priorities to groups and weights to weights, addresses from the additional section', async () => {
    const dns = await server((q) => ({
      answers: [
        srv(q.name, 'r1.test', 5001, 10, 60),
        srv(q.name, 'r2.test', 5002, 10, 20),
        srv(q.name, 'r3.test', 5003, 20, 0),
      ],
      additionals: [a('r1.test', '10.0.0.1'), a('r2.test', '10.0.0.2'), a('r3.test', '10.0.0.3')],
    }));
    const w = watch(dns, { srv: name });
    const list = await w.nextUpdate();
    expect(list.map((e) => [e.address, e.priority, e.weight, e.group])).toEqual([
      ['10.0.0.1:5001', 0, 60, 'srv-10'],
      ['10.0.0.2:5002', 0, 20, 'srv-10'],
      ['10.0.0.3:5003', 1, 1, 'srv-20'],
    ]);
    expect(list[0]!.metadata).toEqual({
      target: 'r1.test',
      host: '10.0.0.1',
      port: 5001,
      family: 4,
      srvPriority: 10,
      srvWeight: 60,
    });
    // Everything came in one answer: no address queries.
    expect(dns.queries.map((q) => q.type)).toEqual(['SRV']);
  });

  it('asks for the targets’ addresses through the same servers when the additional section has none', async () => {
    const dns = await server((q) => {
      if (q.type === 'SRV')
        return { answers: [srv(q.name, 'r1.test', 5001), srv(q.name, 'r2.test', 5002)] };
      if (q.type === 'A')
        return { answers: [a(q.name, q.name === 'r1.test' ? '10.0.0.1' : '10.0.0.2')] };
      return q.name === 'r2.test' ? { answers: [aaaa(q.name, 'fd00::2')] } : {};
    });
    const w = watch(dns, { srv: name });
    expect(addresses(await w.nextUpdate())).toEqual([
      '10.0.0.1:5001',
      '10.0.0.2:5002',
      '[fd00::2]:5002',
    ]);
    expect(dns.queries.map((q) => `${q.type} ${q.name}`).sort()).toEqual([
      'A r1.test',
      'A r2.test',
      'AAAA r1.test',
      'AAAA r2.test',
      `SRV ${name}`,
    ]);
  });

  it('skips unusable and malformed records, each with its reason, and keeps the rest', async () => {
    const dns = await server((q) => {
      if (q.type === 'SRV') {
        return {
          answers: [
            srv(q.name, 'good.test', 5001),
            srv(q.name, 'good.test', 0),
            srv(q.name, 'bad host!.test', 5003),
            srv(q.name, 'gone.test', 5004),
            srv(q.name, 'v6only.test', 5005),
            rawRecord(q.name, 33, 30, Buffer.from([0, 1, 0, 2, 0])),
          ],
          additionals: [
            a('good.test', '10.0.0.1'),
            rawRecord('good.test', 1, 30, Buffer.from([10, 0, 0])),
          ],
        };
      }
      if (q.name === 'gone.test') return { rcode: rcodes.NXDOMAIN };
      return q.type === 'AAAA' ? { answers: [aaaa(q.name, 'fd00::5')] } : {};
    });
    const w = watch(dns, { srv: name, family: 4 });
    expect(addresses(await w.nextUpdate())).toEqual(['10.0.0.1:5001']);
    expect(w.events.skipped).toEqual([
      {
        record: `${name}. 30 IN SRV \\# 5 0001000200`,
        reason: expect.stringContaining('cannot decode its data') as string,
      },
      { record: `${name}. 30 IN SRV 0 1 0 good.test.`, reason: 'port 0' },
      {
        record: `${name}. 30 IN SRV 0 1 5003 bad host!.test.`,
        reason: 'target "bad host!.test" is not a host name',
      },
      { record: 'good.test. 30 IN A \\# 3 0a0000', reason: '3 bytes of data where A has 4' },
      {
        record: `${name}. 30 IN SRV 0 1 5004 gone.test.`,
        reason: 'its target gone.test does not exist (NXDOMAIN)',
      },
      {
        record: `${name}. 30 IN SRV 0 1 5005 v6only.test.`,
        reason: 'its target v6only.test has no A record',
      },
    ]);
    expect(w.source.health().state).toBe('healthy');
  });

  it('takes a lone target of "." as "service not available": an empty answer', async () => {
    const dns = await server((q) => ({ answers: [srv(q.name, '.', 0, 0, 0, 5)] }));
    const w = watch(dns, { srv: name, allowEmpty: true });
    expect(await w.nextUpdate()).toEqual([]);
    expect(w.events.skipped).toEqual([]);
    expect(w.lastPollWait()).toBe(5_000);
  });

  it('skips "." among records with targets', async () => {
    const dns = await server((q) => ({
      answers: [srv(q.name, '.', 0), srv(q.name, 'r1.test', 5001)],
      additionals: [a('r1.test', '10.0.0.1')],
    }));
    const w = watch(dns, { srv: name });
    expect(addresses(await w.nextUpdate())).toEqual(['10.0.0.1:5001']);
    expect(w.events.skipped.map((s) => s.reason)).toEqual([
      'target "." (service not available) among records with targets',
    ]);
  });

  it('fails the whole answer when a target’s address query fails, keeping the last endpoints', async () => {
    let broken = false;
    const dns = await server((q) => {
      if (q.type === 'SRV')
        return { answers: [srv(q.name, 'r1.test', 5001), srv(q.name, 'r2.test', 5002)] };
      if (broken && q.name === 'r2.test') return { rcode: rcodes.SERVFAIL };
      return q.type === 'A'
        ? { answers: [a(q.name, q.name === 'r1.test' ? '10.0.0.1' : '10.0.0.2')] }
        : {};
    });
    const w = watch(dns, { srv: name, family: 4, backoff: constantBackoff({ delayMs: 500 }) });
    expect(addresses(await w.nextUpdate())).toEqual(['10.0.0.1:5001', '10.0.0.2:5002']);
    broken = true;
    const failed = w.nextError();
    w.clock.advance(30_000);
    const { error, retryInMs, consecutiveFailures } = await failed;
    expect(error.message).toBe(
      `dns:${name}: DNS A query for r2.test failed: ${dns.address} answered SERVFAIL`,
    );
    expect(isDetourError(error.cause)).toBe(true);
    expect({ retryInMs, consecutiveFailures }).toEqual({ retryInMs: 500, consecutiveFailures: 1 });
    expect(addresses(w.source.endpoints())).toEqual(['10.0.0.1:5001', '10.0.0.2:5002']);
    expect(w.source.health()).toMatchObject({ state: 'failing', endpoints: 2 });
  });
});

describe('dnsSource: when it asks again', () => {
  const name = '_grpc._tcp.ttl.test';

  /** A server whose SRV and A TTLs the test sets, and whose address changes on every answer. */
  async function ttlServer(ttls: { srv: number; a: number }): Promise<TestDnsServer> {
    let n = 0;
    return server((q: ReceivedQuery) =>
      q.type === 'SRV'
        ? {
            answers: [srv(q.name, 'r.test', 5000, 0, 1, ttls.srv)],
            additionals: [a('r.test', `10.0.0.${++n}`, ttls.a)],
          }
        : {},
    );
  }

  it('after the smallest TTL of the records used, target addresses included', async () => {
    const dns = await ttlServer({ srv: 30, a: 7 });
    const w = watch(dns, { srv: name });
    await w.nextUpdate();
    expect(w.lastPollWait()).toBe(7_000);
    const next = w.nextUpdate();
    w.clock.advance(6_999);
    expect(w.clock.delays.filter((d) => d === timeoutMs)).toHaveLength(1);
    w.clock.advance(1);
    expect(addresses(await next)).toEqual(['10.0.0.2:5000']);
    expect(dns.queries).toHaveLength(2);
  });

  it.each([
    ['a TTL of 0 waits minIntervalMs', { srv: 0, a: 0 }, { minIntervalMs: 250 }, 250],
    ['a TTL of 0, by default, waits 1 s', { srv: 0, a: 0 }, {}, 1_000],
    [
      'a long TTL waits maxIntervalMs',
      { srv: 86_400, a: 86_400 },
      { maxIntervalMs: 20_000 },
      20_000,
    ],
    ['a long TTL, by default, waits 60 s', { srv: 86_400, a: 3_600 }, {}, 60_000],
    ['a TTL within the bounds is kept', { srv: 45, a: 50 }, {}, 45_000],
  ])('%s', async (_what, ttls, options, wait) => {
    const w = watch(await ttlServer(ttls), { srv: name, ...options });
    await w.nextUpdate();
    expect(w.lastPollWait()).toBe(wait);
  });

  it('every intervalMs when the answer has no TTL; on the SOA’s negative TTL when it has one', async () => {
    const bare = await server(() => ({ rcode: rcodes.NXDOMAIN }));
    const w = watch(bare, {
      hostname: 'gone.test',
      port: 80,
      family: 4,
      intervalMs: 12_000,
      allowEmpty: true,
    });
    await w.nextUpdate();
    expect(w.lastPollWait()).toBe(12_000);
    const withSoa = await server(() => ({ rcode: rcodes.NXDOMAIN, authorities: [soa(300, 15)] }));
    const v = watch(withSoa, { hostname: 'gone.test', port: 80, family: 4, allowEmpty: true });
    await v.nextUpdate();
    expect(v.lastPollWait()).toBe(15_000);
  });

  it('at once on refresh(), no sooner than minIntervalMs after the last ask', async () => {
    const dns = await ttlServer({ srv: 3_600, a: 3_600 });
    const w = watch(dns, { srv: name, minIntervalMs: 2_000 });
    await w.nextUpdate();
    w.clock.advance(2_000);
    const next = w.nextUpdate();
    w.source.refresh();
    expect(addresses(await next)).toEqual(['10.0.0.2:5000']);
    expect(dns.queries).toHaveLength(2);
  });
});

describe('dnsSource: failures and life cycle', () => {
  it('reports SERVFAIL as a failure naming the server, keeps the endpoints, and retries after the backoff', async () => {
    let rcode: number = rcodes.NOERROR;
    const dns = await server((q) =>
      rcode === rcodes.NOERROR ? { answers: [a(q.name, '10.0.0.1', 5)] } : { rcode },
    );
    const w = watch(dns, {
      hostname: 'x.test',
      port: 80,
      family: 4,
      backoff: constantBackoff({ delayMs: 3_000 }),
    });
    await w.nextUpdate();
    rcode = rcodes.SERVFAIL;
    let failed = w.nextError();
    w.clock.advance(5_000);
    const first = await failed;
    expect(first.error.message).toBe(
      `dns:x.test:80: DNS A query for x.test failed: ${dns.address} answered SERVFAIL`,
    );
    expect(first.retryInMs).toBe(3_000);
    expect(w.source.endpoints()).toHaveLength(1);
    failed = w.nextError();
    w.clock.advance(3_000);
    expect((await failed).consecutiveFailures).toBe(2);
    rcode = rcodes.NOERROR;
    w.clock.advance(3_000);
    await vi.waitFor(() => expect(w.source.health().state).toBe('healthy'));
    expect(w.events.update).toHaveLength(1); // the same list: no new update
  });

  it('close() during a query closes its sockets and leaves no timer', async () => {
    const dns = await server(() => null);
    const baseline = await settledResources();
    const w = watch(dns, { srv: '_x._tcp.silent.test' });
    await dns.waitForQueries(1);
    w.source.close();
    expect(w.clock.pendingTimers).toBe(0);
    await waitForNoLeaks(baseline);
    expect(w.source.health().state).toBe('closed');
    expect(w.events.error).toEqual([]);
  });

  it('unsubscribing the last subscriber stops the queries; subscribing again starts them', async () => {
    const dns = await server((q) => ({ answers: [a(q.name, '10.0.0.1')] }));
    const source = dnsSource({
      hostname: 'x.test',
      port: 80,
      family: 4,
      servers: [dns.address],
      clock: new ManualClock(),
      metrics: false,
    });
    cleanup.push(() => source.close());
    const stop = source.subscribe({ next: () => undefined });
    expect(await source.ready()).toHaveLength(1);
    stop();
    expect(source.health().state).toBe('stopped');
    const again: EndpointInit[][] = [];
    source.subscribe({
      next: (u) => again.push(u.type === 'full' ? (u.endpoints as EndpointInit[]) : []),
    });
    expect(again).toHaveLength(1); // the last good list, at once
    await dns.waitForQueries(2);
  });
});
