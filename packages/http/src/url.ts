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
  const url = new URL(base);
  if (!url.pathname.startsWith('/')) {
    // `localhost:8080` parses as the scheme `localhost:` with an opaque path.
    throw new TypeError(`${JSON.stringify(base)} is not a base URL such as http://host:port/path`);
  }
  const hash = path.indexOf('#');
  const reference = hash >= 0 ? path.slice(0, hash) : path;
  const query = reference.indexOf('?');
  const pathPart = query >= 0 ? reference.slice(0, query) : reference;
  if (pathPart !== '') {
    const prefix = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    url.pathname = prefix + (pathPart.startsWith('/') ? pathPart : `/${pathPart}`);
  }
  url.search = query >= 0 ? reference.slice(query) : '';
  url.hash = '';
  return url;
}
