/** What a detour call needs from its channel: the pool, the endpoint channels and the policy. */
import type { Classifier, Pool } from '@detour/core';
import type { EndpointChannels } from './endpoint-channels.js';

export interface CallHost {
  readonly pool: Pool;
  readonly channels: EndpointChannels;
  readonly classifier: Classifier<unknown>;
  /** Whether a method may run twice; undefined leaves it to the pool's `call.idempotent`. */
  readonly isIdempotent: ((path: string) => boolean) | undefined;
  readonly replayBufferBytes: number;
  readonly target: string;
  /** Calls in flight: each adds itself when made and leaves when its status is decided. */
  readonly active: Set<{ cancelWithStatus(code: number, details: string): void }>;
}

/**
 * Whether a method streams its request and its response, when known (from the method
 * definition, see `DetourChannel.forMethod`). Unknown shapes are handled safely: a request that
 * is complete before the call's first turn is buffered, and a response is passed on from its
 * first message.
 */
export interface CallShape {
  readonly requestStream: boolean | undefined;
  readonly responseStream: boolean | undefined;
}

export const unknownShape: CallShape = Object.freeze({
  requestStream: undefined,
  responseStream: undefined,
});
