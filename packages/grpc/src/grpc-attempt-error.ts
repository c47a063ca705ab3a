/**
 * How one gRPC attempt failed, as the detour channel hands it to the classifier: the status the
 * attempt ended with, and what had crossed the wire before (response headers, messages), which
 * tells whether the server may have processed the request.
 */
import type { Metadata, status as Status } from '@grpc/grpc-js';

export class GrpcAttemptError extends Error {
  /** The attempt's gRPC status code. */
  readonly code: Status;
  readonly details: string;
  /** Trailers (and headers merged, where the status came without trailers). */
  readonly metadata: Metadata;
  /** Whether response headers arrived: the server's application saw the call. */
  readonly headersReceived: boolean;
  /** Response messages received before the failure (a stream fails over only before the first). */
  readonly messagesReceived: number;

  constructor(
    code: Status,
    details: string,
    metadata: Metadata,
    headersReceived: boolean,
    messagesReceived: number,
  ) {
    super(`${code} ${details}`);
    this.name = 'GrpcAttemptError';
    this.code = code;
    this.details = details;
    this.metadata = metadata;
    this.headersReceived = headersReceived;
    this.messagesReceived = messagesReceived;
  }
}
