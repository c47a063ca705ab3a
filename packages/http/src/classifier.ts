/**
 * The HTTP classifier: turns how one fetch attempt ended (a `Response`, or the error fetch
 * rejected with) into core's protocol-free `Classification`.
 *
 * Defaults, for a Response (fetch resolves with a response of any status):
 * - 408, 429, 502, 503, 504 (`defaultRetryStatuses`): retryable, `processed: true` (the server
 *   answered, so it had the request). `kind` is `rejected` for 429 and for a 503 with a valid
 *   Retry-After (the server is shedding load and said when to come back), `timeout` for 408 and
 *   504, `error` otherwise. A valid `Retry-After` (delay-seconds or an HTTP-date, see
 *   `parseRetryAfter`) becomes `pushbackMs`; it is not capped here: core's
 *   `call.maxPushbackMs` (default 30 s) refuses to wait longer and ends the call instead.
 * - Any other 5xx (500, 501, 505…): a failure of the endpoint that is not retried (the server
 *   processed the request and failed it; doing it again is the application's call). The caller
 *   still gets the response: the fetch adapter returns the last response rather than an error.
 * - Everything else (1xx–4xx, and 3xx with `redirect: 'manual'`): success. A 404 or a 400 is
 *   the caller's business and says nothing bad about the endpoint.
 * - A `Response.error()` (type `error`, status 0, from a custom fetch): a network error that
 *   may have been processed.
 *
 * A Response is classified when its headers arrive, before the caller reads the body: a
 * connection that breaks mid-body makes `response.text()` (or the body stream) reject later,
 * with undici's `TypeError('terminated')` whose cause is the network error (`UND_ERR_SOCKET`,
 * `ECONNRESET`, `UND_ERR_BODY_TIMEOUT`). The classifier gives that error the same verdict as a
 * network error of fetch itself, should an adapter that reads the body pass it in.
 *
 * Defaults, for a rejection:
 * - A network error (`isNetworkError`: an errno or undici code anywhere in the `cause` chain,
 *   such as Node 20's `TypeError('fetch failed')` caused by `connect ECONNREFUSED`): retryable,
 *   with that code. `processed: false` only when the request certainly never left the client:
 *   no connection was made (refused, DNS failure, connect timeout, no route, TLS handshake
 *   refused). A reset, a closed socket or a headers timeout may come after the server got the
 *   request: processed. `kind` is `timeout` for the timeout codes, else `error`.
 * - An `AbortError` or `TimeoutError` (the attempt's signal aborted: the caller cancelled, or
 *   core ended the attempt): ignored, never retried.
 * - Anything else (an invalid header or URL, an unknown scheme, a blocked port, a bug in a
 *   custom fetch): a failure of the caller (`endpointFault: false`), not retried.
 *
 * Spec: RFC 9110 §15 (status codes, https://www.rfc-editor.org/rfc/rfc9110#status.codes),
 * §10.2.3 (Retry-After), RFC 6585 §4 (429); undici's errors,
 * https://github.com/nodejs/undici/blob/main/docs/docs/api/Errors.md
 */
import type { AttemptResult, Classification, Classifier } from '@detour/core';
import { DetourConfigError, validate } from '@detour/core';
import { parseRetryAfter } from './retry-after.js';

/**
 * Statuses after which another attempt may succeed: 408 Request Timeout, 429 Too Many Requests,
 * 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout. The same set as ky and got,
 * without 500 (undici's RetryAgent includes it): an Internal Server Error is most often the
 * application failing this request, and would fail again.
 */
export const defaultRetryStatuses: readonly number[] = Object.freeze([408, 429, 502, 503, 504]);

export interface HttpClassifierOptions {
  /**
   * Response statuses after which another attempt may succeed (integers 100–599). Replaces
   * `defaultRetryStatuses`. Whether a retry happens is still core's decision (idempotency,
   * attempts, budget, deadline).
   */
  readonly retryStatuses?: readonly number[];
  /**
   * Whether network errors (refused, reset, DNS failure…) are retryable. False still counts them
   * against the endpoint but ends the call. Default true.
   */
  readonly retryNetworkErrors?: boolean;
  /**
   * Wall-clock time in ms since the Unix epoch, for `Retry-After` HTTP-dates. Called only when a
   * retry status carries a `Retry-After`. Default `Date.now`.
   */
  readonly now?: () => number;
}

/** What `isNetworkError` found. */
export interface NetworkErrorInfo {
  /** The errno or undici code (`ECONNREFUSED`, `UND_ERR_SOCKET`…). */
  readonly code: string;
  /**
   * False only when the request certainly never left the client (no connection was made);
   * true when the server may have received it.
   */
  readonly sent: boolean;
}

const optionKeys = ['retryStatuses', 'retryNetworkErrors', 'now'];

/**
 * Codes raised before a connection exists: the request was not sent. Node's `net`/`dns` codes
 * (connection refused; DNS `ENOTFOUND`, `EAI_AGAIN`, `EAI_FAIL`; no route; no local address),
 * undici's `UND_ERR_CONNECT_TIMEOUT`, and TLS handshake failures (Node's `ERR_TLS_*` and
 * OpenSSL's certificate verification codes, such as `DEPTH_ZERO_SELF_SIGNED_CERT`).
 */
const connectCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
]);

/**
 * Codes of a connection that failed after it was made: the server may have the request. Resets
 * and broken pipes; undici's `UND_ERR_SOCKET` (`other side closed`), headers and body timeouts,
 * and a body shorter than its Content-Length; `ETIMEDOUT` (unless raised by `connect`); `EPROTO`
 * (a TLS failure that can also happen mid-stream).
 */
const connectionCodes: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'ENETRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EPROTO',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

const timeoutCodes: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);

/** System calls on an established socket: a "connect" code raised by one of these was sent. */
const socketIoCalls: ReadonlySet<string> = new Set(['read', 'write', 'writev', 'shutdown']);

/** Reason phrases (RFC 9110 §15, RFC 6585) for responses without one (HTTP/2 has none). */
const reasonPhrases: Readonly<Record<number, string>> = {
  408: 'Request Timeout',
  425: 'Too Early',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** Links of a `cause` chain followed at most: undici's go three deep. */
const maxChainLength = 8;

/**
 * The HTTP classifier; see the file comment for the defaults. Bad options throw
 * `DetourConfigError` naming `classifier.<option>`.
 *
 * ```ts
 * const classifier = httpClassifier({ retryStatuses: [...defaultRetryStatuses, 500] });
 * ```
 */
export function httpClassifier(options?: HttpClassifierOptions): Classifier<Response> {
  const path = 'classifier';
  if (
    options !== undefined &&
    (typeof options !== 'object' || options === null || Array.isArray(options))
  ) {
    throw new DetourConfigError(path, options, 'must be an object or undefined');
  }
  validate.knownKeys(path, options, optionKeys);
  const retryStatuses = statusSet(`${path}.retryStatuses`, options?.retryStatuses);
  const retryNetworkErrors = validate.boolean(
    `${path}.retryNetworkErrors`,
    options?.retryNetworkErrors,
    true,
  );
  const now =
    options?.now === undefined ? Date.now : validate.func<() => number>(`${path}.now`, options.now);

  const classifyResponse = (response: Response): Classification => {
    const { status } = response;
    if (response.type === 'error') {
      return {
        type: 'failure',
        retryable: retryNetworkErrors,
        processed: true,
        code: status,
        message: 'Network error (a Response of type "error")',
      };
    }
    const retryable = retryStatuses.has(status);
    if (!retryable && (status < 500 || status > 599)) return { type: 'success' };
    const message = statusMessage(response);
    if (!retryable) {
      return {
        type: 'failure',
        retryable: false,
        processed: true,
        code: status,
        message,
        endpointFault: true,
      };
    }
    const retryAfter = response.headers.get('retry-after');
    const pushbackMs = retryAfter === null ? undefined : parseRetryAfter(retryAfter, now());
    return {
      type: 'failure',
      retryable: true,
      processed: true,
      ...(pushbackMs === undefined ? {} : { pushbackMs }),
      kind:
        status === 429 || (status === 503 && pushbackMs !== undefined)
          ? 'rejected'
          : status === 408 || status === 504
            ? 'timeout'
            : 'error',
      code: status,
      message,
    };
  };

  return (result: AttemptResult<Response>): Classification => {
    if (result.ok) return classifyResponse(result.value);
    const { error } = result;
    if (isAbort(error)) return { type: 'ignore' };
    const network = findNetworkError(error);
    if (network) {
      return {
        type: 'failure',
        retryable: retryNetworkErrors,
        processed: network.sent,
        kind: timeoutCodes.has(network.code) ? 'timeout' : 'error',
        code: network.code,
        message: network.message,
      };
    }
    return {
      type: 'failure',
      retryable: false,
      code: firstCode(error),
      message: chainMessage(error, undefined),
      endpointFault: false,
    };
  };
}

/**
 * The network error in `error` or its `cause` chain (and, for an `AggregateError`, the errors it
 * groups, as Node's happy-eyeballs connect makes): its code and whether the request may have
 * been sent. Undefined when `error` is not a network error. Recognizes:
 * - errno and undici codes (`code` property) of a failed connection: see the file comment;
 *   a "not sent" code raised by a socket read or write (`syscall` `read`, `write`…) counts as
 *   sent, and `ETIMEDOUT` as not sent only when raised by `connect`;
 * - undici's HTTP parser errors (`HPE_*`: the server answered with something that is not
 *   HTTP/1.1), sent;
 * - undici's shapes without a known code: a `SocketError` or an `other side closed` error
 *   (`UND_ERR_SOCKET`), and a bare `TypeError('terminated')` (code `terminated`), both sent.
 */
export function isNetworkError(error: unknown): NetworkErrorInfo | undefined {
  const found = findNetworkError(error);
  return found && { code: found.code, sent: found.sent };
}

interface FoundNetworkError extends NetworkErrorInfo {
  readonly message: string;
}

function findNetworkError(error: unknown): FoundNetworkError | undefined {
  let terminated = false;
  for (const link of chain(error)) {
    const { code, syscall, name, message } = link as {
      code?: unknown;
      syscall?: unknown;
      name?: unknown;
      message?: unknown;
    };
    if (typeof code === 'string') {
      const io = typeof syscall === 'string' && socketIoCalls.has(syscall);
      if (connectCodes.has(code)) {
        return { code, sent: io, message: chainMessage(error, link) };
      }
      if (connectionCodes.has(code)) {
        const sent = !(code === 'ETIMEDOUT' && syscall === 'connect');
        return { code, sent, message: chainMessage(error, link) };
      }
      if (code.startsWith('HPE_')) {
        // undici's HTTP parser: the server answered with something that is not HTTP/1.1.
        return { code, sent: true, message: chainMessage(error, link) };
      }
    }
    if (name === 'SocketError' || message === 'other side closed') {
      return { code: 'UND_ERR_SOCKET', sent: true, message: chainMessage(error, link) };
    }
    if (name === 'TypeError' && message === 'terminated') terminated = true;
  }
  if (terminated)
    return { code: 'terminated', sent: true, message: chainMessage(error, undefined) };
  return undefined;
}

/** `error`, its causes and the errors of any AggregateError on the way, depth first. */
function chain(error: unknown): object[] {
  const links: object[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if (links.length >= maxChainLength || links.includes(value)) return;
    links.push(value);
    const { cause, errors } = value as { cause?: unknown; errors?: unknown };
    if (Array.isArray(errors)) for (const item of errors as unknown[]) visit(item);
    visit(cause);
  };
  visit(error);
  return links;
}

/**
 * The messages of the chain from `error` down to `last` (or to its end), joined with `: ` and
 * without repeats: `fetch failed: connect ECONNREFUSED 127.0.0.1:8080`.
 */
function chainMessage(error: unknown, last: object | undefined): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const parts: string[] = [];
  let link: unknown = error;
  for (let i = 0; i < maxChainLength && typeof link === 'object' && link !== null; i++) {
    const { message, name, cause } = link as { message?: unknown; name?: unknown; cause?: unknown };
    const text = typeof message === 'string' && message !== '' ? message : name;
    if (typeof text === 'string' && text !== '' && !parts.includes(text)) parts.push(text);
    if (link === last) break;
    link = cause;
  }
  if (last !== undefined && !isInCauses(error, last)) {
    const { message } = last as { message?: unknown };
    if (typeof message === 'string' && !parts.includes(message)) parts.push(message);
  }
  return parts.length > 0 ? parts.join(': ') : Object.prototype.toString.call(error);
}

function isInCauses(error: object, target: object): boolean {
  let link: unknown = error;
  for (let i = 0; i < maxChainLength && typeof link === 'object' && link !== null; i++) {
    if (link === target) return true;
    link = (link as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The first string or number `code` in the chain (`ERR_INVALID_URL`…); a DOMException's name
 * (its numeric `code` is a legacy constant).
 */
function firstCode(error: unknown): string | number | undefined {
  for (const link of chain(error)) {
    if (link instanceof DOMException) return link.name;
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return code;
  }
  return undefined;
}

/**
 * An abort: the DOMException fetch rejects with when its signal aborts (`AbortError`, or
 * `TimeoutError` from `AbortSignal.timeout()`), or an error named alike (core's own, another
 * realm's DOMException).
 */
function isAbort(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** `503 Service Unavailable`: the server's reason phrase, else the standard one, else the status. */
function statusMessage(response: Response): string {
  const phrase = response.statusText || reasonPhrases[response.status];
  return phrase ? `${response.status} ${phrase}` : String(response.status);
}

function statusSet(option: string, value: unknown): ReadonlySet<number> {
  if (value === undefined) return new Set(defaultRetryStatuses);
  if (!Array.isArray(value)) {
    throw new DetourConfigError(option, value, 'must be an array of HTTP statuses (100-599)');
  }
  const statuses = new Set<number>();
  value.forEach((item: unknown, i) => {
    if (!Number.isInteger(item) || (item as number) < 100 || (item as number) > 599) {
      throw new DetourConfigError(`${option}[${i}]`, item, 'must be an HTTP status (100-599)');
    }
    statuses.add(item as number);
  });
  return statuses;
}
