/**
 * Classifier contract. The adapter knows its protocol; core does not. For every settled
 * attempt the adapter's classifier says what happened, in protocol-free terms, and `execute()`
 * decides from that alone whether to retry, hedge, fail over or give up.
 */

/** How an attempt settled, as seen by `execute()`. */
export type AttemptResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export type Classification =
  /** An acceptable result: the call ends with it. */
  | { readonly type: 'success' }
  /** The endpoint failed the attempt. */
  | {
      readonly type: 'failure';
      /** Another attempt could succeed (UNAVAILABLE, 503, connection refused). */
      readonly retryable: boolean;
      /**
       * Whether the server may have processed the request. `false` only when it certainly did
       * not (connection refused, REFUSED_STREAM, a request that never left the client): such a
       * call may be retried even when it is not idempotent (gRPC's transparent retry).
       * Default true.
       */
      readonly processed?: boolean;
      /**
       * Server pushback in ms (gRPC `grpc-retry-pushback-ms`, HTTP Retry-After): wait this long
       * before the next attempt. A negative value means "do not retry".
       */
      readonly pushbackMs?: number;
      /** What to record against the endpoint. Default `error`. */
      readonly kind?: 'error' | 'timeout' | 'rejected';
      /** Protocol status for the fault log and the error (gRPC code name, HTTP status). */
      readonly code?: string | number;
      readonly message?: string;
      /**
       * Whether the failure says something about the endpoint. False for failures the caller
       * caused (INVALID_ARGUMENT, 404): they end the call without counting against the endpoint.
       * Default true.
       */
      readonly endpointFault?: boolean;
    }
  /** Neither success nor failure of the endpoint (the caller cancelled); never retried. */
  | { readonly type: 'ignore' };

export type Classifier<T> = (result: AttemptResult<T>) => Classification;

const success: Classification = Object.freeze({ type: 'success' });

/** The default: a resolved promise is a success, a rejection a retryable failure that may have been processed. */
export function defaultClassifier(result: AttemptResult<unknown>): Classification {
  if (result.ok) return success;
  const error = result.error as { message?: unknown; code?: unknown } | null;
  return {
    type: 'failure',
    retryable: true,
    message: typeof error?.message === 'string' ? error.message : String(result.error),
    code:
      typeof error?.code === 'string' || typeof error?.code === 'number' ? error.code : undefined,
  };
}
