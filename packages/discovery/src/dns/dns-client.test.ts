/**
 * The stub resolver against real DNS servers in this process (test-support/dns-test-server.ts):
 * UDP, TCP after truncation, datagrams that do not answer the query, error codes, silence,
 * refused ports, abort, and that every exchange closes its socket and cancels its timer.
 */
import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import { systemClock } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { openResources, settledResources, waitForNoLeaks } from '../test-support/open-resources.js';
import { DnsClient, DnsQueryError } from './dns-client.js';
import type { Clock } from '@detour/core';
import { parseServer } from './dns-servers.js';
import { rcodes } from './dns-message.js';
import { startTestDnsServer } from './test-support/dns-test-server.js';
import type { Handler, ReceivedQuery, TestDnsServer } from './test-support/dns-test-server.js';

const servers: TestDnsServer[] = [];

async function server(handler: Handler): Promise<TestDnsServer> {
  const started = await startTestDnsServer(handler);
  servers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function client(
  list: readonly (TestDnsServer | string)[],
  clock: Clock = new ManualClock(),
  timeoutMs = 2_000,
): DnsClient {
  return new DnsClient({
    servers: list.map((s, i) =>
      parseServer(`servers[${i}]`, typeof s === 'string' ? s : s.address),
    ),
    timeoutMs,
    clock,
  });
}

const a = (q: ReceivedQuery, data = '10.0.0.1') =>
  ({ type: 'A', name: q.name, ttl: 5, data }) as const;

/** A UDP port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const never = new AbortController().signal;

describe('DnsClient', () => {
  it('asks over UDP, with EDNS(0) and a fresh random id each time', async () => {
    const dns = await server((q) => ({ answers: [a(q)] }));
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => client([dns]).query('x.test', 'A', never)),
    );
    expect(answers[0]!.response.answers.map((r) => r.data)).toEqual(['10.0.0.1']);
    expect(answers[0]!.server.label).toBe(dns.address);
    expect(dns.queries.every((q) => q.transport === 'UDP' && q.edns && q.type === 'A')).toBe(true);
    expect(new Set(dns.queries.map((q) => q.id)).size).toBeGreaterThan(1);
  });

  it('asks again over TCP when the UDP answer is truncated (TC)', async () => {
    const many = (q: ReceivedQuery) =>
      Array.from({ length: 60 }, (_, i) => a(q, `10.0.${Math.floor(i / 250)}.${i % 250}`));
    const dns = await server((q) =>
      q.transport === 'UDP' ? { truncated: true, answers: [] } : { answers: many(q) },
    );
    const { response } = await client([dns]).query('x.test', 'A', never);
    expect(dns.queries.map((q) => q.transport)).toEqual(['UDP', 'TCP']);
    expect(response.answers).toHaveLength(60);
  });

  it('ignores datagrams that do not answer the query, and takes the one that does', async () => {
    const dns = await server((q) => [
      Buffer.from('not dns at all'),
      { id: (q.id + 1) % 0x10000, answers: [a(q, '10.6.6.6')] },
      { questions: [{ name: 'other.test', type: 'A' }], answers: [a(q, '10.6.6.7')] },
      { answers: [a(q, '10.0.0.1')] },
    ]);
    const { response } = await client([dns]).query('x.test', 'A', never);
    expect(response.answers.map((r) => r.data)).toEqual(['10.0.0.1']);
  });

  it('fails a server that sends only datagrams it cannot take, saying what it ignored', async () => {
    const dns = await server((q) => [
      { id: (q.id + 1) % 0x10000, answers: [a(q)] },
      Buffer.from([1, 2, 3]),
    ]);
    // Real time: the datagrams must arrive before the timeout, which they do in microseconds.
    const error = await client([dns], systemClock, 500)
      .query('x.test', 'A', never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsQueryError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^DNS A query for x.test failed: ${dns.address} gave no answer over UDP within 500 ms ` +
          `\\(ignored 2 datagram\\(s\\): a response with id \\d+, not \\d+\\)$`,
      ),
    );
  });

  it('asks the next server after SERVFAIL or REFUSED, and names each failure', async () => {
    const failing = await server(() => ({ rcode: rcodes.SERVFAIL }));
    const refusing = await server(() => ({ rcode: rcodes.REFUSED, questions: [] }));
    const good = await server((q) => ({ answers: [a(q)] }));
    const answer = await client([failing, refusing, good]).query('x.test', 'A', never);
    expect(answer.server.label).toBe(good.address);

    const error = (await client([failing, refusing])
      .query('x.test', 'SRV', never)
      .catch((e: unknown) => e)) as DnsQueryError;
    expect(error).toBeInstanceOf(DnsQueryError);
    expect(error.code).toBe('DETOUR_DNS_QUERY');
    expect(error.message).toBe(
      `DNS SRV query for x.test failed: ${failing.address} answered SERVFAIL; ` +
        `${refusing.address} answered REFUSED`,
    );
    expect(error.failures.map((f) => f.rcode)).toEqual([rcodes.SERVFAIL, rcodes.REFUSED]);
  });

  it('takes NXDOMAIN and an empty answer as answers: the next server is not asked', async () => {
    const nx = await server(() => ({ rcode: rcodes.NXDOMAIN }));
    const empty = await server(() => ({}));
    const other = await server((q) => ({ answers: [a(q)] }));
    expect((await client([nx, other]).query('x.test', 'A', never)).response.rcode).toBe(3);
    expect((await client([empty, other]).query('x.test', 'A', never)).response.answers).toEqual([]);
    expect(other.queries).toEqual([]);
  });

  it('asks the next server when one is silent for timeoutMs', async () => {
    const clock = new ManualClock();
    const silent = await server(() => null);
    const good = await server((q) => ({ answers: [a(q)] }));
    const answer = client([silent, good], clock, 2_000).query('x.test', 'A', never);
    await silent.waitForQueries(1);
    clock.advance(1_999);
    expect(good.queries).toHaveLength(0);
    clock.advance(1);
    expect((await answer).server.label).toBe(good.address);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fails at once where nothing listens (ECONNREFUSED on the connected socket)', async () => {
    // A ManualClock that never moves: only the refusal can end the first exchange.
    const port = await closedPort();
    const good = await server((q) => ({ answers: [a(q)] }));
    const answer = await client([`127.0.0.1:${port}`, good]).query('x.test', 'A', never);
    expect(answer.server.label).toBe(good.address);
    const error = await client([`127.0.0.1:${port}`])
      .query('x.test', 'A', never)
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `DNS A query for x.test failed: 127.0.0.1:${port} refused the UDP query (ECONNREFUSED)`,
    );
  });

  it('asks again without EDNS after FORMERR (RFC 6891 §7)', async () => {
    const old = await server((q) =>
      q.edns ? { rcode: rcodes.FORMERR, questions: [] } : { answers: [a(q)] },
    );
    const { response } = await client([old]).query('x.test', 'A', never);
    expect(response.answers).toHaveLength(1);
    expect(old.queries.map((q) => q.edns)).toEqual([true, false]);
  });

  it('fails a server whose TCP answer is not the answer', async () => {
    const dns = await server((q) =>
      q.transport === 'UDP' ? { truncated: true } : [{ id: (q.id + 7) % 0x10000, answers: [a(q)] }],
    );
    const error = await client([dns])
      .query('x.test', 'A', never)
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/sent over TCP a response with id \d+, not \d+$/);
  });

  it('ends at once when the signal aborts, closing the socket and the timer', async () => {
    const clock = new ManualClock();
    const silent = await server(() => null);
    const baseline = await settledResources();
    const abort = new AbortController();
    const answer = client([silent], clock).query('x.test', 'A', abort.signal);
    await silent.waitForQueries(1);
    expect(openResources()).not.toEqual(baseline);
    const reason = new Error('stop');
    abort.abort(reason);
    await expect(answer).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await waitForNoLeaks(baseline);
    // Aborted in the same turn: the socket is closed while it is still connecting.
    const early = new AbortController();
    const closedEarly = client([silent], clock).query('x.test', 'A', early.signal);
    early.abort(reason);
    await expect(closedEarly).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await waitForNoLeaks(baseline);
  });

  it('leaves no socket or timer behind, whatever the outcome', async () => {
    const clock = new ManualClock();
    const dns = await server((q) => {
      if (q.name === 'tcp.test') {
        return q.transport === 'UDP' ? { truncated: true } : { answers: [a(q)] };
      }
      if (q.name === 'fail.test') return { rcode: rcodes.SERVFAIL };
      return { answers: [a(q)] };
    });
    const baseline = await settledResources();
    const resolver = client([dns], clock);
    await resolver.query('udp.test', 'A', never);
    await resolver.query('tcp.test', 'A', never);
    await resolver.query('fail.test', 'A', never).catch(() => undefined);
    expect(clock.pendingTimers).toBe(0);
    await waitForNoLeaks(baseline);
  });
});
