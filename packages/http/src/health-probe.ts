/**
 * Active health checking over HTTP, as the probe of core's `heartbeat` detector: each probe asks
 * one endpoint for its health path (`GET /healthz` by default) and judges it by the status.
 *
 * Per probe:
 * - The URL is `path` resolved against the endpoint's `address`, a base URL whose path is kept
 *   (`/healthz` on `http://10.0.0.1:8080/api` is `http://10.0.0.1:8080/api/healthz`; see
 *   `resolveAgainstBase`).
 * - The request is `method` (GET or HEAD) with `headers`, `redirect: 'manual'` (a redirect is
 *   judged by its own status: a health path that redirects to a login page is not healthy
 *   unless its 3xx is in `expectedStatuses`) and the heartbeat's `signal`, through `fetch`.
 * - Verdict: healthy when the status is expected (default 200–299), with `code` the status and
 *   `message` like `200 OK`; unhealthy for any other status, and for a network error (code
 *   `ECONNREFUSED`, `UND_ERR_SOCKET`…, as the classifier's `isNetworkError` finds it) or any
 *   other rejection of fetch (its `code` if it has one, else `error`).
 * - The body is read and discarded, up to 64 KiB, so that the connection can serve the next
 *   probe (undici closes a connection whose response was not read to its end, and opens a
 *   replacement); a longer body is cancelled there. A body that breaks off (reset, closed) makes
 *   the probe unhealthy with that network error's code, even after a good status: a health
 *   check that cannot complete is failed. A body that stalls holds the probe until its signal
 *   aborts.
 * - The signal aborting (the heartbeat's `timeoutMs`, the endpoint removed, the pool closed) →
 *   the probe rejects with `signal.reason`, and the heartbeat reports its own timeout.
 *
 * There is no standard HTTP health path: `/healthz` is the Kubernetes convention (its probes
 * count 200–399 as success and follow redirects; Envoy's HTTP health checks expect 200 and do not
 * follow them). Unlike the gRPC probe, nothing is kept between probes but fetch's connection
 * pool, so there is nothing to close.
 *
 * Spec: https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/,
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/health_check.proto
 */
import type { HeartbeatProbe, ProbeResult } from '@detour/core';
import { DetourConfigError, systemClock, validate } from '@detour/core';
import { isNetworkError } from './classifier.js';
import { resolveAgainstBase } from './url.js';

export interface HttpHealthProbeOptions {
  /**
   * The health path, with an optional query, resolved against each endpoint's base URL with
   * its path kept. Must not be an absolute URL: the probe only ever asks the endpoint. Default
   * `/healthz`.
   */
  readonly path?: string;
  /** `GET` or `HEAD`. Default `GET`. */
  readonly method?: 'GET' | 'HEAD';
  /** Statuses that mean healthy (integers 100–599, at least one). Default 200–299. */
  readonly expectedStatuses?: readonly number[];
  /** Headers sent with every probe (checked when the probe is made). Default none. */
  readonly headers?: HeadersInit;
  /**
   * The fetch each probe calls, with the URL as a string. Default `globalThis.fetch` as it is
   * when the probe is made; undici's `fetch` works too, and so does a wrapper that passes a
   * `dispatcher`.
   */
  readonly fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

const defaultPath = '/healthz';
/** Body bytes read (and discarded) to keep the connection; beyond them the body is cancelled. */
const maxDrainBytes = 65_536;

const optionKeys = ['path', 'method', 'expectedStatuses', 'headers', 'fetch'];
const absoluteUrl = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/**
 * An HTTP health probe for core's `heartbeat` detector. Bad options throw `DetourConfigError`
 * naming `healthCheck.<option>`.
 *
 * ```ts
 * const pool = createPool({
 *   endpoints: ['http://10.0.0.1:8080/api', 'http://10.0.0.2:8080/api'],
 *   detectors: [heartbeat({ probe: httpHealthProbe({ path: '/ready' }) })],
 * });
 * ```
 */
export function httpHealthProbe(options?: HttpHealthProbeOptions): HeartbeatProbe {
  const settings = parseOptions(options);
  const { path, method, expectedStatuses, headers, fetch } = settings;

  return async (endpoint, signal): Promise<ProbeResult> => {
    signal.throwIfAborted();
    let url: string;
    try {
      url = resolveAgainstBase(endpoint.address, path).href;
    } catch {
      return {
        healthy: false,
        latencyMs: 0,
        code: 'ERR_INVALID_URL',
        message: `The endpoint address ${JSON.stringify(endpoint.address)} is not a base URL`,
      };
    }
    const start = systemClock.now();
    let response: Response;
    try {
      response = await fetch(url, { method, headers, signal, redirect: 'manual' });
    } catch (error) {
      signal.throwIfAborted();
      const latencyMs = systemClock.now() - start;
      const network = isNetworkError(error);
      return {
        healthy: false,
        latencyMs,
        code: network?.code ?? errorCode(error) ?? 'error',
        message: errorMessage(error),
      };
    }
    const { status } = response;
    try {
      await drain(response.body);
    } catch (error) {
      signal.throwIfAborted();
      return {
        healthy: false,
        latencyMs: systemClock.now() - start,
        code: isNetworkError(error)?.code ?? errorCode(error) ?? 'error',
        message: `${statusText(response)}, then the body failed: ${errorMessage(error)}`,
      };
    }
    return {
      healthy: expectedStatuses ? expectedStatuses.has(status) : status >= 200 && status < 300,
      latencyMs: systemClock.now() - start,
      code: status,
      message: statusText(response),
    };
  };
}

/** `200 OK`, or `200` when the response has no reason phrase (HTTP/2). */
function statusText(response: Response): string {
  return response.statusText
    ? `${response.status} ${response.statusText}`
    : String(response.status);
}

/** Reads `body` to its end and discards it; cancels it once more than `maxDrainBytes` came. */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    bytes += value.byteLength;
    if (bytes > maxDrainBytes) {
      await reader.cancel();
      return;
    }
  }
}

interface Settings {
  readonly path: string;
  readonly method: 'GET' | 'HEAD';
  /** Undefined: 200–299. */
  readonly expectedStatuses: ReadonlySet<number> | undefined;
  readonly headers: [string, string][];
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
}

function parseOptions(options: HttpHealthProbeOptions | undefined): Settings {
  const p = 'healthCheck';
  if (
    options !== undefined &&
    (typeof options !== 'object' || options === null || Array.isArray(options))
  ) {
    throw new DetourConfigError(p, options, 'must be an object or undefined');
  }
  validate.knownKeys(p, options, optionKeys);
  const path: unknown = options?.path ?? defaultPath;
  if (typeof path !== 'string' || path === '' || absoluteUrl.test(path)) {
    throw new DetourConfigError(
      `${p}.path`,
      path,
      'must be a non-empty path such as "/healthz", not an absolute URL',
    );
  }
  const method = validate.oneOf(`${p}.method`, options?.method, ['GET', 'HEAD'], 'GET');
  const statuses: unknown = options?.expectedStatuses;
  let expectedStatuses: ReadonlySet<number> | undefined;
  if (statuses !== undefined) {
    if (!Array.isArray(statuses) || statuses.length === 0) {
      throw new DetourConfigError(
        `${p}.expectedStatuses`,
        statuses,
        'must be a non-empty array of HTTP statuses (100-599)',
      );
    }
    statuses.forEach((status: unknown, i) => {
      if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) {
        throw new DetourConfigError(
          `${p}.expectedStatuses[${i}]`,
          status,
          'must be an HTTP status (100-599)',
        );
      }
    });
    expectedStatuses = new Set(statuses as number[]);
  }
  const headers: [string, string][] = [];
  try {
    new Headers(options?.headers).forEach((value, name) => headers.push([name, value]));
  } catch (error) {
    throw new DetourConfigError(
      `${p}.headers`,
      options?.headers,
      `must be valid HTTP headers (${errorMessage(error)})`,
    );
  }
  const fetch: unknown = options?.fetch ?? globalThis.fetch;
  if (typeof fetch !== 'function') {
    throw new DetourConfigError(`${p}.fetch`, options?.fetch, 'must be a fetch function');
  }
  return {
    path,
    method,
    expectedStatuses,
    headers,
    fetch: fetch as Settings['fetch'],
  };
}

/** `fetch failed: connect ECONNREFUSED 127.0.0.1:8080`: the messages of the `cause` chain. */
function errorMessage(error: unknown): string {
  const parts: string[] = [];
  let link: unknown = error;
  for (let i = 0; i < 8 && link instanceof Error; i++) {
    const text = link.message || link.name;
    if (!parts.includes(text)) parts.push(text);
    link = link.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}

/** The error's `code`; a DOMException's name (its numeric `code` is a legacy constant). */
function errorCode(error: unknown): string | number | undefined {
  if (error instanceof DOMException) return error.name;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}
