/**
 * The gRPC classifier: turns how one attempt ended (a value, or a `GrpcAttemptError` with its
 * status, trailers and what had arrived before) into core's protocol-free `Classification`.
 *
 * Defaults, per status code (the reasons are in README.classifier-health.md):
 * - OK: success.
 * - Retryable: UNAVAILABLE, DEADLINE_EXCEEDED (kind `timeout`), CANCELLED from the server (a
 *   server shutting down resets its streams with CANCEL; `Cancelled on client` is ignored).
 * - RESOURCE_EXHAUSTED (kind `rejected`): retryable only with a valid `grpc-retry-pushback-ms`
 *   (the server said when to come back); without one it is most often a rate limiter.
 * - Everything else is not retried. INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
 *   PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION, ABORTED and OUT_OF_RANGE are the
 *   caller's (`endpointFault: false`); UNIMPLEMENTED, UNKNOWN, INTERNAL and DATA_LOSS count
 *   against the endpoint.
 *
 * `processed: false` (gRPC transparent retry, gRFC A6: the request never reached the server
 * application, so even a call that is not idempotent may go again) only for UNAVAILABLE without
 * response headers whose details are one of grpc-js's "never sent" statuses: no connection
 * (connection refused, TLS or DNS failure), `Stream refused by server` (RST_STREAM
 * REFUSED_STREAM, which is also what a stream caught by a shutting-down server's GOAWAY
 * becomes), a channel closed before the call started. `Connection dropped` and every status
 * that came with headers may have been processed.
 *
 * Pushback (gRFC A6, `grpc-retry-pushback-ms`, on any code): a non-negative integer becomes
 * `pushbackMs`; a negative or malformed value becomes -1, which tells core not to retry. Core
 * caps pushback with its own `maxPushbackMs`.
 *
 * Spec: https://grpc.github.io/grpc/core/md_doc_statuscodes.html,
 * https://github.com/grpc/proposal/blob/master/A6-client-retries.md
 */
import type { AttemptResult, Classification, Classifier } from '@detour/core';
import { DetourConfigError, defaultClassifier } from '@detour/core';
import type { Metadata, status as Status } from '@grpc/grpc-js';
import { GrpcAttemptError } from './grpc-attempt-error.js';

/** gRPC status code names, indexed by code (fixed by the gRPC spec). */
const statusNames = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export type GrpcStatusName = (typeof statusNames)[number];

/** A status code: grpc-js's `status` enum (nice-grpc's `Status` has the same numbers) or its name. */
export type GrpcStatusCode = Status | GrpcStatusName;

const OK = 0;
const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;

export interface GrpcClassifierOptions {
  /**
   * Codes after which another attempt may succeed. Replaces the default set: UNAVAILABLE,
   * DEADLINE_EXCEEDED and CANCELLED (from the server; a client-side cancel is always ignored).
   * Whether a retry happens is still core's decision (idempotency, attempts, budget, deadline).
   */
  readonly retryableCodes?: readonly GrpcStatusCode[];
  /**
   * Codes that are retryable only when the server sends a valid `grpc-retry-pushback-ms`
   * (gRFC A6): a server that says when to come back is shedding load for a while, one without
   * it is usually a rate limiter or quota that a retry would only hit again. Replaces the
   * default set: RESOURCE_EXHAUSTED.
   */
  readonly pushbackRetryableCodes?: readonly GrpcStatusCode[];
  /**
   * Codes the caller caused: they end the call without counting against the endpoint
   * (`endpointFault: false`). Replaces the default set: INVALID_ARGUMENT, NOT_FOUND,
   * ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION, ABORTED,
   * OUT_OF_RANGE.
   */
  readonly nonEndpointFaultCodes?: readonly GrpcStatusCode[];
}

const defaultRetryable: readonly GrpcStatusName[] = [
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
];
const defaultPushbackRetryable: readonly GrpcStatusName[] = ['RESOURCE_EXHAUSTED'];
const defaultNonEndpointFault: readonly GrpcStatusName[] = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
];

const optionKeys = ['retryableCodes', 'pushbackRetryableCodes', 'nonEndpointFaultCodes'];

/**
 * Details with which grpc-js 1.14 ends an attempt that never reached the server application.
 * The first two are checked against real servers in classifier.test.ts (connection refused, a
 * server shut down, RST_STREAM REFUSED_STREAM, a call racing `tryShutdown`); the others are
 * taken from grpc-js's source.
 */
const notSentDetails: readonly RegExp[] = [
  // The LB policy has no READY connection: connection refused, TLS handshake or connect failure
  // (pick_first: "No connection established. Last error: …"; round_robin, weighted_round_robin
  // prefix their name; the bare form comes from grpc-js's UnavailablePicker).
  /No connection established/,
  // RST_STREAM REFUSED_STREAM: the server refused the stream before the application saw it. A
  // stream caught by the GOAWAY of a server that is shutting down ends this way too.
  /^Stream refused by server$/,
  // The client channel was closed before the call started.
  /^Channel closed before call started$/,
  // A call straight on a subchannel (`endpoint-subchannel.ts`) whose connection closed before
  // its stream was made (detour's status when grpc-js's start threw).
  /^detour: the connection closed before the call started/,
  // Name resolution found no address (dns resolver; ip resolver).
  /^Name resolution failed/,
  /^Failed to parse .*address/,
];

/** grpc-js's details for `call.cancel()`: the client cancelled; nothing to say about the endpoint. */
const clientCancelDetails = 'Cancelled on client';

/** The gRPC classifier; see the file comment for the defaults. Bad options throw `DetourConfigError`. */
export function grpcClassifier(options?: GrpcClassifierOptions): Classifier<unknown> {
  const path = 'grpcClassifier';
  if (
    options !== undefined &&
    (typeof options !== 'object' || options === null || Array.isArray(options))
  ) {
    throw new DetourConfigError(path, options, 'must be an object or undefined');
  }
  for (const key of Object.keys(options ?? {})) {
    if (!optionKeys.includes(key)) {
      throw new DetourConfigError(
        `${path}.${key}`,
        (options as Record<string, unknown>)[key],
        'is not a known option',
      );
    }
  }
  const retryable = codeSet(`${path}.retryableCodes`, options?.retryableCodes, defaultRetryable);
  const pushbackRetryable = codeSet(
    `${path}.pushbackRetryableCodes`,
    options?.pushbackRetryableCodes,
    defaultPushbackRetryable,
  );
  const nonEndpointFault = codeSet(
    `${path}.nonEndpointFaultCodes`,
    options?.nonEndpointFaultCodes,
    defaultNonEndpointFault,
  );

  return (result: AttemptResult<unknown>): Classification => {
    if (result.ok) return { type: 'success' };
    const status = toStatus(result.error);
    if (status === undefined) return defaultClassifier(result);

    const { code, details } = status;
    if (code === CANCELLED && details === clientCancelDetails) return { type: 'ignore' };
    const name = statusName(code);
    if (code === OK) {
      // An attempt cannot fail with OK; a transport that says so has lost the response.
      return {
        type: 'failure',
        retryable: false,
        code: name,
        message: details,
        endpointFault: false,
      };
    }
    // Codes outside the spec's range are handled as UNKNOWN (grpc-js passes them through).
    const policyCode = code < statusNames.length ? code : UNKNOWN;
    const pushbackMs = status.metadata ? parsePushback(status.metadata) : undefined;
    const isRetryable =
      retryable.has(policyCode) ||
      (pushbackMs !== undefined && pushbackMs >= 0 && pushbackRetryable.has(policyCode));
    const processed = !(
      code === UNAVAILABLE &&
      !status.headersReceived &&
      notSentDetails.some((pattern) => pattern.test(details))
    );
    return {
      type: 'failure',
      retryable: isRetryable,
      processed,
      ...(pushbackMs === undefined ? {} : { pushbackMs }),
      kind:
        code === DEADLINE_EXCEEDED ? 'timeout' : code === RESOURCE_EXHAUSTED ? 'rejected' : 'error',
      code: name,
      message: details,
      endpointFault: !nonEndpointFault.has(policyCode),
    };
  };
}

/**
 * The value of `grpc-retry-pushback-ms` in `metadata` (gRFC A6): undefined when absent, a
 * non-negative integer (ms) to wait, or -1 ("do not retry") for a negative or malformed value.
 * A repeated header (grpc-js joins repeats into one comma-separated value) takes the strictest
 * instruction: -1 if any value is negative or malformed, else the longest wait.
 */
export function parsePushback(metadata: Metadata): number | undefined {
  const values = metadata.get('grpc-retry-pushback-ms');
  if (values.length === 0) return undefined;
  let longest = 0;
  for (const value of values) {
    if (typeof value !== 'string') return -1;
    for (const part of value.split(',')) {
      const text = part.trim();
      if (!/^\d+$/.test(text)) return -1;
      const ms = Number(text);
      if (!Number.isFinite(ms)) return -1;
      longest = Math.max(longest, ms);
    }
  }
  return longest;
}

interface StatusView {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata | undefined;
  readonly headersReceived: boolean;
}

/**
 * The status of a `GrpcAttemptError`, or of a grpc-js `ServiceError` (a numeric `code` and
 * string `details`; response headers unknown, taken as not received: the "never sent" details
 * imply as much). Undefined for any other error.
 */
function toStatus(error: unknown): StatusView | undefined {
  if (error instanceof GrpcAttemptError) {
    return {
      code: error.code,
      details: error.details,
      metadata: error.metadata,
      headersReceived: error.headersReceived || error.messagesReceived > 0,
    };
  }
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    code?: unknown;
    details?: unknown;
    metadata?: unknown;
    headersReceived?: unknown;
  };
  if (typeof e.code !== 'number' || !Number.isInteger(e.code) || e.code < 0) return undefined;
  if (typeof e.details !== 'string') return undefined;
  const metadata =
    typeof e.metadata === 'object' &&
    e.metadata !== null &&
    typeof (e.metadata as { get?: unknown }).get === 'function'
      ? (e.metadata as Metadata)
      : undefined;
  return {
    code: e.code,
    details: e.details,
    metadata,
    headersReceived: e.headersReceived === true,
  };
}

/** The code's name, or the number itself for a code outside the spec. */
function statusName(code: number): string | number {
  return statusNames[code] ?? code;
}

function codeSet(
  option: string,
  value: unknown,
  fallback: readonly GrpcStatusName[],
): ReadonlySet<number> {
  const list = value === undefined ? fallback : value;
  if (!Array.isArray(list)) {
    throw new DetourConfigError(option, value, 'must be an array of gRPC status codes');
  }
  const codes = new Set<number>();
  list.forEach((item: unknown, i) => {
    const code = typeof item === 'string' ? (statusNames as readonly string[]).indexOf(item) : item;
    if (
      typeof code !== 'number' ||
      !Number.isInteger(code) ||
      code < 1 ||
      code >= statusNames.length
    ) {
      throw new DetourConfigError(
        `${option}[${i}]`,
        item,
        'must be a gRPC failure status code (1-16) or its name, such as "UNAVAILABLE"',
      );
    }
    codes.add(code);
  });
  return codes;
}
