/**
 * Resolving a path against an endpoint's base URL. An HTTP endpoint's `address` is a base URL
 * (`http://10.0.0.1:8080/api/`) whose path is a prefix that every request keeps, unlike
 * `new URL('/healthz', base)`, which would replace it.
 */

/**
 * `path` (with an optional query) appended to the path of `base`:
 *
 * | base                    | path             | result                          |
 * | ----------------------- | ---------------- | ------------------------------- |
 * | `http://h:8080`         | `/healthz`       | `http://h:8080/healthz`         |
 * | `http://h/api`          | `/healthz`       | `http://h/api/healthz`          |
 * | `http://h/api/`         | `/healthz`       | `http://h/api/healthz`          |
 * | `http://h/api`          | `healthz`        | `http://h/api/healthz`          |
 * | `http://h/api`          | `/ready/?full=1` | `http://h/api/ready/?full=1`    |
 * | `http://h/api?key=1`    | `/healthz`       | `http://h/api/healthz`          |
 * | `http://h/api/`         | `?x=1`           | `http://h/api/?x=1`             |
 *
 * - One slash joins the two (a trailing slash of the base and a leading slash of the path are
 *   one); a trailing slash of the path is kept. An empty path keeps the base's path as it is.
 * - The query is the path's; the base's query is dropped (as RFC 3986 resolution does). The
 *   fragment of either is dropped: it is never sent.
 * - The result never leaves the base's origin: `//other/x` or `http://other/x` become a path
 *   under the base. Dot segments are resolved as `URL` does (`/../x` climbs out of the base's
 *   path, not out of its origin). Characters not allowed in a path or query are
 *   percent-encoded.
 *
 * Throws a `TypeError` when `base` is not an absolute URL with a path (`localhost:8080`, a
 * `host:port` without a scheme, is a URL of scheme `localhost:`, but not a base).
 */
export function resolveAgainstBase(base: string, path: string): URL {
  return new BaseUrl(base).resolve(path);
}

/**
 * A base URL parsed once, for resolving many paths against it (`resolveAgainstBase`'s rules):
 * each `resolve()` then parses one string instead of a URL and three setters.
 */
export class BaseUrl {
  /** Scheme, credentials, host and port: the href up to the path. */
  readonly #head: string;
  readonly #pathname: string;
  /** The path without its trailing slash, to append a path to. */
  readonly #prefix: string;

  /** @throws TypeError when `base` is not an absolute URL with a path. */
  constructor(base: string) {
    const url = new URL(base);
    if (!url.pathname.startsWith('/')) {
      // `localhost:8080` parses as the scheme `localhost:` with an opaque path.
      throw new TypeError(
        `${JSON.stringify(base)} is not a base URL such as http://host:port/path`,
      );
    }
    const tail = url.pathname.length + url.search.length + url.hash.length;
    this.#head = url.href.slice(0, url.href.length - tail);
    this.#pathname = url.pathname;
    this.#prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  }

  /** `path` (with an optional query) under this base: a new URL each time. */
  resolve(path: string): URL {
    const resolved = this.resolveHref(path);
    return typeof resolved === 'string' ? new URL(resolved) : resolved;
  }

  /**
   * `resolve(path)` as a string that parses to that URL, or the URL itself where it had to be
   * built with setters: for fetch, which parses what it is given anyway (a URL it would first
   * turn into a string).
   */
  resolveHref(path: string): string | URL {
    const hash = path.indexOf('#');
    const reference = hash >= 0 ? path.slice(0, hash) : path;
    const query = reference.indexOf('?');
    const pathPart = query >= 0 ? reference.slice(0, query) : reference;
    const search = query >= 0 ? reference.slice(query) : '';
    const pathname =
      pathPart === ''
        ? this.#pathname
        : this.#prefix + (pathPart.startsWith('/') ? pathPart : `/${pathPart}`);
    if (reference.length > 0 && reference.charCodeAt(reference.length - 1) <= 0x20) {
      // Parsing a whole URL strips trailing spaces and controls; the setters encode them.
      const url = new URL(this.#head + this.#pathname);
      if (pathPart !== '') url.pathname = pathname;
      url.search = search;
      return url;
    }
    return this.#head + pathname + search;
  }
}

/**
 * The {@link BaseUrl} of each endpoint address, kept while the addresses are few: past
 * `maxEntries` (endpoints that came and went), it starts again from empty.
 */
export class BaseUrlCache {
  readonly #bases = new Map<string, BaseUrl>();
  readonly #maxEntries: number;

  constructor(maxEntries = 1024) {
    this.#maxEntries = maxEntries;
  }

  /** Bases kept. */
  get size(): number {
    return this.#bases.size;
  }

  /** `resolveAgainstBase(base, path)`, with `base` parsed once. */
  resolve(base: string, path: string): URL {
    return this.#base(base).resolve(path);
  }

  /** `resolve(base, path)` as `BaseUrl.resolveHref` gives it. */
  resolveHref(base: string, path: string): string | URL {
    return this.#base(base).resolveHref(path);
  }

  #base(base: string): BaseUrl {
    let parsed = this.#bases.get(base);
    if (parsed === undefined) {
      parsed = new BaseUrl(base);
      if (this.#bases.size >= this.#maxEntries) this.#bases.clear();
      this.#bases.set(base, parsed);
    }
    return parsed;
  }
}
