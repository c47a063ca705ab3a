/**
 * Options of `createFetch()`, their defaults and units, and their validation: a bad value throws
 * `DetourConfigError` (naming the option and the value) when the fetch is made.
 */
import type { CallPolicy, Classifier, HedgeOptions, Pool, PoolOptions } from '@detour/core';
import { DetourConfigError, maxDetectors, poolOptionKeys, validate } from '@detour/core';
import { httpClassifier } from './classifier.js';

/** The fetch detour calls for each attempt (and each redirect hop, and each health probe). */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/**
 * Active health checking of every endpoint over HTTP (see `createFetch()`'s `healthCheck`).
 * Each field left out takes its default from `defaultHttpHealthCheck`.
 */
export interface HttpHealthCheckOptions {
  /** Path asked, resolved against each endpoint's base URL (its path prefix kept). Default `/healthz`. */
  readonly path?: string;
  /** `GET` or `HEAD`. Default `GET`. */
  readonly method?: 'GET' | 'HEAD';
  /** Statuses that mean healthy. Default 200–299. */
  readonly expectedStatuses?: readonly number[];
  /** Headers sent with every probe. Default none. */
  readonly headers?: HeadersInit;
  /** Time between probes of one endpoint, ms (> 0). Default 1000. */
  readonly intervalMs?: number;
  /** A probe's time limit, ms (> 0); an overrun is an unhealthy result. Default 500. */
  readonly timeoutMs?: number;
  /** Healthy results in a row that release a held endpoint (integer ≥ 1). Default 2. */
  readonly healthyThreshold?: number;
  /** Unhealthy results in a row that hold an endpoint out (integer ≥ 1). Default 2. */
  readonly unhealthyThreshold?: number;
}

/** Defaults of `healthCheck`: the same schedule as `@detour/grpc`'s (reasons there). */
export const defaultHttpHealthCheck = Object.freeze({
  path: '/healthz',
  method: 'GET' as const,
  intervalMs: 1_000,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
});

/**
 * The methods RFC 9110 §9.2.2 calls idempotent (plus QUERY, idempotent by its draft): retried
 * after any retryable failure and hedged when `call.hedge` is set. Other methods (POST, PATCH)
 * are retried only when the request carries an `Idempotency-Key` header, when the caller marks
 * the request idempotent (`init.detour.idempotent`), or when it certainly was not sent
 * (connection refused, DNS failure).
 */
export const defaultIdempotentMethods: readonly string[] = Object.freeze([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
  'QUERY',
]);

/** Request body bytes kept for replay by default: 64 KiB (Linkerd's limit for retried bodies). */
export const defaultReplayBufferBytes = 65_536;

export interface CreateFetchOptions extends PoolOptions {
  /**
   * An existing pool to run requests on, instead of one made from the pool options
   * (`endpoints`, `selector`, `detectors`, `health`, `budget`, `call`, …), which must then be
   * left out. Its endpoints' addresses are base URLs. `close()` does not close a pool it was
   * given.
   */
  readonly pool?: Pool;
  /**
   * The service's logical URL, such as `http://greeter` or `http://greeter/api`: a request to a
   * URL under it is sent to the endpoint chosen for each attempt, with the rest of its path.
   * Relative URLs (`/hello?name=x`) always are, and so are URLs under an endpoint's own base URL.
   * Any other URL is refused: detour never sends a request anywhere but its endpoints. Default
   * none.
   */
  readonly service?: string | URL;
  /** The fetch each attempt calls. Default `globalThis.fetch` (undici's `fetch` works too). */
  readonly fetch?: FetchFunction;
  /**
   * Maps each attempt's result (a Response, or the error fetch rejected with) to success,
   * failure or ignore. Default `httpClassifier()`: network errors, 408, 429, 502, 503 and 504
   * are retryable, with Retry-After as pushback.
   */
  readonly classifier?: Classifier<Response>;
  /** Methods retried after any retryable failure. Default `defaultIdempotentMethods`. */
  readonly idempotentMethods?: readonly string[];
  /**
   * The header whose presence makes a POST or PATCH idempotent (draft-ietf-httpapi-idempotency-key).
   * Default `Idempotency-Key`; `false`: never.
   */
  readonly idempotencyKeyHeader?: string | false;
  /**
   * Bytes of a streamed request body (a ReadableStream, or a Request's body) buffered for
   * replay. A stream that ends within it is replayed like any other body; a longer one goes to
   * the first attempt only, and once bytes beyond the buffer were sent the request is not
   * retried (`BodyNotReplayableError` if a retry was needed). Other bodies (strings, buffers,
   * Blob, FormData, URLSearchParams) are always replayed. Default 65536; 0 never buffers.
   */
  readonly replayBufferBytes?: number;
  /**
   * Active health checking: a `heartbeat` detector whose probe (`httpHealthProbe()`) asks each
   * endpoint for `path`, added after `detectors` (or the default detectors). Default off (HTTP
   * has no standard health path; an endpoint without one would be held out); `{}` turns it on
   * with `defaultHttpHealthCheck`.
   */
  readonly healthCheck?: HttpHealthCheckOptions | false;
}

/** Per-request options, in `init.detour`. Each overrides the pool's `call` option of that name. */
export interface DetourRequestOptions extends Omit<CallPolicy, 'hedge'> {
  /** Affinity key for consistent hashing. */
  readonly key?: string;
  /** Backup attempts for this request (idempotent requests with a replayable body only). */
  readonly hedge?: HedgeOptions | boolean;
}

/** fetch's `RequestInit` plus detour's per-request options. */
export interface DetourRequestInit extends RequestInit {
  readonly detour?: DetourRequestOptions;
}

export interface ResolvedFetchOptions {
  readonly pool: Pool | undefined;
  readonly poolOptions: PoolOptions | undefined;
  readonly service: URL | undefined;
  readonly fetch: FetchFunction;
  readonly classifier: Classifier<Response>;
  readonly idempotentMethods: ReadonlySet<string>;
  readonly idempotencyKeyHeader: string | undefined;
  readonly replayBufferBytes: number;
  readonly healthCheck: ResolvedHttpHealthCheck | undefined;
}

export interface ResolvedHttpHealthCheck {
  readonly path: string;
  readonly method: 'GET' | 'HEAD';
  readonly expectedStatuses: readonly number[] | undefined;
  readonly headers: HeadersInit | undefined;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

const ownKeys = [
  'pool',
  'service',
  'fetch',
  'classifier',
  'idempotentMethods',
  'idempotencyKeyHeader',
  'replayBufferBytes',
  'healthCheck',
];
const healthCheckKeys = [
  'path',
  'method',
  'expectedStatuses',
  'headers',
  'intervalMs',
  'timeoutMs',
  'healthyThreshold',
  'unhealthyThreshold',
];
/** Runtimes fire longer timers at once. */
const maxTimerMs = 2 ** 31 - 1;
const tokenPattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPool(value: unknown): value is Pool {
  return (
    isObject(value) &&
    typeof value.execute === 'function' &&
    typeof value.on === 'function' &&
    typeof value.members === 'function'
  );
}

function resolveService(value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' || value instanceof URL ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new DetourConfigError(
      'service',
      value instanceof URL ? value.href : value,
      'must be an absolute http(s) URL without query or fragment, such as "http://greeter"',
    );
  }
  return url;
}

function resolveMethods(value: unknown): ReadonlySet<string> {
  if (value === undefined) return new Set(defaultIdempotentMethods);
  if (!Array.isArray(value)) {
    throw new DetourConfigError('idempotentMethods', value, 'must be an array of method names');
  }
  return new Set(
    value.map((method: unknown, i) => {
      if (typeof method !== 'string' || !tokenPattern.test(method)) {
        throw new DetourConfigError(`idempotentMethods[${i}]`, method, 'must be a method name');
      }
      return method.toUpperCase();
    }),
  );
}

function resolveReplayBytes(value: unknown): number {
  if (value === undefined) return defaultReplayBufferBytes;
  if (value === Infinity) return Infinity;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new DetourConfigError('replayBufferBytes', value, 'must be an integer >= 0 or Infinity');
  }
  return value as number;
}

function resolveHealthCheck(
  value: unknown,
  pool: Pool | undefined,
  poolOptions: Record<string, unknown>,
): ResolvedHttpHealthCheck | undefined {
  if (value === undefined || value === false) return undefined;
  if (!isObject(value) || Array.isArray(value)) {
    throw new DetourConfigError('healthCheck', value, 'must be an object or false');
  }
  if (pool) {
    throw new DetourConfigError(
      'healthCheck',
      value,
      'cannot be given together with pool: add heartbeat({ probe: httpHealthProbe() }) to its detectors',
    );
  }
  validate.knownKeys('healthCheck', value, healthCheckKeys);
  const d = defaultHttpHealthCheck;
  const path = value.path ?? d.path;
  if (typeof path !== 'string' || path === '') {
    throw new DetourConfigError('healthCheck.path', path, 'must be a non-empty string');
  }
  const method = value.method ?? d.method;
  if (method !== 'GET' && method !== 'HEAD') {
    throw new DetourConfigError('healthCheck.method', method, 'must be "GET" or "HEAD"');
  }
  const statuses = value.expectedStatuses;
  if (
    statuses !== undefined &&
    (!Array.isArray(statuses) ||
      statuses.length === 0 ||
      !statuses.every((s) => Number.isInteger(s) && (s as number) >= 100 && (s as number) <= 599))
  ) {
    throw new DetourConfigError(
      'healthCheck.expectedStatuses',
      statuses,
      'must be a non-empty array of HTTP statuses (100-599)',
    );
  }
  const detectors = poolOptions.detectors;
  if (Array.isArray(detectors) && detectors.length >= maxDetectors) {
    throw new DetourConfigError(
      'detectors',
      detectors.length,
      `must hold at most ${maxDetectors - 1} detectors with healthCheck on (its heartbeat is one more)`,
    );
  }
  return {
    path,
    method,
    expectedStatuses: statuses as readonly number[] | undefined,
    headers: value.headers as HeadersInit | undefined,
    intervalMs: validate.positive(
      'healthCheck.intervalMs',
      value.intervalMs,
      d.intervalMs,
      maxTimerMs,
    ),
    timeoutMs: validate.positive('healthCheck.timeoutMs', value.timeoutMs, d.timeoutMs, maxTimerMs),
    healthyThreshold: validate.integer(
      'healthCheck.healthyThreshold',
      value.healthyThreshold,
      d.healthyThreshold,
      1,
    ),
    unhealthyThreshold: validate.integer(
      'healthCheck.unhealthyThreshold',
      value.unhealthyThreshold,
      d.unhealthyThreshold,
      1,
    ),
  };
}

/** Validates `options` and fills in the defaults. */
export function resolveFetchOptions(options: CreateFetchOptions): ResolvedFetchOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new DetourConfigError('options', options, 'must be an object');
  }
  const poolOptions: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    const value = options[key as keyof CreateFetchOptions];
    if (poolOptionKeys.includes(key)) {
      if (value !== undefined) poolOptions[key] = value;
    } else if (!ownKeys.includes(key)) {
      throw new DetourConfigError(key, value, 'is not an option of createFetch()');
    }
  }
  let pool: Pool | undefined;
  if (options.pool !== undefined) {
    if (!isPool(options.pool)) {
      throw new DetourConfigError('pool', options.pool, 'must be a Pool made by createPool()');
    }
    const extra = Object.keys(poolOptions)[0];
    if (extra !== undefined) {
      throw new DetourConfigError(extra, poolOptions[extra], 'cannot be given together with pool');
    }
    if (options.pool.closed) throw new DetourConfigError('pool', 'closed pool', 'must be open');
    pool = options.pool;
  }
  const fetchImpl: unknown = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new DetourConfigError('fetch', options.fetch, 'must be a fetch function');
  }
  const classifier: unknown = options.classifier;
  if (classifier !== undefined && typeof classifier !== 'function') {
    throw new DetourConfigError('classifier', classifier, 'must be a function');
  }
  const header: unknown = options.idempotencyKeyHeader;
  if (header !== undefined && header !== false) {
    if (typeof header !== 'string' || !tokenPattern.test(header)) {
      throw new DetourConfigError('idempotencyKeyHeader', header, 'must be a header name or false');
    }
  }
  return {
    pool,
    poolOptions: pool ? undefined : poolOptions,
    service: resolveService(options.service),
    fetch: fetchImpl as FetchFunction,
    classifier: options.classifier ?? httpClassifier(),
    idempotentMethods: resolveMethods(options.idempotentMethods),
    idempotencyKeyHeader:
      options.idempotencyKeyHeader === false
        ? undefined
        : (options.idempotencyKeyHeader ?? 'Idempotency-Key'),
    replayBufferBytes: resolveReplayBytes(options.replayBufferBytes),
    healthCheck: resolveHealthCheck(options.healthCheck, pool, poolOptions),
  };
}
