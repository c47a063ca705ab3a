import type { AttemptResult, Classification } from '@detour/core';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClassifierOptions } from './classifier.js';
import { defaultRetryStatuses, httpClassifier, isNetworkError } from './classifier.js';
import { configError } from './test-support/config-error.js';
import type { TestHttpServer } from './test-support/http-server.js';
import { refusedUrl, startHttpServer } from './test-support/http-server.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function server(handler: Parameters<typeof startHttpServer>[0]): Promise<TestHttpServer> {
  const started = await startHttpServer(handler);
  cleanup.push(() => started.close());
  return started;
}

/** One real fetch, as the attempt result the classifier gets. */
async function attempt(url: string, init?: RequestInit): Promise<AttemptResult<Response>> {
  try {
    return { ok: true, value: await fetch(url, init) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The error a real fetch rejects with. */
async function rejection(url: string, init?: RequestInit): Promise<unknown> {
  const result = await attempt(url, init);
  if (result.ok) throw new Error(`expected a rejection, got ${result.value.status}`);
  return result.error;
}

function failure(c: Classification): Extract<Classification, { type: 'failure' }> {
  if (c.type !== 'failure') throw new Error(`expected a failure, got ${c.type}`);
  return c;
}

// 08:49:00 on the day of RFC 9110's example date, `Sun, 06 Nov 1994 08:49:37 GMT`.
const fixedNow = Date.UTC(1994, 10, 6, 8, 49, 0);
const classify = httpClassifier({ now: () => fixedNow });

// Answers `/<status>` with that status, and `?retry-after=…` with that Retry-After.
let statuses: TestHttpServer;
beforeAll(async () => {
  statuses = await startHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    const status = Number(url.pathname.slice(1));
    const retryAfter = url.searchParams.get('retry-after');
    response.writeHead(status, retryAfter === null ? {} : { 'retry-after': retryAfter });
    response.end(status === 204 || status === 304 ? undefined : 'body');
  });
});
afterAll(async () => {
  await statuses.close();
  expect(statuses.open).toBe(0);
});

async function respond(
  status: number,
  retryAfter?: string,
  options?: HttpClassifierOptions,
): Promise<Classification> {
  const query =
    retryAfter === undefined ? '' : `?${new URLSearchParams({ 'retry-after': retryAfter })}`;
  const result = await attempt(`${statuses.url}/${status}${query}`, { redirect: 'manual' });
  if (!result.ok) throw result.error as Error;
  await result.value.body?.cancel();
  return (options ? httpClassifier(options) : classify)(result);
}

describe('httpClassifier: responses from a real server', () => {
  it('retries 408, 429, 502, 503 and 504 by default', () => {
    expect(defaultRetryStatuses).toEqual([408, 429, 502, 503, 504]);
    expect(Object.isFrozen(defaultRetryStatuses)).toBe(true);
  });

  it.each([
    [408, undefined, 'timeout', undefined, '408 Request Timeout'],
    [429, undefined, 'rejected', undefined, '429 Too Many Requests'],
    [429, '2', 'rejected', 2000, '429 Too Many Requests'],
    [502, undefined, 'error', undefined, '502 Bad Gateway'],
    [503, undefined, 'error', undefined, '503 Service Unavailable'],
    [503, '120', 'rejected', 120_000, '503 Service Unavailable'],
    [503, '0', 'rejected', 0, '503 Service Unavailable'],
    [503, 'Sun, 06 Nov 1994 08:49:37 GMT', 'rejected', 37_000, '503 Service Unavailable'],
    [503, 'Sunday, 06-Nov-94 08:49:37 GMT', 'rejected', 37_000, '503 Service Unavailable'],
    [503, 'Sun Nov  6 08:49:37 1994', 'rejected', 37_000, '503 Service Unavailable'],
    [503, 'Sun, 06 Nov 1994 08:00:00 GMT', 'rejected', 0, '503 Service Unavailable'],
    [503, 'soon', 'error', undefined, '503 Service Unavailable'],
    [503, '-5', 'error', undefined, '503 Service Unavailable'],
    [504, undefined, 'timeout', undefined, '504 Gateway Timeout'],
    [504, '5', 'timeout', 5000, '504 Gateway Timeout'],
  ])(
    '%d with Retry-After %j: retryable, kind %s, pushback %j',
    async (status, retryAfter, kind, pushbackMs, message) => {
      expect(await respond(status, retryAfter)).toEqual({
        type: 'failure',
        retryable: true,
        processed: true,
        ...(pushbackMs === undefined ? {} : { pushbackMs }),
        kind,
        code: status,
        message,
      });
    },
  );

  it('passes a pushback longer than any cap through: core refuses it with call.maxPushbackMs', async () => {
    expect(failure(await respond(503, '86400')).pushbackMs).toBe(86_400_000);
  });

  it.each([500, 501, 505, 507, 599])(
    '%d: a failure of the endpoint, not retried',
    async (status) => {
      const c = failure(await respond(status, '5'));
      expect(c).toEqual({
        type: 'failure',
        retryable: false,
        processed: true,
        code: status,
        message: expect.stringMatching(new RegExp(`^${status}( |$)`)) as string,
        endpointFault: true,
      });
    },
  );

  it.each([200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 409, 410, 422, 425, 451])(
    '%d: success',
    async (status) => {
      expect(await respond(status, '5')).toEqual({ type: 'success' });
    },
  );

  it('retries the given statuses instead of the default ones', async () => {
    const options = { retryStatuses: [500, 409], now: () => fixedNow };
    expect(failure(await respond(500, undefined, options))).toMatchObject({
      retryable: true,
      kind: 'error',
    });
    expect(failure(await respond(409, '3', options))).toMatchObject({
      retryable: true,
      pushbackMs: 3000,
    });
    // A 5xx left out is still the endpoint's failure; a 4xx left out is a success.
    expect(failure(await respond(503, '3', options))).toMatchObject({
      retryable: false,
      endpointFault: true,
    });
    expect(await respond(429, '3', options)).toEqual({ type: 'success' });
    expect(failure(await respond(502, undefined, { retryStatuses: [] })).retryable).toBe(false);
  });

  it('reads the clock only for a Retry-After of a retry status', async () => {
    let calls = 0;
    const options = {
      now: () => {
        calls++;
        return fixedNow;
      },
    };
    await respond(200, '5', options);
    await respond(503, undefined, options);
    await respond(500, 'Sun, 06 Nov 1994 08:49:37 GMT', options);
    expect(calls).toBe(0);
    expect(failure(await respond(503, 'Sun, 06 Nov 1994 08:49:37 GMT', options)).pushbackMs).toBe(
      37_000,
    );
    expect(calls).toBe(1);
  });

  it('uses the standard reason phrase when the response has none', () => {
    const c = failure(classify({ ok: true, value: new Response(null, { status: 503 }) }));
    expect(c.message).toBe('503 Service Unavailable');
    expect(
      failure(classify({ ok: true, value: new Response(null, { status: 599 }) })).message,
    ).toBe('599');
    const custom = new Response(null, { status: 503, statusText: 'Back at noon' });
    expect(failure(classify({ ok: true, value: custom })).message).toBe('503 Back at noon');
  });

  it('takes a Response.error() for a network error', () => {
    expect(classify({ ok: true, value: Response.error() })).toEqual({
      type: 'failure',
      retryable: true,
      processed: true,
      code: 0,
      message: 'Network error (a Response of type "error")',
    });
  });
});

describe('httpClassifier: what Node 20 fetch rejects with, from real faults', () => {
  it('connection refused: not sent', async () => {
    const error = await rejection(`${await refusedUrl()}/x`);
    // TypeError('fetch failed') caused by Error('connect ECONNREFUSED 127.0.0.1:<port>').
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: true,
      processed: false,
      kind: 'error',
      code: 'ECONNREFUSED',
      message: expect.stringMatching(
        /^fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
      ) as string,
    });
    expect(isNetworkError(error)).toEqual({ code: 'ECONNREFUSED', sent: false });
  });

  it('the server closes the connection before answering: may have been processed', async () => {
    const { url } = await server((request) => request.socket.destroy());
    const error = await rejection(`${url}/x`);
    // TypeError('fetch failed') caused by undici's SocketError('other side closed').
    expect((error as Error).cause).toMatchObject({
      name: 'SocketError',
      code: 'UND_ERR_SOCKET',
      message: 'other side closed',
    });
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: true,
      processed: true,
      kind: 'error',
      code: 'UND_ERR_SOCKET',
      message: 'fetch failed: other side closed',
    });
  });

  it('the server resets the connection before answering: may have been processed', async () => {
    const { url } = await server((request) => request.socket.resetAndDestroy());
    const error = await rejection(`${url}/x`);
    // TypeError('fetch failed') caused by Error('read ECONNRESET').
    expect((error as Error).cause).toMatchObject({ code: 'ECONNRESET', syscall: 'read' });
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: true,
      processed: true,
      kind: 'error',
      code: 'ECONNRESET',
      message: 'fetch failed: read ECONNRESET',
    });
  });

  it('the server answers with something that is not HTTP: may have been processed', async () => {
    const { url } = await server((request) => request.socket.end('garbage\r\n\r\n'));
    const error = await rejection(`${url}/x`);
    expect((error as Error).cause).toMatchObject({
      name: 'HTTPParserError',
      code: 'HPE_INVALID_CONSTANT',
    });
    expect(failure(classify({ ok: false, error }))).toMatchObject({
      retryable: true,
      processed: true,
      code: 'HPE_INVALID_CONSTANT',
    });
  });

  it('a name that does not resolve: not sent', async () => {
    // `.invalid` never resolves (RFC 6761 §6.4). A resolver answers NXDOMAIN (ENOTFOUND); a
    // host without a reachable resolver fails with EAI_AGAIN. Both mean the request never left.
    const error = await rejection('http://nonexistent.invalid/x');
    const cause = (error as Error).cause as { code: string; syscall: string };
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(cause.code);
    expect(cause.syscall).toBe('getaddrinfo');
    expect(failure(classify({ ok: false, error }))).toMatchObject({
      retryable: true,
      processed: false,
      code: cause.code,
      message: `fetch failed: getaddrinfo ${cause.code} nonexistent.invalid`,
    });
  });

  /**
   * A server that sends the headers and the first part of a body, then waits for the test to
   * cut the connection with `cut(socket)` once the client has read that part.
   */
  async function partialBody(
    headers: Record<string, string>,
  ): Promise<{ url: string; cut: (how: (socket: Socket) => void) => void }> {
    let sockets: Socket[] = [];
    const { url } = await server((request, response) => {
      sockets.push(request.socket);
      response.writeHead(200, headers);
      response.write('partial');
    });
    return {
      url,
      cut: (how) => {
        for (const socket of sockets) how(socket);
        sockets = [];
      },
    };
  }

  /** Reads `response`'s first chunk, lets `cut` break the connection, then reads on. */
  async function readThroughCut(response: Response, cut: () => void): Promise<unknown> {
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('partial');
    cut();
    try {
      while (!(await reader.read()).done);
    } catch (error) {
      return error;
    }
    throw new Error('expected the body to fail');
  }

  it('a body cut off mid-way: the Response is a success, reading it rejects', async () => {
    const { url, cut } = await partialBody({ 'content-length': '100' });
    const result = await attempt(`${url}/x`);
    // fetch resolves once the headers are in: that is all the classifier sees.
    expect(classify(result)).toEqual({ type: 'success' });
    if (!result.ok) throw result.error as Error;
    // The caller sees the failure when it reads the body: TypeError('terminated') caused by
    // SocketError('other side closed'). Given to the classifier, it is a network error.
    const error = await readThroughCut(result.value, () => cut((socket) => socket.destroy()));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('terminated');
    expect((error as Error).cause).toMatchObject({ name: 'SocketError', code: 'UND_ERR_SOCKET' });
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: true,
      processed: true,
      kind: 'error',
      code: 'UND_ERR_SOCKET',
      message: 'terminated: other side closed',
    });
  });

  it('a body cut off by a reset: reading it rejects with ECONNRESET', async () => {
    const { url, cut } = await partialBody({ 'transfer-encoding': 'chunked' });
    const result = await attempt(`${url}/x`);
    expect(classify(result)).toEqual({ type: 'success' });
    if (!result.ok) throw result.error as Error;
    const error = await readThroughCut(result.value, () =>
      cut((socket) => socket.resetAndDestroy()),
    );
    expect((error as Error).message).toBe('terminated');
    expect((error as Error).cause).toMatchObject({ code: 'ECONNRESET', syscall: 'read' });
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: true,
      processed: true,
      kind: 'error',
      code: 'ECONNRESET',
      message: 'terminated: read ECONNRESET',
    });
  });

  it('text() of a cut body rejects the same way', async () => {
    const { url, cut } = await partialBody({ 'content-length': '100' });
    const response = await fetch(`${url}/x`);
    const text = response.text();
    cut((socket) => socket.destroy());
    const error: unknown = await text.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isNetworkError(error)).toEqual({ code: 'UND_ERR_SOCKET', sent: true });
  });

  it('the signal aborted (AbortError, TimeoutError): ignored', async () => {
    const { url } = await server(() => {}); // never answers
    const controller = new AbortController();
    const pending = rejection(`${url}/x`, { signal: controller.signal });
    controller.abort();
    const aborted = await pending;
    expect(aborted).toBeInstanceOf(DOMException);
    expect((aborted as DOMException).name).toBe('AbortError');
    expect(classify({ ok: false, error: aborted })).toEqual({ type: 'ignore' });

    const timedOut = await rejection(`${url}/x`, { signal: AbortSignal.timeout(10) });
    expect((timedOut as DOMException).name).toBe('TimeoutError');
    expect(classify({ ok: false, error: timedOut })).toEqual({ type: 'ignore' });
  });

  it('a signal aborted with a reason of its own rejects with that reason: the caller’s', async () => {
    const { url } = await server(() => {});
    const controller = new AbortController();
    const pending = rejection(`${url}/x`, { signal: controller.signal });
    controller.abort(new Error('user left'));
    expect(classify({ ok: false, error: await pending })).toEqual({
      type: 'failure',
      retryable: false,
      code: undefined,
      message: 'user left',
      endpointFault: false,
    });
  });

  it.each([
    ['an invalid header value', 'http://127.0.0.1:9/x', { headers: { 'x-a': 'a\nb' } }, undefined],
    ['an unknown scheme', 'foo://127.0.0.1/x', undefined, undefined],
    ['a port fetch blocks', 'http://127.0.0.1:1/x', undefined, undefined],
    ['an invalid URL', 'http://', undefined, 'ERR_INVALID_URL'],
  ])('%s: the caller’s failure, not retried', async (_what, url, init, code) => {
    const error = await rejection(url, init);
    expect(isNetworkError(error)).toBeUndefined();
    expect(classify({ ok: false, error })).toEqual({
      type: 'failure',
      retryable: false,
      code,
      message: expect.any(String) as string,
      endpointFault: false,
    });
  });

  it('retryNetworkErrors: false still counts network errors against the endpoint', async () => {
    const error = await rejection(`${await refusedUrl()}/x`);
    const c = failure(httpClassifier({ retryNetworkErrors: false })({ ok: false, error }));
    expect(c).toMatchObject({ retryable: false, processed: false, code: 'ECONNREFUSED' });
    expect(c.endpointFault).toBeUndefined(); // default: true
  });
});

/** `TypeError('fetch failed')` caused by `cause`, as undici's fetch rejects. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function systemError(code: string, syscall: string, message = `${syscall} ${code}`): Error {
  return Object.assign(new Error(message), { code, syscall, errno: -1 });
}

function undiciError(name: string, code: string, message: string): Error {
  return Object.assign(new Error(message), { name, code });
}

describe('httpClassifier: network error shapes that need a remote network or a dispatcher', () => {
  // Each shape as Node 20.20's fetch produced it (seen with a custom undici Agent, or a remote
  // address) but which a test on 127.0.0.1 with the global fetch cannot cause.
  it.each([
    [
      'connect timeout',
      fetchFailed(
        undiciError(
          'ConnectTimeoutError',
          'UND_ERR_CONNECT_TIMEOUT',
          'Connect Timeout Error (attempted address: 2001:db8::1:80, timeout: 50ms)',
        ),
      ),
      { code: 'UND_ERR_CONNECT_TIMEOUT', processed: false, kind: 'timeout' },
    ],
    [
      'headers timeout',
      fetchFailed(
        undiciError('HeadersTimeoutError', 'UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error'),
      ),
      { code: 'UND_ERR_HEADERS_TIMEOUT', processed: true, kind: 'timeout' },
    ],
    [
      'body timeout, when the body is read',
      new TypeError('terminated', {
        cause: undiciError('BodyTimeoutError', 'UND_ERR_BODY_TIMEOUT', 'Body Timeout Error'),
      }),
      { code: 'UND_ERR_BODY_TIMEOUT', processed: true, kind: 'timeout' },
    ],
    [
      'no route to the host',
      fetchFailed(systemError('EHOSTUNREACH', 'connect', 'connect EHOSTUNREACH 2001:db8::1:80')),
      { code: 'EHOSTUNREACH', processed: false, kind: 'error' },
    ],
    [
      'no route to the network',
      fetchFailed(systemError('ENETUNREACH', 'connect')),
      { code: 'ENETUNREACH', processed: false, kind: 'error' },
    ],
    [
      'no such local address',
      fetchFailed(systemError('EADDRNOTAVAIL', 'connect')),
      { code: 'EADDRNOTAVAIL', processed: false, kind: 'error' },
    ],
    [
      'DNS failure',
      fetchFailed(systemError('EAI_AGAIN', 'getaddrinfo', 'getaddrinfo EAI_AGAIN api.example')),
      { code: 'EAI_AGAIN', processed: false, kind: 'error' },
    ],
    [
      'a host that went unreachable after the request was written',
      fetchFailed(systemError('EHOSTUNREACH', 'read')),
      { code: 'EHOSTUNREACH', processed: true, kind: 'error' },
    ],
    [
      'connect ETIMEDOUT (happy eyeballs gave up)',
      fetchFailed(systemError('ETIMEDOUT', 'connect')),
      { code: 'ETIMEDOUT', processed: false, kind: 'timeout' },
    ],
    [
      'read ETIMEDOUT (TCP retransmissions gave up)',
      fetchFailed(systemError('ETIMEDOUT', 'read')),
      { code: 'ETIMEDOUT', processed: true, kind: 'timeout' },
    ],
    [
      'a broken pipe',
      fetchFailed(systemError('EPIPE', 'write')),
      { code: 'EPIPE', processed: true, kind: 'error' },
    ],
    [
      'a self-signed certificate (an https server, seen with fetch)',
      fetchFailed(
        Object.assign(new Error('self-signed certificate'), {
          code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        }),
      ),
      { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', processed: false, kind: 'error' },
    ],
    [
      'a happy-eyeballs AggregateError (Node sets the first error’s code on it)',
      fetchFailed(
        Object.assign(
          new AggregateError(
            [systemError('ECONNREFUSED', 'connect'), systemError('ECONNREFUSED', 'connect')],
            '',
          ),
          { code: 'ECONNREFUSED' },
        ),
      ),
      { code: 'ECONNREFUSED', processed: false, kind: 'error' },
    ],
    [
      'an AggregateError whose code is only on its errors',
      fetchFailed(new AggregateError([new Error('other'), systemError('ENETUNREACH', 'connect')])),
      { code: 'ENETUNREACH', processed: false, kind: 'error' },
    ],
    [
      'a SocketError without its code (another undici copy)',
      fetchFailed(Object.assign(new Error('other side closed'), { name: 'SocketError' })),
      { code: 'UND_ERR_SOCKET', processed: true, kind: 'error' },
    ],
    [
      'a bare "terminated"',
      new TypeError('terminated'),
      { code: 'terminated', processed: true, kind: 'error' },
    ],
  ])('%s', (_what, error, expected) => {
    expect(failure(classify({ ok: false, error }))).toMatchObject({
      type: 'failure',
      retryable: true,
      ...expected,
    });
    expect(isNetworkError(error)).toEqual({ code: expected.code, sent: expected.processed });
  });

  it('follows a cause chain of its own making, and stops at a cycle', () => {
    const inner = systemError('ECONNRESET', 'read');
    const wrapped = new Error('attempt failed', { cause: fetchFailed(inner) });
    expect(isNetworkError(wrapped)).toEqual({ code: 'ECONNRESET', sent: true });
    expect(failure(classify({ ok: false, error: wrapped })).message).toBe(
      'attempt failed: fetch failed: read ECONNRESET',
    );
    const cyclic = new Error('a');
    (cyclic as { cause?: unknown }).cause = new Error('b', { cause: cyclic });
    expect(isNetworkError(cyclic)).toBeUndefined();
    expect(failure(classify({ ok: false, error: cyclic })).message).toBe('a: b');
  });

  it('ignores any error named AbortError or TimeoutError', () => {
    const named = (name: string): Error => Object.assign(new Error('x'), { name });
    expect(classify({ ok: false, error: named('AbortError') })).toEqual({ type: 'ignore' });
    expect(classify({ ok: false, error: named('TimeoutError') })).toEqual({ type: 'ignore' });
    expect(classify({ ok: false, error: new DOMException('x', 'AbortError') })).toEqual({
      type: 'ignore',
    });
  });

  it('takes anything else for the caller’s failure', () => {
    for (const error of ['boom', 42, null, undefined, {}, new RangeError('bug')]) {
      expect(failure(classify({ ok: false, error }))).toMatchObject({
        retryable: false,
        endpointFault: false,
      });
    }
    expect(failure(classify({ ok: false, error: 'boom' })).message).toBe('boom');
    // A DOMException's numeric code is a legacy constant: its name says more.
    expect(
      failure(classify({ ok: false, error: new DOMException('no', 'NotSupportedError') })).code,
    ).toBe('NotSupportedError');
    expect(
      failure(classify({ ok: false, error: Object.assign(new Error('x'), { code: 'E_MINE' }) }))
        .code,
    ).toBe('E_MINE');
  });
});

describe('httpClassifier options', () => {
  it.each([
    ['not an object', 'yes', 'classifier', 'yes'],
    ['null', null, 'classifier', null],
    ['an array', [], 'classifier', []],
    ['an unknown option', { retryStatus: [503] }, 'classifier.retryStatus', [503]],
    ['retryStatuses not an array', { retryStatuses: 503 }, 'classifier.retryStatuses', 503],
    ['a status above 599', { retryStatuses: [503, 600] }, 'classifier.retryStatuses[1]', 600],
    ['a status below 100', { retryStatuses: [99] }, 'classifier.retryStatuses[0]', 99],
    ['a fractional status', { retryStatuses: [503.5] }, 'classifier.retryStatuses[0]', 503.5],
    ['a status as a string', { retryStatuses: ['503'] }, 'classifier.retryStatuses[0]', '503'],
    [
      'retryNetworkErrors not a boolean',
      { retryNetworkErrors: 1 },
      'classifier.retryNetworkErrors',
      1,
    ],
    ['now not a function', { now: 5 }, 'classifier.now', 5],
  ])('rejects %s', (_what, options, option, value) => {
    const error = configError(() => httpClassifier(options as HttpClassifierOptions));
    expect(error.option).toBe(option);
    expect(error.value).toEqual(value);
    expect(error.message).toContain(`Invalid option ${option}:`);
  });

  it('accepts no options, an empty object, and every status from 100 to 599', () => {
    expect(() => httpClassifier()).not.toThrow();
    expect(() => httpClassifier({})).not.toThrow();
    expect(() =>
      httpClassifier({ retryStatuses: [100, 599], retryNetworkErrors: false, now: Date.now }),
    ).not.toThrow();
  });
});
