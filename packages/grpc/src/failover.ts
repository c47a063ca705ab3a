/**
 * `createGrpcFailover()`: per-attempt failover for ordinary generated grpc-js clients.
 *
 * The failover owns a detour pool (or uses one it is given), one real grpc-js channel per
 * endpoint, and a `DetourChannel` that a client takes through `ClientOptions.channelOverride`.
 * Every call on that channel runs through `pool.execute()`: each attempt goes to the endpoint
 * the pool picks, on that endpoint's own channel, and a failed attempt fails over to another
 * endpoint, as far as the classifier, idempotency, budget and deadline allow.
 *
 *   const failover = createGrpcFailover({ endpoints: ['10.0.0.1:50051', '10.0.0.2:50051'] });
 *   const client = new GreeterClient('detour:///greeter', credentials.createInsecure(),
 *     failover.clientOptions());
 */
import type { CallInvocationTransformer, ClientOptions } from '@grpc/grpc-js';
import { createPool } from '@detour/core';
import type { Pool } from '@detour/core';
import type { CallHost } from './channel/call-host.js';
import { DetourChannel } from './channel/detour-channel.js';
import { EndpointChannels } from './channel/endpoint-channels.js';
import type { GrpcFailoverOptions } from './failover-options.js';
import { resolveFailoverOptions } from './failover-options.js';

export class GrpcFailover {
  /** The pool every call runs on: endpoints, health, statistics (`pool.snapshot()`), events. */
  readonly pool: Pool;
  /** The channel to give clients (`clientOptions()` does it for you). */
  readonly channel: DetourChannel;
  readonly #channels: EndpointChannels;
  readonly #host: CallHost;
  readonly #ownsPool: boolean;
  readonly #unsubscribe: () => void;
  readonly #transformer: CallInvocationTransformer;
  #closed = false;

  /** Use `createGrpcFailover()`. */
  constructor(options: GrpcFailoverOptions) {
    const resolved = resolveFailoverOptions(options);
    this.#ownsPool = resolved.pool === undefined;
    this.pool = resolved.pool ?? createPool(resolved.poolOptions!);
    this.#channels = new EndpointChannels(resolved.credentials, resolved.channelOptions);
    this.#host = {
      pool: this.pool,
      channels: this.#channels,
      classifier: resolved.classifier,
      isIdempotent: resolved.isIdempotent,
      replayBufferBytes: resolved.replayBufferBytes,
      target: resolved.target,
      active: new Set(),
    };
    this.channel = new DetourChannel(this.#host, this);
    this.#unsubscribe = this.pool.on('endpoint-removed', ({ endpoint }) =>
      this.#channels.remove(endpoint.id),
    );
    const channel = this.channel;
    this.#transformer = (properties) => ({
      ...properties,
      channel: channel.forMethod(properties.methodDefinition),
    });
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Options for a generated client's constructor: `channelOverride` (grpc-js then ignores the
   * client's target and credentials; the endpoints' channels use the failover's `credentials`),
   * and a `callInvocationTransformer` that tells the channel each method's shape (whether
   * request and response stream). A client that brings its own transformer should apply it
   * first and pass the result to `failover.transformCall()`.
   */
  clientOptions(): ClientOptions {
    return { channelOverride: this.channel, callInvocationTransformer: this.#transformer };
  }

  /** The `callInvocationTransformer` of `clientOptions()`, to compose with your own. */
  get transformCall(): CallInvocationTransformer {
    return this.#transformer;
  }

  /**
   * Cancels the calls in flight (UNAVAILABLE), closes every endpoint channel and, unless it was
   * given one, the pool. Leaves no timer, socket or listener behind. Idempotent; calls made
   * after it throw, as on a closed grpc-js channel. `client.close()` on a client using the
   * channel calls it too.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channel.shutdown();
    this.#unsubscribe();
    if (this.#ownsPool) this.pool.close();
    this.#channels.close();
  }
}

/** Makes a failover: a pool, its endpoints' channels, and the channel clients use. */
export function createGrpcFailover(options: GrpcFailoverOptions): GrpcFailover {
  return new GrpcFailover(options);
}
