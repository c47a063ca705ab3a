import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDetourError } from '@detour/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyNotReplayableError } from './body.js';
import { createFetch } from './create-fetch.js';
import type { DetourFetch } from './create-fetch.js';
import { FetchFailedError } from './fetch-error.js';
import type { CreateFetchOptions } from './fetch-options.js';
import { ForeignUrlError } from './request-target.js';
import { refusedUrl, socketClosed, startHttpServer } from './test-support/http-server.js';
import type { TestHttpServer } from './test-support/http-server.js';
import { configError } from './test-support/config-error.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

/** A server that reads each request's body, then runs the handler that is current. */
interface Replica extends TestHttpServer {
  handler: Handler;
  readonly bodies: Buffer[];
  readonly headers: IncomingMessage['headers'][];
}

let servers: TestHttpServer[] = [];
let fetches: DetourFetch[] = [];

afterEach(async () => {
  for (const f of fetches) f.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  fetches = [];
});

const ok: Handler = (request, response, body) =>
  response
    .writeHead(200, { 'content-type': 'text/plain', 'x-path': request.url ?? '' })
    .end(body.length ? body : 'ok');

async function replica(handler: Handler = ok): Promise<Replica> {
  const bodies: Buffer[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const state = { handler };
  const server = await startHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      headers.push(request.headers);
      state.handler(request, response, body);
    });
  });
  servers.push(server);
  return Object.assign(server, {
    bodies,
    headers,
    get handler() {
      return state.handler;
    },
    set handler(h: Handler) {
      state.handler = h;
    },
  });
}

const unavailable =
  (headers: Record<string, string> = {}): Handler =>
  (_request, response) =>
    response.writeHead(503, headers).end('busy');

/** A fetch over `addresses` tried in order (priority groups), no detection, no budget. */
function ordered(addresses: string[], options: Partial<CreateFetchOptions> = {}): DetourFetch {
  const api = createFetch({
    endpoints: addresses.map((address, priority) => ({ address, priority })),
    selector: 'priority-groups',
    detectors: [],
    budget: false,
    metrics: false,
    ...options,
  });
  fetches.push(api);
  return api;
}

describe('createFetch: where requests go', () => {
  it('resolves relative URLs against the chosen base URL, keeping its path prefix', async () => {
    const a = await replica();
    const api = ordered([`${a.url}/v1/`]);
    const response = await api('/hello?name=x');
    expect(response.headers.get('x-path')).toBe('/v1/hello?name=x');
    expect(await response.text()).toBe('ok');
    expect((await api('hello')).headers.get('x-path')).toBe('/v1/hello');
  });

  it('sends URLs under the service URL or an endpoint URL to the endpoints', async () => {
    const a = await replica();
    const b = await replica();
    const api = ordered([a.url, b.url], { service: 'http://greeter/api' });
    const viaService = await api('http://greeter/api/hello?x=1');
    expect(viaService.headers.get('x-path')).toBe('/hello?x=1');
    const viaEndpoint = await api(new URL(`${b.url}/direct`));
    expect(viaEndpoint.headers.get('x-path')).toBe('/direct');
    expect(a.requests.length).toBe(2); // priority: a took both
  });

  it('refuses any other URL and sends nothing', async () => {
    const a = await replica();
    const other = await replica();
    const api = ordered([a.url], { service: 'http://greeter' });
    for (const url of [`${other.url}/x`, 'http://greeter.evil/x', '//elsewhere/x']) {
      const error = await api(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ForeignUrlError);
      expect((error as ForeignUrlError).code).toBe('DETOUR_FOREIGN_URL');
    }
    expect(other.requests.length + a.requests.length).toBe(0);
  });

  it('takes a Request: its method, headers and body', async () => {
    const a = await replica();
    const api = ordered([a.url], { service: 'http://svc' });
    const response = await api(
      new Request('http://svc/echo', {
        method: 'PUT',
        body: 'from a request',
        headers: { 'x-test': '1' },
      }),
    );
    expect(await response.text()).toBe('from a request');
    expect(a.headers[0]!['x-test']).toBe('1');
  });
});

describe('createFetch: retries and failover', () => {
  it('fails over from a refused connection, even for a POST (nothing was sent)', async () => {
    const dead = await refusedUrl();
    const a = await replica();
    const api = ordered([dead, a.url]);
    const response = await api('/orders', { method: 'POST', body: 'one' });
    expect(response.status).toBe(200);
    expect(a.bodies.map(String)).toEqual(['one']);
  });

  it('retries a GET on 503, 502, 504, 429 and 408 on another endpoint', async () => {
    for (const status of [503, 502, 504, 429, 408]) {
      const a = await replica((_q, response) => response.writeHead(status).end());
      const b = await replica();
      const api = ordered([a.url, b.url]);
      const response = await api('/x');
      expect(response.status).toBe(200);
      expect(a.requests.length).toBe(1);
    }
  });

  it('does not retry a POST the server answered 503; does with Idempotency-Key or detour.idempotent', async () => {
    const a = await replica(unavailable());
    const b = await replica();
    const api = ordered([a.url, b.url]);
    const plain = await api('/orders', { method: 'POST', body: 'p' });
    expect(plain.status).toBe(503);
    expect(await plain.text()).toBe('busy');
    expect(b.requests.length).toBe(0);
    const keyed = await api('/orders', {
      method: 'POST',
      body: 'k',
      headers: { 'Idempotency-Key': 'abc' },
    });
    expect(keyed.status).toBe(200);
    const marked = await api('/orders', {
      method: 'PATCH',
      body: 'm',
      detour: { idempotent: true },
    });
    expect(marked.status).toBe(200);
    expect(b.bodies.map(String)).toEqual(['k', 'm']);
    const forcedOff = await api('/orders', { method: 'PUT', detour: { idempotent: false } });
    expect(forcedOff.status).toBe(503);
  });

  it('waits as Retry-After says, and does not wait longer than maxPushbackMs', async () => {
    const a = await replica(unavailable({ 'retry-after': '1' }));
    const api = ordered([a.url], { call: { maxAttempts: 2 } });
    const started = performance.now();
    const response = await api('/x');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(response.status).toBe(503);
    expect(a.requests.length).toBe(2);

    const far = await replica(unavailable({ 'retry-after': '120' }));
    const farApi = ordered([far.url], { call: { maxAttempts: 2 } });
    const refused = await farApi('/x');
    expect(refused.status).toBe(503);
    expect(far.requests.length).toBe(1);
  });

  it('returns the last failed response when every attempt failed with one', async () => {
    const a = await replica(unavailable());
    const b = await replica((_q, response) => response.writeHead(502).end('bad gateway'));
    const api = ordered([a.url, b.url], { call: { maxAttempts: 2 } });
    const response = await api('/x');
    expect(response.status).toBe(502);
    expect(await response.text()).toBe('bad gateway');
  });

  it('does not retry a 500, and returns it', async () => {
    const a = await replica((_q, response) => response.writeHead(500).end('oops'));
    const b = await replica();
    const api = ordered([a.url, b.url]);
    const response = await api('/x');
    expect(response.status).toBe(500);
    expect(b.requests.length).toBe(0);
    expect(api.pool.get(a.url)!.failures).toBe(1);
  });

  it('rejects with a FetchFailedError (a TypeError) naming every attempt when no response came', async () => {
    const dead1 = await refusedUrl();
    const dead2 = await refusedUrl();
    const api = ordered([dead1, dead2], { call: { maxAttempts: 2 } });
    const error = await api('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchFailedError);
    expect(error).toBeInstanceOf(TypeError);
    expect(isDetourError(error)).toBe(true);
    const failure = error as FetchFailedError;
    expect(failure.code).toBe('DETOUR_CALL_FAILED');
    expect(failure.attempts.map((a) => [a.address, a.code])).toEqual([
      [dead1, 'ECONNREFUSED'],
      [dead2, 'ECONNREFUSED'],
    ]);
    expect(failure.message).toContain(dead1);
    expect(failure.message).toContain('ECONNREFUSED');
  });

  it('cuts an attempt to a server that never answers at the attempt timeout and fails over', async () => {
    const hung = await replica(() => undefined);
    const b = await replica();
    const api = ordered([hung.url, b.url], { call: { attemptTimeoutMs: 150 } });
    const response = await api('/x');
    expect(response.status).toBe(200);
    await socketClosed(hung.requests[0]!.socket); // the hung attempt's connection was closed
    expect(api.pool.get(hung.url)!.faults.toArray()[0]!.kind).toBe('timeout');
  });

  it('hedges a slow idempotent request to another endpoint and aborts the loser', async () => {
    const slow = await replica((_q, response) => {
      setTimeout(() => response.writeHead(200).end('slow'), 1000).unref();
    });
    const fast = await replica();
    const api = ordered([slow.url, fast.url], { call: { hedge: { delayMs: 50 } } });
    const response = await api('/x');
    expect(await response.text()).toBe('ok');
    await socketClosed(slow.requests[0]!.socket);
  });
});

describe('createFetch: bodies', () => {
  const bodies: [string, () => BodyInit, string][] = [
    ['string', () => 'text body', 'text body'],
    ['ArrayBuffer', () => new TextEncoder().encode('array buffer').buffer, 'array buffer'],
    ['Uint8Array', () => new TextEncoder().encode('typed array'), 'typed array'],
    ['DataView', () => new DataView(new TextEncoder().encode('data view').buffer), 'data view'],
    ['Blob', () => new Blob(['blob body']), 'blob body'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two' }), 'a=1&b=two'],
    [
      'ReadableStream within the bound',
      () =>
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('stream '));
            controller.enqueue(new TextEncoder().encode('body'));
            controller.close();
          },
        }),
      'stream body',
    ],
  ];
  for (const [name, make, expected] of bodies) {
    it(`replays a ${name} body on the next endpoint`, async () => {
      const a = await replica(unavailable());
      const b = await replica();
      const api = ordered([a.url, b.url]);
      const response = await api('/echo', { method: 'PUT', body: make() });
      expect(response.status).toBe(200);
      expect(a.bodies.map(String)).toEqual([expected]);
      expect(b.bodies.map(String)).toEqual([expected]);
    });
  }

  it('replays a FormData body (each attempt has its parts)', async () => {
    const a = await replica(unavailable());
    const b = await replica();
    const api = ordered([a.url, b.url]);
    const form = new FormData();
    form.set('field', 'value');
    form.set('file', new Blob(['file content']), 'f.txt');
    await api('/form', { method: 'PUT', body: form });
    for (const body of [a.bodies[0]!, b.bodies[0]!]) {
      expect(String(body)).toContain('value');
      expect(String(body)).toContain('file content');
    }
  });

  it('does not retry a stream beyond replayBufferBytes once sent: BodyNotReplayableError', async () => {
    const a = await replica(unavailable());
    const b = await replica();
    const api = ordered([a.url, b.url], { replayBufferBytes: 1024 });
    const big = new Uint8Array(64 * 1024).fill(120);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 4096) controller.enqueue(big.subarray(i, i + 4096));
        controller.close();
      },
    });
    const error = await api('/upload', {
      method: 'PUT',
      body: stream,
      duplex: 'half',
    } as RequestInit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyNotReplayableError);
    expect(a.bodies[0]!.length).toBe(big.length);
    expect(b.requests.length).toBe(0);
  });
});

describe('createFetch: cancellation', () => {
  it('rejects at once with the reason of a signal aborted before the request', async () => {
    const a = await replica();
    const api = ordered([a.url]);
    const controller = new AbortController();
    controller.abort(new Error('not wanted'));
    await expect(api('/x', { signal: controller.signal })).rejects.toThrow('not wanted');
    expect(a.requests.length).toBe(0);
  });

  it('aborts the attempt in flight, and no other starts', async () => {
    const hung = await replica(() => undefined);
    const b = await replica();
    const api = ordered([hung.url, b.url]);
    const controller = new AbortController();
    const pending = api('/x', { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await socketClosed(hung.requests[0]!.socket);
    expect(b.requests.length).toBe(0);
  });

  it('aborts while waiting for a Retry-After', async () => {
    const a = await replica(unavailable({ 'retry-after': '5' }));
    const api = ordered([a.url], { call: { maxAttempts: 2 } });
    const controller = new AbortController();
    const pending = api('/x', { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(a.requests.length).toBe(1);
  });

  it("aborts the body of the response it returned when the caller's signal aborts later", async () => {
    const a = await replica((_q, response) => {
      response.writeHead(200);
      response.write('first part');
    });
    const api = ordered([a.url]);
    const controller = new AbortController();
    const response = await api('/x', { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await socketClosed(a.requests[0]!.socket);
  });

  it('close() rejects the requests in flight, later requests reject, and no socket stays open', async () => {
    const hung = await replica(() => undefined);
    const api = ordered([hung.url]);
    const pending = api('/x').catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    api.close();
    expect(isDetourError(await pending)).toBe(true);
    await expect(api('/x')).rejects.toThrow(TypeError);
    await socketClosed(hung.requests[0]!.socket);
    api.close(); // idempotent
  });
});

describe('createFetch: redirects', () => {
  it('follows a redirect to another origin without Authorization or Cookie', async () => {
    const target = await replica();
    const a = await replica((_q, response) =>
      response.writeHead(302, { location: `${target.url}/landed` }).end(),
    );
    const api = ordered([a.url]);
    const response = await api('/start', {
      headers: { authorization: 'Bearer secret', cookie: 'session=1', 'x-keep': 'yes' },
    });
    expect(response.status).toBe(200);
    expect(target.headers[0]!.authorization).toBeUndefined();
    expect(target.headers[0]!.cookie).toBeUndefined();
    expect(target.headers[0]!['x-keep']).toBe('yes');
    const manual = await api('/start', { redirect: 'manual' });
    expect(manual.status).toBe(302);
    await expect(api('/start', { redirect: 'error' })).rejects.toThrow(TypeError);
  });
});

describe('createFetch: options', () => {
  it.each([
    ['service', { service: 'greeter' }, '"greeter"'],
    ['fetch', { fetch: 'fetch' }, '"fetch"'],
    ['replayBufferBytes', { replayBufferBytes: -1 }, '-1'],
    ['idempotentMethods[0]', { idempotentMethods: ['GET X'] }, '"GET X"'],
    ['idempotencyKeyHeader', { idempotencyKeyHeader: 'bad header' }, '"bad header"'],
    ['healthCheck.method', { healthCheck: { method: 'POST' } }, '"POST"'],
    ['healthCheck.intervalMs', { healthCheck: { intervalMs: 0 } }, '0'],
    ['retries', { retries: 3 }, '3'],
  ])('throws DetourConfigError for %s', (option, options, shown) => {
    const error = configError(() =>
      createFetch({ endpoints: ['http://127.0.0.1:1'], ...(options as object) }),
    );
    expect(error.option).toBe(option);
    expect(error.message).toContain(shown);
  });
});

describe('createFetch: per-request detour options', () => {
  it('applies each per-request option over the pool defaults', async () => {
    const a = await replica(unavailable());
    const b = await replica(unavailable());
    const api = ordered([a.url, b.url], { call: { maxAttempts: 3 } });
    const sent = (): number => a.requests.length + b.requests.length;
    expect((await api('/x', { detour: { maxAttempts: 1 } })).status).toBe(503);
    expect(sent()).toBe(1);
    expect((await api('/x', { detour: { maxAttempts: 2 } })).status).toBe(503);
    expect(sent()).toBe(3);
    // The pool fails over to an untried endpoint at once; this request waits the constant 100 ms.
    const started = performance.now();
    const waited = await api('/x', {
      detour: { maxAttempts: 2, immediateFailover: false, backoff: 'constant' },
    });
    expect(waited.status).toBe(503);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);

    // Retry-After: 1 is longer than this request's maxPushbackMs: no retry.
    const pushing = await replica(unavailable({ 'retry-after': '1' }));
    const pushApi = ordered([pushing.url], { call: { maxAttempts: 2 } });
    expect((await pushApi('/x', { detour: { maxPushbackMs: 100 } })).status).toBe(503);
    expect(pushing.requests.length).toBe(1);

    const slow = await replica((_q, res) => setTimeout(() => res.writeHead(200).end('late'), 300));
    const fast = await replica();
    const slowApi = ordered([slow.url]);
    await expect(
      slowApi('/x', { detour: { attemptTimeoutMs: 50, maxAttempts: 1 } }),
    ).rejects.toThrow(FetchFailedError);
    await expect(slowApi('/x', { detour: { deadlineMs: 50 } })).rejects.toThrow(FetchFailedError);
    // A backup attempt goes to the other endpoint and wins.
    const hedged = await ordered([slow.url, fast.url])('/x', {
      detour: { hedge: { delayMs: 20 } },
    });
    expect(await hedged.text()).toBe('ok');

    // Consistent hashing: one key always reaches one endpoint, several keys more than one.
    const ring = [await replica(), await replica(), await replica()];
    const hashed = createFetch({
      endpoints: ring.map((r) => r.url),
      selector: 'consistent-hash',
      detectors: [],
      budget: false,
      metrics: false,
    });
    fetches.push(hashed);
    const reached = (): number => ring.filter((r) => r.requests.length > 0).length;
    for (let i = 0; i < 12; i++) await (await hashed('/x', { detour: { key: 'user-7' } })).text();
    expect(reached()).toBe(1);
    for (let i = 0; i < 12; i++)
      await (await hashed('/x', { detour: { key: `user-${i}` } })).text();
    expect(reached()).toBeGreaterThan(1);
  });

  it.each([
    ['detour.deadlinMs', { deadlinMs: 5 }, 'not a known option'],
    ['detour.classifier', { classifier: () => ({ type: 'success' }) }, 'not a known option'],
    ['maxAttempts', { maxAttempts: 0 }, '0'],
    ['hedge.maxHedges', { hedge: { maxHedges: 0 } }, '0'],
  ])('rejects a bad %s with DetourConfigError and sends nothing', async (option, detour, shown) => {
    const a = await replica();
    const api = ordered([a.url]);
    const error: unknown = await api('/x', { detour: detour as object }).catch((e: unknown) => e);
    expect(isDetourError(error) && error.code).toBe('DETOUR_CONFIG');
    expect((error as { option: string }).option).toBe(option);
    expect((error as Error).message).toContain(shown);
    expect(a.requests.length).toBe(0);
  });
});

describe('createFetch: what is left behind', () => {
  it('surfaces a reset in the middle of a returned body to the reader (the call had ended)', async () => {
    const a = await replica((_q, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('half of it', () => response.destroy());
    });
    const api = ordered([a.url]);
    const response = await api('/x');
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow(TypeError);
  });

  it('leaves no socket or server open, and probes no more, once closed', async () => {
    const before = process
      .getActiveResourcesInfo()
      .filter((name) => name !== 'Timeout' && name !== 'Immediate')
      .sort();
    const a = await replica();
    const b = await replica(unavailable());
    const api = createFetch({
      endpoints: [a.url, b.url],
      healthCheck: { path: '/healthz', intervalMs: 100 },
      metrics: false,
    });
    for (let i = 0; i < 10; i++) await (await api('/x')).text();
    api.close();
    // A probe already on the wire at close() may still arrive; none may start after it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const probes = a.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300)); // three probe intervals
    expect(a.requests.length).toBe(probes);
    await Promise.all([a.close(), b.close()]);
    servers = [];
    // Nothing more than before (a socket of an earlier test may still have been closing then),
    // once the client's sockets, closed by the servers, have finished closing.
    const count = (list: string[], name: string) => list.filter((n) => n === name).length;
    const extra = (): string[] => {
      const after = process
        .getActiveResourcesInfo()
        .filter((name) => name !== 'Timeout' && name !== 'Immediate');
      return [...new Set(after)].filter((name) => count(after, name) > count(before, name));
    };
    for (let waited = 0; extra().length > 0 && waited < 2_000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(extra()).toEqual([]);
  });
});
