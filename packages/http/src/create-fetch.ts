/**
 * `createFetch()`: a function with fetch's signature whose every attempt goes to an endpoint
 * detour selects, with the same detection, selection, retries, hedging and budgets as
 * `@detour/grpc`.
 *
 * One request is one `pool.execute()`. Each attempt resolves the request's path against the
 * chosen endpoint's base URL, sends it with a replay of the body through the underlying fetch
 * (following redirects as the caller's `redirect` says), and settles when the response headers
 * arrive. The classifier then decides: a success ends the call with that Response, whose body
 * the caller reads as usual; a retryable failure (network error, 502, 503, …) fails over. The
 * bodies of responses that are not returned are cancelled, so no socket is left waiting.
 *
 *   const api = createFetch({ endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] });
 *   const response = await api('/hello?name=world');
 */
import {
  CallFailedError,
  callPolicyKeys,
  createPool,
  defaultDetectors,
  heartbeat,
  validate,
} from '@detour/core';
import type {
  AttemptContext,
  Classification,
  Classifier,
  Endpoint,
  ExecuteOptions,
  Pool,
} from '@detour/core';
import { BodyNotReplayableError, noBody, prepareBody } from './body.js';
import type { RequestBody } from './body.js';
import { FetchFailedError } from './fetch-error.js';
import { resolveFetchOptions } from './fetch-options.js';
import type {
  CreateFetchOptions,
  DetourRequestInit,
  DetourRequestOptions,
  ResolvedFetchOptions,
} from './fetch-options.js';
import { httpHealthProbe } from './health-probe.js';
import { fetchFollowingRedirects } from './redirect.js';
import { requestTarget } from './request-target.js';
import { BaseUrlCache } from './url.js';

/** A fetch whose attempts fail over across the endpoints of `pool`. */
export interface DetourFetch {
  (input: string | URL | Request, init?: DetourRequestInit): Promise<Response>;
  /** The pool every request runs on: endpoints, health, statistics (`pool.snapshot()`), events. */
  readonly pool: Pool;
  /**
   * Rejects the requests in flight, stops the health checks and, unless it was given one,
   * closes the pool. Leaves no timer behind. Idempotent; later requests reject.
   */
  close(): void;
}

/**
 * The RequestInit fields passed through to the underlying fetch as they are. `dispatcher` is
 * undici's (and Node's fetch's) extension, so a custom Agent or interceptors keep working.
 */
const passThrough = [
  'cache',
  'credentials',
  'integrity',
  'keepalive',
  'mode',
  'priority',
  'referrer',
  'referrerPolicy',
  'dispatcher',
] as const;

/** The keys of `init.detour` (`DetourRequestOptions`). */
const detourKeys = new Set([...callPolicyKeys, 'key']);

/** A copy of the caller's headers (a later change of theirs reaches no attempt); none for none. */
function headersOf(given: HeadersInit | undefined): Headers | undefined {
  return given === undefined ? undefined : new Headers(given);
}

function discard(response: Response | undefined): void {
  response?.body?.cancel().catch(() => undefined);
}

/** What one request needs from its init (and its Request, when given one). */
interface PreparedRequest {
  readonly target: string;
  readonly method: string;
  /** The caller's headers, copied; undefined when it gave none. */
  readonly headers: Headers | undefined;
  readonly redirect: RequestRedirect;
  readonly signal: AbortSignal | undefined;
  /** The pass-through fields given; undefined when none was. */
  readonly rest: Record<string, unknown> | undefined;
  readonly detour: DetourRequestOptions | undefined;
  readonly bodySource: BodyInit | null | undefined;
}

class FetchHost {
  readonly pool: Pool;
  readonly #options: ResolvedFetchOptions;
  readonly #ownsPool: boolean;
  /** The endpoints' base URLs, parsed once. */
  readonly #bases = new BaseUrlCache();
  #closed = false;

  constructor(options: CreateFetchOptions) {
    const resolved = resolveFetchOptions(options);
    this.#options = resolved;
    this.#ownsPool = resolved.pool === undefined;
    this.pool = resolved.pool ?? this.#createPool(resolved);
  }

  #createPool(resolved: ResolvedFetchOptions): Pool {
    const poolOptions = resolved.poolOptions!;
    const check = resolved.healthCheck;
    if (!check) return createPool(poolOptions);
    const probe = httpHealthProbe({
      path: check.path,
      method: check.method,
      ...(check.expectedStatuses && { expectedStatuses: check.expectedStatuses }),
      ...(check.headers && { headers: check.headers }),
      fetch: resolved.fetch,
    });
    return createPool({
      ...poolOptions,
      detectors: [
        ...(poolOptions.detectors ?? defaultDetectors()),
        heartbeat({
          probe,
          intervalMs: check.intervalMs,
          timeoutMs: check.timeoutMs,
          healthyThreshold: check.healthyThreshold,
          unhealthyThreshold: check.unhealthyThreshold,
        }),
      ],
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) this.pool.close();
  }

  #prepare(input: string | URL | Request, init: DetourRequestInit | undefined): PreparedRequest {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : input instanceof URL ? input.href : `${input as string}`;
    const target = requestTarget(url, this.#options.service, () =>
      this.pool.members().map((record) => record.endpoint),
    );
    let rest: Record<string, unknown> | undefined;
    if (init !== undefined) {
      for (const key of passThrough) {
        const value = (init as Record<string, unknown>)[key];
        if (value !== undefined) (rest ??= {})[key] = value;
      }
    }
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    let bodySource: BodyInit | null | undefined = init?.body;
    if (bodySource === undefined && request?.body) bodySource = request.body;
    if (bodySource != null && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError(`Request with ${method} method cannot have body.`);
    }
    return {
      target,
      method,
      headers: headersOf(init?.headers ?? request?.headers),
      redirect: init?.redirect ?? request?.redirect ?? 'follow',
      signal: init?.signal ?? request?.signal ?? undefined,
      rest,
      detour: init?.detour,
      bodySource,
    };
  }

  #isIdempotent(prepared: PreparedRequest): boolean {
    const forced = prepared.detour?.idempotent;
    if (forced !== undefined) return forced;
    if (this.#options.idempotentMethods.has(prepared.method)) return true;
    const header = this.#options.idempotencyKeyHeader;
    return header !== undefined && prepared.headers?.has(header) === true;
  }

  async fetch(input: string | URL | Request, init?: DetourRequestInit): Promise<Response> {
    if (this.#closed) throw new TypeError('This detour fetch is closed');
    const prepared = this.#prepare(input, init);
    validate.knownKeys('detour', prepared.detour, detourKeys);
    prepared.signal?.throwIfAborted();
    // Without a body, no turn is spent waiting for one.
    const body =
      prepared.bodySource == null
        ? noBody()
        : await prepareBody(prepared.bodySource, this.#options.replayBufferBytes, prepared.signal);
    const call = new FetchCall(this.#options, prepared, body, this.#bases);
    const d = prepared.detour;
    // One object literal with every option (undefined: the pool's default), not a copy of
    // `detour` (`{ ...detour }`) that then grows: V8 builds and reads such a copy on a slow path
    // (`pnpm bench:core`, per-call options). The type makes a new option a compile error here.
    const execute: {
      [K in keyof Required<ExecuteOptions<Response>>]: ExecuteOptions<Response>[K];
    } = {
      maxAttempts: d?.maxAttempts,
      backoff: d?.backoff,
      immediateFailover: d?.immediateFailover,
      maxPushbackMs: d?.maxPushbackMs,
      deadlineMs: d?.deadlineMs,
      attemptTimeoutMs: d?.attemptTimeoutMs,
      idempotent: this.#isIdempotent(prepared),
      // An open stream feeds one attempt at a time.
      hedge: !body.whole && body.streamed ? false : d?.hedge,
      key: d?.key,
      signal: prepared.signal,
      classifier: call.classify,
    };
    try {
      return call.succeeded(await this.pool.execute(call.operation, execute));
    } catch (error) {
      return call.failed(error);
    } finally {
      body.release();
    }
  }
}

/** One request's attempts: their operation, their classification, and the response kept. */
class FetchCall {
  readonly #options: ResolvedFetchOptions;
  readonly #request: PreparedRequest;
  readonly #body: RequestBody;
  readonly #bases: BaseUrlCache;
  /** The latest response that failed (a 503…): returned if the call ends on it. */
  #failedResponse: Response | undefined;
  /** A retryable failure that was not retried because the body could not be sent again. */
  #blocked: Classification | undefined;

  constructor(
    options: ResolvedFetchOptions,
    request: PreparedRequest,
    body: RequestBody,
    bases: BaseUrlCache,
  ) {
    this.#options = options;
    this.#request = request;
    this.#body = body;
    this.#bases = bases;
  }

  readonly operation = (endpoint: Endpoint, attempt: AttemptContext): Promise<Response> => {
    const request = this.#request;
    const url = this.#bases.resolveHref(endpoint.address, request.target);
    // The caller's signal must also reach the body of the response it gets, after the call.
    const signal = request.signal
      ? AbortSignal.any([attempt.signal, request.signal])
      : attempt.signal;
    // The attempt's own init: fetchFollowingRedirects sets each hop's fields in it, and copies
    // the headers before a redirect drops any.
    const init: RequestInit = request.rest === undefined ? {} : { ...request.rest };
    init.method = request.method;
    if (request.headers) init.headers = request.headers;
    init.signal = signal;
    return fetchFollowingRedirects(this.#options.fetch, url, init, this.#body, {
      mode: request.redirect,
    });
  };

  readonly classify: Classifier<Response> = (result) => {
    let c = this.#options.classifier(result);
    if (c.type === 'failure') {
      if (result.ok) {
        if (this.#failedResponse !== result.value) discard(this.#failedResponse);
        this.#failedResponse = result.value;
      }
      if (c.retryable && !this.#body.canReplay()) {
        this.#blocked = c;
        c = { ...c, retryable: false };
      }
    } else if (c.type === 'ignore' && result.ok) {
      discard(result.value);
    }
    return c;
  };

  succeeded(response: Response): Response {
    if (this.#failedResponse !== response) discard(this.#failedResponse);
    return response;
  }

  failed(error: unknown): Response {
    const response = this.#failedResponse;
    if (this.#blocked) {
      discard(response);
      throw new BodyNotReplayableError(this.#options.replayBufferBytes, undefined, {
        cause: error,
      });
    }
    if (error instanceof CallFailedError) {
      // The call ended on a response (a 503 after every retry, a 500): the caller gets it, as
      // from fetch. Not when a later attempt failed otherwise (a network error or a timeout has
      // a code that is a string, not a status).
      const last = error.attempts.filter((a) => a.outcome !== 'cancelled').at(-1);
      if (response && last?.code === response.status) {
        return response;
      }
      discard(response);
      throw new FetchFailedError(error);
    }
    discard(response);
    throw error;
  }
}

/**
 * Makes a fetch that fails over across the replicas of a service. Validates every option now:
 * a bad value throws `DetourConfigError` naming it.
 */
export function createFetch(options: CreateFetchOptions): DetourFetch {
  const host = new FetchHost(options);
  const detourFetch = (input: string | URL | Request, init?: DetourRequestInit) =>
    host.fetch(input, init);
  return Object.defineProperties(detourFetch, {
    pool: { value: host.pool, enumerable: true },
    close: { value: () => host.close(), enumerable: true },
  }) as DetourFetch;
}
