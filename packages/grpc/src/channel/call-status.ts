/**
 * The status a client sees when `pool.execute()` gives up on a call:
 *
 * - the call's deadline passed (`deadline-exceeded`): DEADLINE_EXCEEDED;
 * - otherwise, when an attempt failed with a gRPC status, the last such attempt's status (code,
 *   details and trailers), as a client without detour would have seen it;
 * - no endpoint, bulkhead full, retry budget spent, attempts that only timed out, a closed pool:
 *   UNAVAILABLE, with detour's account of every attempt as details.
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import { CallFailedError, isDetourError } from '@detour/core';
import { GrpcAttemptError } from '../grpc-attempt-error.js';

export function statusFromCallError(error: unknown): StatusObject {
  if (error instanceof CallFailedError) {
    // The deadline passed, or the last attempt hit its own timeout and could not be retried.
    if (error.reason === 'deadline-exceeded' || error.attempts.at(-1)?.outcome === 'timeout') {
      return { code: Status.DEADLINE_EXCEEDED, details: error.message, metadata: new Metadata() };
    }
    const cause = error.cause;
    if (cause instanceof GrpcAttemptError) {
      return { code: cause.code, details: cause.details, metadata: cause.metadata };
    }
    return { code: Status.UNAVAILABLE, details: error.message, metadata: new Metadata() };
  }
  if (isDetourError(error)) {
    return { code: Status.UNAVAILABLE, details: error.message, metadata: new Metadata() };
  }
  const details = error instanceof Error ? error.message : String(error);
  return { code: Status.INTERNAL, details: `detour: ${details}`, metadata: new Metadata() };
}
