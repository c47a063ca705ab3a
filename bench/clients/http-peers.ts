/**
 * Two HTTP peers of detour-fetch in the benchmark, both calling `GET /hello?name=bench` on the
 * replicas' base URLs with no proxy in between:
 *
 * - `fetch-naive`: the failover loop over base URLs that many codebases hand-write.
 * - `undici-balanced-retry`: undici's own answer, a `BalancedPool` (weighted round robin over the
 *   upstreams, weights lowered on connection errors) composed with the `retry` interceptor.
 *
 * Also what the HTTP clients share (nginx.ts too): the path they call, and how an answer or an
 * error becomes a `CallResult`.
 */
import type { BenchClientFactory, CallResult } from '../harness/types.js';

/** The call every HTTP client makes (path and query, appended to a base URL). */
export const helloPath = '/hello?name=bench';

/**
 * The `CallResult` code of a failed call: `HTTP <status>` for an answer that was not 2xx (also
 * when undici's retry interceptor gives up on one), else the cause's code (`fetch` wraps network
 * errors in `TypeError('fetch failed', { cause })`), the error's string code (`ECONNREFUSED`,
 * `UND_ERR_SOCKET`…), or its name (`TimeoutError` from `AbortSignal.timeout`, `AbortError`).
 */
export function failureCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const e = error as { statusCode?: unknown; code?: unknown; name?: unknown; cause?: unknown };
  if (typeof e.statusCode === 'number') return `HTTP ${e.statusCode}`;
  const cause = e.cause as { code?: unknown } | undefined;
  if (typeof cause?.code === 'string') return cause.code;
  // DOMException's `code` is a legacy number (23 for TimeoutError): its name says more.
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'Error';
}

/** The replica named in a `/hello` JSON reply. */
export function replicaOf(reply: unknown): CallResult {
  const replica = (reply as { replica?: unknown } | null)?.replica;
  return typeof replica === 'string' ? { replica } : { code: 'BAD_REPLY' };
}

/**
 * Resolves `work`, or `{ code: <the signal's reason> }` as soon as `signal` aborts, whichever
 * comes first; `work` must not reject. For clients whose own abort handling can lag behind the
 * signal (see `undiciBalancedRetry`), so that every call ends by its deadline.
 */
function byDeadline(signal: AbortSignal, work: Promise<CallResult>): Promise<CallResult> {
  if (signal.aborted) return Promise.resolve({ code: failureCode(signal.reason) });
  return new Promise((resolve) => {
    const onAbort = (): void => resolve({ code: failureCode(signal.reason) });
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then((result) => {
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    });
  });
}

/**
 * `fetch-naive`: what many codebases do. Each call starts at the next base URL (round robin) and
 * walks the list once, moving on after a network error or a 5xx; the first 2xx wins. One
 * `AbortSignal.timeout` covers the whole call. No per-attempt timeout (a frozen replica eats the
 * whole deadline), no health checks, no ejection: a dead replica is tried by every call that
 * reaches it.
 */
export const fetchNaive: BenchClientFactory = (replicas) => {
  const baseUrls = replicas.map((r) => r.httpUrl);
  let next = 0;
  const send = async (deadlineMs: number): Promise<CallResult> => {
    const signal = AbortSignal.timeout(deadlineMs);
    const start = next;
    next = (next + 1) % baseUrls.length;
    let last: CallResult = { code: 'NO_BASE_URL' };
    for (let i = 0; i < baseUrls.length; i++) {
      try {
        const response = await fetch(baseUrls[(start + i) % baseUrls.length] + helloPath, {
          signal,
        });
        if (response.ok) return replicaOf(await response.json());
        await response.body?.cancel();
        last = { code: `HTTP ${response.status}` };
        if (response.status < 500) return last;
      } catch (error) {
        last = { code: failureCode(error) };
        if (signal.aborted) return last;
      }
    }
    return last;
  };
  return Promise.resolve({
    name: 'fetch-naive',
    transport: 'http',
    send,
    close: () => Promise.resolve(),
  });
};

/**
 * Per-attempt timeouts, in ms: a connection must be up within `connectTimeout` and the answer's
 * headers (then each body chunk) must arrive within `headersTimeout` (`bodyTimeout`), else the
 * attempt fails and is retried elsewhere. 300 ms is detour's `attemptTimeoutMs` in the benchmark
 * and nginx's `proxy_connect_timeout`/`proxy_read_timeout` (bench/clients/nginx.ts), so that a
 * frozen replica costs every client the same per attempt. undici's defaults (10 s connect, 300 s
 * headers and body) would let a frozen replica hold each call until its deadline.
 */
const attemptTimeoutMs = 300;

/**
 * `undici-balanced-retry`: undici 7's `BalancedPool` over the replicas' origins, composed with
 * undici's retry interceptor, called with `request()`. How they work together (undici 7.30
 * `lib/handler/retry-handler.js`, `lib/dispatcher/balanced-pool.js`):
 *
 * - The interceptor re-dispatches each retry through the dispatcher below it, the BalancedPool,
 *   whose weighted round robin picks an upstream again: usually the next one, but nothing rules
 *   out the one that just failed when calls run concurrently.
 * - BalancedPool only learns from connections: weight + `errorPenalty` (15) on each connect, −15
 *   on a connection error or a socket error, floor 1, max `maxWeightPerServer` (100). A replica
 *   answering 503 or hanging keeps its full weight, so only the retries route around it.
 * - The backoff wait between attempts does not watch the call's signal (an abort is noticed at
 *   the next attempt's dispatch), so `send` also races the signal (`byDeadline`).
 *
 * Retry settings, for three replicas where each retry goes to another one:
 * - `maxRetries` 2: three attempts, one per replica, as nginx's `proxy_next_upstream_tries 3`.
 * - `minTimeout` 25, `timeoutFactor` 2, `maxTimeout` 250 (ms): Envoy's retry back-off (25 ms base,
 *   10× max), also detour's default ceilings. undici's defaults (500 ms, ×2, 30 s) would spend a
 *   1 s deadline on two waits; undici has no jitter.
 * - `statusCodes` 500, 502, 503, 504: the server errors worth another replica. 429 (in undici's
 *   default list) is left out: it is a rate limit, not a sick replica.
 * - `errorCodes`: undici's default list (connection refused, reset, socket errors…) plus the three
 *   per-attempt timeouts above, so a frozen replica is retried elsewhere too.
 * - `methods` GET and HEAD: the calls are GETs, idempotent (RFC 9110 §9.2.2).
 */
export const undiciBalancedRetry: BenchClientFactory = async (replicas) => {
  // Loaded here, not at the top: importing undici installs its Agent as the global dispatcher
  // when none is set (undici 7, lib/global.js), and Node's own fetch then sends through it. The
  // fetch clients must run on Node's fetch as it comes.
  const { BalancedPool, interceptors } = await import('undici');
  const pool = new BalancedPool(
    replicas.map((r) => r.httpUrl),
    {
      connectTimeout: attemptTimeoutMs,
      headersTimeout: attemptTimeoutMs,
      bodyTimeout: attemptTimeoutMs,
    },
  );
  const dispatcher = pool.compose(
    interceptors.retry({
      maxRetries: 2,
      minTimeout: 25,
      timeoutFactor: 2,
      maxTimeout: 250,
      statusCodes: [500, 502, 503, 504],
      errorCodes: [
        'ECONNRESET',
        'ECONNREFUSED',
        'ENOTFOUND',
        'ENETDOWN',
        'ENETUNREACH',
        'EHOSTDOWN',
        'EHOSTUNREACH',
        'EPIPE',
        'UND_ERR_SOCKET',
        'UND_ERR_CONNECT_TIMEOUT',
        'UND_ERR_HEADERS_TIMEOUT',
        'UND_ERR_BODY_TIMEOUT',
      ],
      methods: ['GET', 'HEAD'],
    }),
  );
  // The pool picks the upstream; `origin` only has to be a valid one.
  const origin = replicas[0]?.httpUrl ?? 'http://127.0.0.1';
  const attempt = async (signal: AbortSignal): Promise<CallResult> => {
    try {
      const { statusCode, body } = await dispatcher.request({
        origin,
        path: helloPath,
        method: 'GET',
        signal,
      });
      if (statusCode >= 200 && statusCode < 300) return replicaOf(await body.json());
      await body.dump();
      return { code: `HTTP ${statusCode}` };
    } catch (error) {
      return { code: failureCode(error) };
    }
  };
  return {
    name: 'undici-balanced-retry',
    transport: 'http',
    send(deadlineMs) {
      const signal = AbortSignal.timeout(deadlineMs);
      return byDeadline(signal, attempt(signal));
    },
    close: () => pool.close(),
  };
};
