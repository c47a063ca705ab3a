/**
 * Redirects, followed by detour instead of the underlying fetch: each hop is fetched with
 * `redirect: 'manual'`, so the request body comes from a {@link RequestBody} (a stream can be
 * resent within its replay bound) and the rules below hold whatever fetch is underneath. They are
 * the Fetch standard's HTTP-redirect fetch (https://fetch.spec.whatwg.org/#http-redirect-fetch),
 * plus the headers undici also drops across origins.
 */
import { validate } from '@detour/core';
import type { RequestBody } from './body.js';

/** How {@link fetchFollowingRedirects} treats a redirect response. */
export interface RedirectOptions {
  /**
   * The caller's `init.redirect`: 'follow' (the default, as fetch), 'manual' (return the 3xx
   * response) or 'error' (reject with a {@link RedirectError}).
   */
  readonly mode: RequestRedirect;
  /** Redirects followed before the next one rejects. Defaults to 20, as fetch. */
  readonly maxRedirects?: number;
}

/**
 * A redirect that is not followed: redirect mode 'error', too many redirects, or a `Location`
 * that is not a valid http(s) URL. A `TypeError`, as fetch rejects with, so code written for
 * fetch keeps working; not a network failure of the replica.
 */
export class RedirectError extends TypeError {
  /** The redirect response's status. */
  readonly status: number;
  /** The `Location` header of the redirect response, if any. */
  readonly location: string | null;

  constructor(message: string, status: number, location: string | null) {
    super(message);
    this.name = 'RedirectError';
    this.status = status;
    this.location = location;
  }
}

/**
 * One attempt: fetches `url` with `fetchImpl` and `redirect: 'manual'`, and treats 3xx responses
 * as `options.mode` says. Each hop gets `init` (its `signal` too), the body from
 * `body.forAttempt()` and, for a stream, `duplex: 'half'`. `init` is the attempt's own: each hop
 * is fetched with it, its `method`, `body`, `redirect` and `duplex` set for the hop, and its
 * `headers` replaced by a copy before a redirect drops any (the caller's are left as they were).
 *
 * Following (mode 'follow'): 301, 302, 303, 307 and 308 with a `Location` (resolved against the
 * current URL) are followed; their bodies are cancelled. 303 turns the request into a GET without
 * body (HEAD stays HEAD), and so do 301 and 302 for a POST; the others resend the method and the
 * body (a stream read past its replay bound rejects with `BodyNotReplayableError`). A dropped body
 * takes the `Content-Type`, `Content-Length`, `Content-Encoding`, `Content-Language` and
 * `Content-Location` headers with it. A hop to another origin drops `Authorization`, `Cookie`,
 * `Proxy-Authorization` and `Host`. A 3xx without `Location`, and other 3xx, are returned.
 *
 * The returned response is the last hop's: its `url` is the last URL fetched. When a redirect
 * was followed its `redirected` is true (and stays true on `clone()`), as from fetch.
 *
 * @throws RedirectError - for a redirect in mode 'error', more than `maxRedirects` redirects, or a
 *   `Location` that is not a valid http(s) URL; the redirect response's body is cancelled.
 * @throws TypeError - if `options.mode` is not a `RequestRedirect`.
 * @throws DetourConfigError - if `options.maxRedirects` is not an integer >= 0.
 */
export async function fetchFollowingRedirects(
  fetchImpl: typeof fetch,
  url: URL | string,
  init: RequestInit,
  body: RequestBody,
  options: RedirectOptions,
): Promise<Response> {
  const mode = options.mode;
  if (!modes.includes(mode)) {
    throw new TypeError(
      `Invalid redirect mode ${JSON.stringify(mode)}: not one of ${modes.join(', ')}`,
    );
  }
  const maxRedirects = validate.integer('maxRedirects', options.maxRedirects, 20);
  /** The hop's headers: the caller's until a redirect drops some, then a copy. */
  let headers: Headers | undefined;
  const ownHeaders = (): Headers => (headers ??= new Headers(init.headers));
  /** The URL of this hop: a string fetch parses, until a redirect needs it parsed here. */
  let current: URL | string = url;
  let method = normalizeMethod(init.method ?? 'GET');
  let withBody = true;
  /** What the current hop was given as body. */
  let sent: BodyInit | null = null;
  let redirects = 0;
  // Every field set from the start, so the object keeps one shape for every hop.
  const hop = init as RequestInit & { duplex?: 'half' };
  hop.redirect = 'manual';
  try {
    for (;;) {
      sent = withBody ? body.forAttempt() : null;
      hop.method = method;
      hop.body = sent;
      hop.duplex = withBody && body.streamed ? 'half' : undefined;
      if (headers) hop.headers = headers;
      const response = await fetchImpl(current, hop);
      const { status } = response;
      if (mode === 'manual' || !redirectStatuses.has(status)) {
        return redirects > 0 ? markRedirected(response) : response;
      }
      const location = response.headers.get('location');
      if (mode === 'error') {
        await discard(response);
        throw new RedirectError(
          `Redirect not allowed (redirect mode "error"): ${status} from ${describe(current)}`,
          status,
          location,
        );
      }
      if (location === null) return redirects > 0 ? markRedirected(response) : response;
      const next = URL.canParse(location, current) ? new URL(location, current) : undefined;
      await discard(response);
      if (next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new RedirectError(
          `Redirect to an invalid or non-HTTP(S) URL: ${status} from ${describe(current)}`,
          status,
          location,
        );
      }
      if (redirects >= maxRedirects) {
        throw new RedirectError(
          `Too many redirects: more than ${maxRedirects} (maxRedirects); the last, ${status} ` +
            `from ${describe(current)}`,
          status,
          location,
        );
      }
      redirects++;
      if (
        ((status === 301 || status === 302) && method === 'POST') ||
        (status === 303 && method !== 'GET' && method !== 'HEAD')
      ) {
        method = 'GET';
        body.endAttempt(sent);
        withBody = false;
        for (const name of bodyHeaders) ownHeaders().delete(name);
      }
      if (next.origin !== asUrl(current).origin) {
        for (const name of credentialHeaders) ownHeaders().delete(name);
      }
      current = next;
    }
  } catch (error) {
    // The attempt is over: its body stream must not be read further (undici keeps reading).
    body.endAttempt(sent);
    throw error;
  }
}

/**
 * Makes the last hop's response say it was redirected, as fetch's does (each hop was fetched
 * with redirect 'manual', so the underlying fetch says it was not). Own properties shadow the
 * `Response.prototype` getter; `clone()` is wrapped to keep them.
 */
function markRedirected(response: Response): Response {
  const clone = response.clone.bind(response);
  Reflect.defineProperty(response, 'redirected', { value: true, configurable: true });
  Reflect.defineProperty(response, 'clone', {
    value: (): Response => markRedirected(clone()),
    configurable: true,
    writable: true,
  });
  return response;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(ignore);
}

/** fetch's method normalization: the six standard methods in any case become upper case. */
function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return normalizedMethods.has(upper) ? upper : method;
}

function asUrl(url: URL | string): URL {
  return typeof url === 'string' ? new URL(url) : url;
}

/** A URL for messages, without credentials, query or fragment. */
function describe(url: URL | string): string {
  const parsed = asUrl(url);
  return `${parsed.origin}${parsed.pathname}`;
}

function ignore(): void {}

const modes: readonly RequestRedirect[] = ['follow', 'manual', 'error'];
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const normalizedMethods = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** The Fetch standard's request-body-header names, and Content-Length. */
const bodyHeaders = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
];
/** Dropped across origins: the Fetch standard drops Authorization; undici also these. */
const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization', 'host'];
