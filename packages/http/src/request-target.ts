/**
 * Where a request goes: the part of its URL that is the same on every endpoint (path and
 * query), resolved against the base URL of the endpoint each attempt goes to
 * (`resolveAgainstBase()`). A request never goes anywhere but an endpoint of the pool.
 */
import { DetourError } from '@detour/core';
import type { Endpoint } from '@detour/core';

/** The URL of a request is outside the service: detour does not send it anywhere. */
export class ForeignUrlError extends DetourError {
  readonly url: string;

  constructor(url: string, service: URL | undefined) {
    super(
      'DETOUR_FOREIGN_URL',
      `Not sent: ${url} is not under ${service ? `the service URL ${service.href} or ` : ''}an endpoint's base URL. Use a relative URL ("/path?query")${service ? '' : ' or set createFetch({ service })'}.`,
    );
    this.name = 'ForeignUrlError';
    this.url = url;
  }
}

/**
 * The path-and-query of `url` relative to `base` (`/x?y` for `http://h/api/x?y` under
 * `http://h/api`), or undefined when `url` is not under `base`.
 */
function under(url: URL, base: URL): string | undefined {
  if (url.origin !== base.origin) return undefined;
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  const path = url.pathname;
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
  return (path.slice(prefix.length) || '/') + url.search;
}

function absolute(input: string): URL | undefined {
  // Only a string with a scheme is absolute; `/x`, `x` and `//host/x` are references.
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(input)) return undefined;
  try {
    return new URL(input);
  } catch {
    return undefined;
  }
}

/**
 * The request's path-and-query to send to whichever endpoint: `input` itself when relative,
 * else its part under `service` or under one of `endpoints`' base URLs. Throws
 * `ForeignUrlError` for any other URL. The fragment is dropped, as fetch does.
 */
export function requestTarget(
  input: string,
  service: URL | undefined,
  endpoints: () => readonly Endpoint[],
): string {
  const url = absolute(input);
  if (!url) {
    if (input.startsWith('//')) throw new ForeignUrlError(input, service);
    const hash = input.indexOf('#');
    const reference = hash >= 0 ? input.slice(0, hash) : input;
    return reference.startsWith('/') || reference.startsWith('?') ? reference : `/${reference}`;
  }
  if (service) {
    const path = under(url, service);
    if (path !== undefined) return path;
  }
  for (const endpoint of endpoints()) {
    let base: URL;
    try {
      base = new URL(endpoint.address);
    } catch {
      continue;
    }
    const path = under(url, base);
    if (path !== undefined) return path;
  }
  throw new ForeignUrlError(url.href, service);
}
