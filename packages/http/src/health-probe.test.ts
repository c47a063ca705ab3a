import type { Endpoint, Pool, PoolEvents, ProbeResult } from '@detour/core';
import { createPool, heartbeat } from '@detour/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpHealthProbeOptions } from './health-probe.js';
import { httpHealthProbe } from './health-probe.js';
import { configError } from './test-support/config-error.js';
import type { TestHttpServer } from './test-support/http-server.js';
import { refusedUrl, socketClosed, startHttpServer } from './test-support/http-server.js';

function endpoint(address: string, id = address): Endpoint {
  return {
    id,
    address,
    weight: 1,
    capacity: 1,
    priority: 0,
    group: 'p0',
    zone: undefined,
    metadata: {},
  };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<TestHttpServer> {
  const started = await startHttpServer(handler);
  cleanup.push(() => started.close());
  return started;
}

/** Answers every request with `status` and a small body. */
function answer(status: number, headers: Record<string, string> = {}) {
  return (_request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(status, headers).end('{"status":"whatever"}');
  };
}

async function probeOnce(
  address: string,
  options?: HttpHealthProbeOptions,
  signal = new AbortController().signal,
): Promise<ProbeResult> {
  const result = await httpHealthProbe(options)(endpoint(address), signal);
  if (typeof result === 'boolean') throw new Error('expected a ProbeResult');
  return result;
}

describe('httpHealthProbe verdicts (real servers)', () => {
  it('a 2xx on GET /healthz is healthy', async () => {
    const s = await server(answer(200));
    const result = await probeOnce(s.url);
    expect(result).toEqual({
      healthy: true,
      latencyMs: expect.any(Number) as number,
      code: 200,
      message: '200 OK',
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(s.requests.map((r) => [r.method, r.url])).toEqual([['GET', '/healthz']]);
  });

  it.each([200, 201, 204, 299])('%d is healthy by default', async (status) => {
    const s = await server(answer(status));
    expect((await probeOnce(s.url)).healthy).toBe(true);
  });

  it.each([
    [503, '503 Service Unavailable'],
    [500, '500 Internal Server Error'],
    [404, '404 Not Found'],
    [429, '429 Too Many Requests'],
  ])('%d is unhealthy by default', async (status, message) => {
    const s = await server(answer(status));
    expect(await probeOnce(s.url)).toMatchObject({ healthy: false, code: status, message });
  });

  it('does not follow a redirect: its own status decides', async () => {
    const s = await server(answer(302, { location: '/login' }));
    expect(await probeOnce(s.url)).toMatchObject({ healthy: false, code: 302 });
    expect(s.requests).toHaveLength(1);
    expect(await probeOnce(s.url, { expectedStatuses: [302] })).toMatchObject({ healthy: true });
  });

  it('judges by expectedStatuses when given', async () => {
    const s = await server(answer(429));
    expect((await probeOnce(s.url, { expectedStatuses: [200, 429] })).healthy).toBe(true);
    const ok = await server(answer(204));
    expect((await probeOnce(ok.url, { expectedStatuses: [200] })).healthy).toBe(false);
  });

  it('keeps the base path of the endpoint address', async () => {
    const s = await server(answer(200));
    await probeOnce(`${s.url}/api`);
    await probeOnce(`${s.url}/api/`);
    await probeOnce(`${s.url}/api/v1`, { path: '/ready?full=1' });
    await probeOnce(`${s.url}/api?key=1`, { path: 'live' });
    expect(s.requests.map((r) => r.url)).toEqual([
      '/api/healthz',
      '/api/healthz',
      '/api/v1/ready?full=1',
      '/api/live',
    ]);
  });

  it('sends HEAD when asked, and the headers given', async () => {
    const s = await server(answer(200));
    const result = await probeOnce(s.url, {
      method: 'HEAD',
      headers: { authorization: 'Bearer x', 'x-probe': '1' },
    });
    expect(result.healthy).toBe(true);
    const [request] = s.requests;
    expect(request?.method).toBe('HEAD');
    expect(request?.headers).toMatchObject({ authorization: 'Bearer x', 'x-probe': '1' });
  });

  it('connection refused: unhealthy with the error code', async () => {
    const result = await probeOnce(await refusedUrl());
    expect(result).toEqual({
      healthy: false,
      latencyMs: expect.any(Number) as number,
      code: 'ECONNREFUSED',
      message: expect.stringMatching(
        /^fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
      ) as string,
    });
  });

  it('the connection closed before an answer: unhealthy with UND_ERR_SOCKET', async () => {
    const s = await server((request) => request.socket.destroy());
    expect(await probeOnce(s.url)).toMatchObject({
      healthy: false,
      code: 'UND_ERR_SOCKET',
      message: 'fetch failed: other side closed',
    });
  });

  it('an endpoint address that is not a base URL: unhealthy, nothing sent', async () => {
    let calls = 0;
    const fetch = (): Promise<Response> => {
      calls++;
      return Promise.resolve(new Response());
    };
    expect(await probeOnce('localhost:8080', { fetch })).toMatchObject({
      healthy: false,
      code: 'ERR_INVALID_URL',
      message: 'The endpoint address "localhost:8080" is not a base URL',
    });
    expect(calls).toBe(0);
  });

  it('a fetch that rejects with something else: unhealthy with its code, or "error"', async () => {
    const failing = (error: unknown) => ({
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- on purpose
      fetch: () => Promise.reject(error),
    });
    expect(
      await probeOnce('http://h', failing(Object.assign(new Error('nope'), { code: 'E_X' }))),
    ).toMatchObject({ healthy: false, code: 'E_X', message: 'nope' });
    // A fetch with a timeout of its own: the probe's signal did not abort.
    expect(
      await probeOnce('http://h', failing(new DOMException('too slow', 'TimeoutError'))),
    ).toMatchObject({ healthy: false, code: 'TimeoutError', message: 'too slow' });
    expect(await probeOnce('http://h', failing('nope'))).toMatchObject({
      healthy: false,
      code: 'error',
      message: 'nope',
    });
  });

  it('calls the given fetch with the URL string, the signal and no redirects', async () => {
    const calls: [string, RequestInit][] = [];
    const signal = new AbortController().signal;
    await probeOnce(
      'http://10.0.0.1:8080/api',
      {
        headers: [['x-a', '1']],
        fetch: (input, init) => {
          calls.push([input, init]);
          return Promise.resolve(new Response('ok'));
        },
      },
      signal,
    );
    expect(calls).toHaveLength(1);
    const [input, init] = calls[0]!;
    expect(input).toBe('http://10.0.0.1:8080/api/healthz');
    expect(init).toMatchObject({ method: 'GET', redirect: 'manual', signal });
    expect(new Headers(init.headers).get('x-a')).toBe('1');
  });
});

describe('httpHealthProbe and the signal', () => {
  it('rejects with the signal’s reason when it aborts, and the connection is closed', async () => {
    const s = await server(() => {}); // never answers
    const controller = new AbortController();
    const probe = httpHealthProbe()(endpoint(s.url), controller.signal);
    await s.waitForOpen(1);
    const reason = new Error('heartbeat timeout');
    controller.abort(reason);
    await expect(probe).rejects.toBe(reason);
    await socketClosed(s.requests[0]!.socket);
  });

  it('rejects with a TimeoutError from AbortSignal.timeout()', async () => {
    const s = await server(() => {});
    await expect(probeOnce(s.url, {}, AbortSignal.timeout(20))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await socketClosed(s.requests[0]!.socket);
  });

  it('does not send anything when the signal has already aborted', async () => {
    const s = await server(answer(200));
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(probeOnce(s.url, {}, controller.signal)).rejects.toThrow('gone');
    expect(s.accepted).toBe(0);
  });
});

describe('httpHealthProbe leaves no socket behind', () => {
  it('reuses its connections: each response is read to its end, none is destroyed', async () => {
    const s = await server(answer(200));
    const probe = httpHealthProbe();
    for (let i = 0; i < 10; i++) {
      expect(await probe(endpoint(s.url), new AbortController().signal)).toMatchObject({
        healthy: true,
      });
    }
    expect(s.requests).toHaveLength(10);
    // undici hands a socket back to its pool a moment after the body ends, so the next request
    // may open a second connection; from then on the two take turns. None was closed.
    expect(s.accepted).toBeLessThanOrEqual(2);
    expect(s.open).toBe(s.accepted);
  });

  it('reads no more than 64 KiB of an endless body: it cancels it, closing the connection', async () => {
    let written = 0;
    const s = await server((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(16_384);
      const pump = (): void => {
        while (!response.destroyed && response.write(chunk)) written += chunk.length;
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    expect(await probeOnce(s.url)).toMatchObject({ healthy: true, code: 200 });
    await socketClosed(s.requests[0]!.socket);
    expect(written).toBeLessThan(16 * 1024 * 1024); // stopped long before the test ends
  });

  it('cancels an unhealthy response’s large body too', async () => {
    const s = await server((_request, response) => {
      response.writeHead(503).end('x'.repeat(4 * 1024 * 1024));
    });
    expect(await probeOnce(s.url)).toMatchObject({ healthy: false, code: 503 });
    await socketClosed(s.requests[0]!.socket);
  });

  it('a body that breaks off after a good status: unhealthy with the network error', async () => {
    const s = await server((request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('partial', () => request.socket.destroy());
    });
    expect(await probeOnce(s.url)).toEqual({
      healthy: false,
      latencyMs: expect.any(Number) as number,
      code: 'UND_ERR_SOCKET',
      message: '200 OK, then the body failed: terminated: other side closed',
    });
  });

  it('a body that stalls holds the probe until its signal aborts', async () => {
    const s = await server((_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('partial');
    });
    await expect(probeOnce(s.url, {}, AbortSignal.timeout(50))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await socketClosed(s.requests[0]!.socket);
  });
});

describe('httpHealthProbe with the heartbeat detector (real servers, real time)', () => {
  let pool: Pool | undefined;
  afterEach(() => {
    pool?.close();
    pool = undefined;
  });

  it('holds out an unhealthy or unreachable endpoint and releases it once healthy', async () => {
    let status = 200;
    const a = await server((_request, response) => response.writeHead(status).end());
    const b = await server(answer(200));
    const dead = await refusedUrl();
    pool = createPool({
      endpoints: [
        { id: 'a', address: `${a.url}/api` },
        { id: 'b', address: b.url },
        { id: 'dead', address: dead },
      ],
      detectors: [
        heartbeat({
          probe: httpHealthProbe({ path: '/ready' }),
          intervalMs: 20,
          timeoutMs: 500,
          initialDelayMs: 0,
          unhealthyThreshold: 1,
          healthyThreshold: 1,
        }),
      ],
    });
    const p = pool;
    const held: PoolEvents['ejected'][] = [];
    p.on('ejected', (event) => held.push(event));

    await waitFor(() => p.get('dead')!.status === 'ejected');
    expect(held.find((e) => e.endpoint.id === 'dead')?.fault).toMatchObject({
      kind: 'probe-failed',
      code: 'ECONNREFUSED',
    });
    status = 503;
    await waitFor(() => p.get('a')!.status === 'ejected');
    expect(held.find((e) => e.endpoint.id === 'a')?.fault).toMatchObject({ code: 503 });
    expect(p.get('b')!.status).toBe('healthy');
    status = 200;
    await waitFor(() => p.get('a')!.status !== 'ejected');
    expect(a.requests.every((r) => r.url === '/api/ready')).toBe(true);
    // Closing the pool stops the probes.
    pool.close();
    pool = undefined;
    const sent = a.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(a.requests).toHaveLength(sent);
  });
});

describe('httpHealthProbe options', () => {
  it.each([
    ['not an object', 'x', 'healthCheck', 'x'],
    ['an unknown option', { timeoutMs: 5 }, 'healthCheck.timeoutMs', 5],
    ['an empty path', { path: '' }, 'healthCheck.path', ''],
    ['a path that is not a string', { path: 5 }, 'healthCheck.path', 5],
    [
      'an absolute URL as path',
      { path: 'http://other/healthz' },
      'healthCheck.path',
      'http://other/healthz',
    ],
    ['a method other than GET or HEAD', { method: 'POST' }, 'healthCheck.method', 'POST'],
    ['a lowercase method', { method: 'get' }, 'healthCheck.method', 'get'],
    [
      'expectedStatuses not an array',
      { expectedStatuses: 200 },
      'healthCheck.expectedStatuses',
      200,
    ],
    ['no expectedStatuses', { expectedStatuses: [] }, 'healthCheck.expectedStatuses', []],
    [
      'a status out of range',
      { expectedStatuses: [200, 600] },
      'healthCheck.expectedStatuses[1]',
      600,
    ],
    [
      'a status as a string',
      { expectedStatuses: ['200'] },
      'healthCheck.expectedStatuses[0]',
      '200',
    ],
    ['an invalid header name', { headers: { 'a b': '1' } }, 'healthCheck.headers', { 'a b': '1' }],
    ['an invalid header value', { headers: { a: 'x\ny' } }, 'healthCheck.headers', { a: 'x\ny' }],
    ['fetch not a function', { fetch: 'fetch' }, 'healthCheck.fetch', 'fetch'],
  ])('rejects %s', (_what, options, option, value) => {
    const error = configError(() => httpHealthProbe(options as HttpHealthProbeOptions));
    expect(error.option).toBe(option);
    expect(error.value).toEqual(value);
  });

  it('accepts no options and every documented one', () => {
    expect(typeof httpHealthProbe()).toBe('function');
    expect(() =>
      httpHealthProbe({
        path: 'ready?x=1',
        method: 'HEAD',
        expectedStatuses: [200, 204, 503],
        headers: new Headers({ a: '1' }),
        fetch: globalThis.fetch,
      }),
    ).not.toThrow();
  });
});

/** Polls `condition` in real time (these tests run against real servers) until it holds. */
async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
