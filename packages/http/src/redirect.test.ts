import { DetourConfigError } from '@detour/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestBody, RequestBodyInit } from './body.js';
import { BodyNotReplayableError, prepareBody } from './body.js';
import type { RedirectOptions } from './redirect.js';
import { fetchFollowingRedirects, RedirectError } from './redirect.js';
import type { BodyServer, Reply, RequestHead } from './test-support/body-server.js';
import { openSockets, startBodyServer, waitForSockets } from './test-support/body-server.js';

/**
 * Routes of both servers: `/redirect/<status>?to=<url>` answers `status` with Location `to`;
 * `/chain/<n>` redirects to `/chain/<n-1>` until `/chain/0`; `/hang-redirect` sends part of a
 * 302's body and never ends it; anything else answers 200.
 */
function route(request: RequestHead): Reply {
  const url = new URL(request.path, 'http://x');
  const [, kind, arg] = url.pathname.split('/');
  if (kind === 'redirect') {
    const to = url.searchParams.get('to');
    return { status: Number(arg), headers: to === null ? {} : { location: to } };
  }
  if (kind === 'chain' && Number(arg) > 0) {
    return { status: 302, headers: { location: `/chain/${Number(arg) - 1}` } };
  }
  if (kind === 'hang-redirect') return { status: 302, headers: { location: '/done' }, hang: true };
  return { body: `final ${url.pathname}` };
}

let a: BodyServer;
let b: BodyServer;
let baseline: string[];

beforeAll(async () => {
  baseline = openSockets();
  [a, b] = await Promise.all([startBodyServer(route), startBodyServer(route)]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await waitForSockets(baseline);
});

/** A redirect from server `from` to `to` (absolute or relative). */
function redirect(from: BodyServer, status: number, to: string | URL): URL {
  const url = new URL(`/redirect/${status}`, from.url);
  url.searchParams.set('to', String(to));
  return url;
}

interface FetchCall {
  readonly url: string;
  readonly init: RequestInit & { duplex?: string };
}

/** The real global fetch, recording how it was called. */
function recordingFetch(): { fetch: typeof fetch; calls: FetchCall[] } {
  const calls: FetchCall[] = [];
  const recording = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: input instanceof Request ? input.url : input.toString(), init: { ...init } });
    return fetch(input, init);
  };
  return { fetch: recording, calls };
}

async function follow(
  url: URL,
  init: RequestInit = {},
  body?: RequestBody,
  options: Partial<RedirectOptions> = {},
): Promise<Response> {
  return fetchFollowingRedirects(fetch, url, init, body ?? (await prepareBody(null, 0)), {
    mode: 'follow',
    ...options,
  });
}

/** The requests server `server` received during `run`. */
async function seenBy(server: BodyServer, run: () => Promise<unknown>) {
  const before = server.requests.length;
  await run();
  return server.requests.slice(before);
}

describe('following', () => {
  const post = (text: string): RequestInit => ({
    method: 'POST',
    headers: {
      'content-type': 'text/x-test',
      'content-language': 'en',
      'content-encoding': 'identity',
      'content-location': '/x',
      'x-kept': 'yes',
    },
    body: text,
  });

  it.each([
    [301, 'POST', 'GET', false],
    [302, 'POST', 'GET', false],
    [303, 'POST', 'GET', false],
    [307, 'POST', 'POST', true],
    [308, 'POST', 'POST', true],
    [301, 'PUT', 'PUT', true],
    [302, 'PATCH', 'PATCH', true],
    [303, 'PUT', 'GET', false],
    [303, 'post', 'GET', false],
    [301, 'post', 'GET', false],
  ])('%i after %s: %s, body kept %s', async (status, method, expected, kept) => {
    const init = { ...post('the body'), method };
    const body = await prepareBody('the body', 0);
    const seen = await seenBy(b, async () => {
      const response = await follow(redirect(a, status, new URL('/target', b.url)), init, body);
      expect(await response.text()).toBe('final /target');
    });
    expect(seen).toHaveLength(1);
    const [target] = seen;
    expect(target!.method).toBe(expected);
    expect(target!.headers['x-kept']).toBe('yes');
    if (kept) {
      expect(target!.body.toString()).toBe('the body');
      expect(target!.headers['content-type']).toBe('text/x-test');
      expect(target!.headers['content-language']).toBe('en');
    } else {
      expect(target!.body.length).toBe(0);
      for (const name of [
        'content-type',
        'content-length',
        'content-language',
        'content-encoding',
        'content-location',
      ]) {
        expect(target!.headers[name]).toBeUndefined();
      }
    }
  });

  it('keeps HEAD and GET on a 303', async () => {
    for (const method of ['HEAD', 'GET']) {
      const seen = await seenBy(b, () =>
        follow(redirect(a, 303, new URL('/t', b.url)), { method }),
      );
      expect(seen.map((request) => request.method)).toEqual([method]);
    }
  });

  it('resends a stream held within the bound on a 307, and every kind of held body', async () => {
    const held: [string, () => RequestBodyInit][] = [
      ['stream', () => new Blob(['streamed body']).stream()],
      ['blob', () => new Blob(['streamed body'])],
      ['bytes', () => new TextEncoder().encode('streamed body')],
    ];
    for (const [, make] of held) {
      const body = await prepareBody(make(), 1024);
      const seen = await seenBy(b, () =>
        follow(redirect(a, 307, new URL('/t', b.url)), { method: 'POST' }, body),
      );
      expect(seen[0]!.body.toString()).toBe('streamed body');
    }
  });

  it('rejects a 307 for a stream already read past its bound', async () => {
    const chunks = Array.from({ length: 32 }, (_, i) => new Uint8Array(1024).fill(i));
    let index = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const chunk = chunks[index++];
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const body = await prepareBody(stream, 4096);
    const { fetch: recording, calls } = recordingFetch();
    const seen = await seenBy(a, async () => {
      const error = await fetchFollowingRedirects(
        recording,
        redirect(a, 307, new URL('/t', b.url)),
        { method: 'POST' },
        body,
        { mode: 'follow' },
      ).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(BodyNotReplayableError);
    });
    expect(seen[0]!.body.length).toBe(32 * 1024); // the server read it all before redirecting
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init.duplex).toBe('half');
  });

  it('resolves a relative Location against the current URL', async () => {
    const start = new URL('/redirect/302?to=' + encodeURIComponent('../next/page?q=1'), a.url);
    const seen = await seenBy(a, async () => {
      const response = await follow(start);
      expect(response.url).toBe(new URL('/next/page?q=1', a.url).href);
    });
    expect(seen.map((request) => request.path)).toEqual([
      start.pathname + start.search,
      '/next/page?q=1',
    ]);
  });

  it('says the final response was redirected, and keeps it on clone()', async () => {
    const response = await follow(redirect(a, 301, new URL('/final', b.url)));
    expect(response.url).toBe(new URL('/final', b.url).href);
    expect(response.redirected).toBe(true);
    expect(response.status).toBe(200);
    const clone = response.clone();
    expect(clone.redirected).toBe(true);
    expect(clone.url).toBe(response.url);
    expect(await clone.text()).toBe('final /final');
    expect(await response.text()).toBe('final /final');

    const direct = await follow(new URL('/direct', a.url));
    expect(direct.redirected).toBe(false);
    await direct.text();
  });

  it('always calls the underlying fetch with redirect "manual"', async () => {
    const { fetch: recording, calls } = recordingFetch();
    const response = await fetchFollowingRedirects(
      recording,
      new URL('/chain/2', a.url),
      { redirect: 'follow' },
      await prepareBody(null, 0),
      { mode: 'follow' },
    );
    await response.text();
    expect(calls.map((call) => [new URL(call.url).pathname, call.init.redirect])).toEqual([
      ['/chain/2', 'manual'],
      ['/chain/1', 'manual'],
      ['/chain/0', 'manual'],
    ]);
  });

  it('follows 20 redirects by default, and rejects the 21st', async () => {
    const ok = await follow(new URL('/chain/20', a.url));
    expect([ok.status, await ok.text()]).toEqual([200, 'final /chain/0']);
    const error = await follow(new URL('/chain/21', a.url)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(RedirectError);
    expect((error as Error).message).toMatch(/Too many redirects: more than 20/);
  });

  it('follows maxRedirects redirects', async () => {
    const ok = await follow(new URL('/chain/3', a.url), {}, undefined, { maxRedirects: 3 });
    expect(ok.status).toBe(200);
    await ok.text();
    await expect(
      follow(new URL('/chain/4', a.url), {}, undefined, { maxRedirects: 3 }),
    ).rejects.toThrow(RedirectError);
    await expect(
      follow(new URL('/chain/1', a.url), {}, undefined, { maxRedirects: 0 }),
    ).rejects.toThrow(RedirectError);
  });

  it('returns a 3xx without Location, and other 3xx, as they are', async () => {
    for (const status of [301, 300, 304]) {
      const url = new URL(`/redirect/${status}`, a.url);
      if (status !== 301) url.searchParams.set('to', '/elsewhere');
      const response = await follow(url);
      expect([response.status, response.redirected]).toEqual([status, false]);
      await response.body?.cancel();
    }
  });

  it.each(['ftp://example.com/file', 'data:text/plain,hi', 'http://[::1', 'javascript:alert(1)'])(
    'rejects a redirect to %s',
    async (location) => {
      const error = await follow(redirect(a, 302, location)).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(RedirectError);
      expect(error).toMatchObject({ status: 302, location });
    },
  );

  it('cancels the body of each redirect response', async () => {
    const abandoned = a.abandoned;
    const response = await follow(new URL('/hang-redirect', a.url));
    expect(await response.text()).toBe('final /done');
    await expect.poll(() => a.abandoned).toBe(abandoned + 1);
  });
});

describe('across origins', () => {
  const credentials = {
    authorization: 'Bearer secret',
    cookie: 'session=1',
    'proxy-authorization': 'Basic cHJveHk=',
    'x-other': 'kept',
  };

  it('drops Authorization, Cookie and Proxy-Authorization', async () => {
    const seen = await seenBy(b, () =>
      follow(redirect(a, 302, new URL('/t', b.url)), { headers: credentials }),
    );
    expect(seen[0]!.headers).toMatchObject({ 'x-other': 'kept' });
    for (const name of ['authorization', 'cookie', 'proxy-authorization']) {
      expect(seen[0]!.headers[name]).toBeUndefined();
    }
  });

  it('drops a Host header set by the caller', async () => {
    const seen = await seenBy(b, () =>
      follow(redirect(a, 307, new URL('/t', b.url)), { headers: { host: 'service.test' } }),
    );
    expect(seen[0]!.headers.host).toBe(b.url.host);
  });

  it('keeps them on the same origin, also after going back to it', async () => {
    const seen = await seenBy(a, () =>
      follow(redirect(a, 302, new URL('/t', a.url)), { headers: credentials }),
    );
    expect(seen.map((request) => request.headers.authorization)).toEqual([
      'Bearer secret',
      'Bearer secret',
    ]);
    expect(seen[1]!.headers).toMatchObject(credentials);
    // a → b → a: dropped for good at the first change of origin.
    const back = redirect(b, 302, new URL('/back', a.url));
    const returned = await seenBy(a, () =>
      follow(redirect(a, 302, back), { headers: credentials }),
    );
    expect(returned.map((request) => request.headers.authorization)).toEqual([
      'Bearer secret',
      undefined,
    ]);
  });
});

describe('other modes', () => {
  it('"manual" returns the redirect response', async () => {
    const seen = await seenBy(b, async () => {
      const response = await follow(redirect(a, 302, new URL('/t', b.url)), {}, undefined, {
        mode: 'manual',
      });
      expect(response.status).toBe(302);
      expect(response.redirected).toBe(false);
      expect(response.headers.get('location')).toBe(new URL('/t', b.url).href);
      await response.text();
    });
    expect(seen).toEqual([]);
  });

  it('"error" rejects a redirect with a TypeError and cancels its body', async () => {
    const abandoned = a.abandoned;
    const error = await follow(new URL('/hang-redirect', a.url), {}, undefined, {
      mode: 'error',
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ name: 'RedirectError', status: 302, location: '/done' });
    await expect.poll(() => a.abandoned).toBe(abandoned + 1);
    const ok = await follow(new URL('/fine', a.url), {}, undefined, { mode: 'error' });
    expect(await ok.text()).toBe('final /fine');
  });

  it('rejects an unknown mode and a bad maxRedirects', async () => {
    await expect(
      follow(new URL('/', a.url), {}, undefined, { mode: 'sideways' as RequestRedirect }),
    ).rejects.toThrow(TypeError);
    const error = await follow(new URL('/', a.url), {}, undefined, { maxRedirects: -1 }).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(DetourConfigError);
    expect(error).toMatchObject({ option: 'maxRedirects', value: -1 });
  });
});

describe('a failed hop', () => {
  it('ends its attempt, so the stream stops and release() cancels the source', async () => {
    const dropping = await startBodyServer(() => ({ hang: true }));
    const cancelled: unknown[] = [];
    let pulls = 0;
    // Endless: undici would read it forever after the failure if its stream were not retired.
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          controller.enqueue(new Uint8Array(1024).fill(pulls % 256));
        },
        cancel(reason) {
          cancelled.push(reason);
        },
      },
      { highWaterMark: 0 },
    );
    try {
      const body = await prepareBody(stream, 4096);
      const controller = new AbortController();
      const failed = fetchFollowingRedirects(
        fetch,
        dropping.url,
        { method: 'POST', signal: controller.signal },
        body,
        { mode: 'follow' },
      );
      await expect.poll(() => pulls).toBeGreaterThan(20); // sent past the prefix
      controller.abort(new Error('attempt timed out'));
      await expect(failed).rejects.toThrow('attempt timed out');
      expect(body.canReplay()).toBe(false);
      body.release('call failed');
      expect(cancelled).toEqual(['call failed']);
    } finally {
      await dropping.close();
    }
  });
});

describe('the signal', () => {
  it('reaches every hop', async () => {
    const controller = new AbortController();
    const hanging = await startBodyServer((request) => {
      if (request.path === '/hang') {
        controller.abort(new Error('caller gave up'));
        return { hang: true };
      }
      return {};
    });
    try {
      const { fetch: recording, calls } = recordingFetch();
      const error = await fetchFollowingRedirects(
        recording,
        redirect(a, 307, new URL('/hang', hanging.url)),
        { signal: controller.signal },
        await prepareBody(null, 0),
        { mode: 'follow' },
      ).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ message: 'caller gave up' });
      expect(calls.map((call) => call.init.signal)).toEqual([controller.signal, controller.signal]);
    } finally {
      await hanging.close();
    }
  });
});
