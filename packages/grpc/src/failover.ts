/**
 * `createGrpcFailover()`: per-attempt failover for ordinary generated grpc-js clients.
 *
 * The failover owns a detour pool (or uses one it is given), one real grpc-js channel per
 * endpoint, and a `DetourChannel` that a client takes through `ClientOptions.channelOverride`.
 * Every call on that channel runs through `pool.execute()`: each attempt goes to the endpoint
 * the pool picks, on that endpoint's own channel, and a failed attempt fails over to another
 * endpoint, as far as the classifier, idempotency, budget and deadline allow.
 *
 * Unless `healthCheck: false` (or a pool is given), the pool it makes also checks every endpoint
 * actively: a `heartbeat` detector, after the passive ones, whose probe is a
 * `grpcHealthProbe()` with the endpoint channels' credentials and channel options.
 *
 *   const failover = createGrpcFailover({ endpoints: ['10.0.0.1:50051', '10.0.0.2:50051'] });
 *   const client = new GreeterClient('detour:///greeter', credentials.createInsecure(),
 *     failover.clientOptions());
 */
import type { CallInvocationTransformer, ClientOptions } from '@grpc/grpc-js';
import { DetourError, createPool, defaultDetectors, heartbeat } from '@detour/core';
import type { Pool, PoolOptions } from '@detour/core';
import type { CallHost } from './channel/call-host.js';
import { DetourChannel } from './channel/detour-channel.js';
import { EndpointChannels } from './channel/endpoint-channels.js';
import type { GrpcFailoverOptions, ResolvedFailoverOptions } from './failover-options.js';
import { resolveFailoverOptions } from './failover-options.js';
import { grpcHealthProbe } from './health-probe.js';
import type { GrpcHealthProbe } from './health-probe.js';

export class GrpcFailover {
  /** The pool every call runs on: endpoints, health, statistics (`pool.snapshot()`), events. */
  readonly pool: Pool;
  /** The channel to give clients (`clientOptions()` does it for you). */
  readonly channel: DetourChannel;
  readonly #channels: EndpointChannels;
  readonly #host: CallHost;
  readonly #ownsPool: boolean;
  /** The health probe of `healthCheck`; undefined when off or when a pool was given. */
  readonly #health: GrpcHealthProbe | undefined;
  readonly #unsubscribe: () => void;
  readonly #transformer: CallInvocationTransformer;
  #closed = false;

  /** Use `createGrpcFailover()`. */
  constructor(options: GrpcFailoverOptions) {
    const resolved = resolveFailoverOptions(options);
    this.#ownsPool = resolved.pool === undefined;
    if (resolved.pool) {
      this.pool = resolved.pool;
    } else {
      const { pool, health } = createHealthCheckedPool(resolved);
      this.pool = pool;
      this.#health = health;
    }
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
    this.#unsubscribe = this.pool.on('endpoint-removed', ({ endpoint }) => {
      this.#channels.remove(endpoint.id);
      this.#health?.forget(endpoint.id);
    });
    const channel = this.channel;
    // grpc-js makes the properties for each call and reads them after: set in place, not copied.
    this.#transformer = (properties) => {
      properties.channel = channel.forMethod(properties.methodDefinition);
      return properties;
    };
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
   * Cancels the calls in flight (UNAVAILABLE), closes every endpoint channel, the health probe's
   * channels and streams and, unless it was given one, the pool. Leaves no timer, socket or
   * listener behind. Idempotent; calls made after it throw, as on a closed grpc-js channel.
   * `client.close()` on a client using the channel calls it too.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.channel.shutdown();
    this.#unsubscribe();
    if (this.#ownsPool) this.pool.close();
    this.#channels.close();
    this.#health?.close();
  }
}

/**
 * The failover's own pool, with a heartbeat on the `grpc.health.v1` probe appended to the
 * detectors when `healthCheck` is on.
 */
function createHealthCheckedPool(resolved: ResolvedFailoverOptions): {
  pool: Pool;
  health: GrpcHealthProbe | undefined;
} {
  const poolOptions: PoolOptions = resolved.poolOptions!;
  const settings = resolved.healthCheck;
  if (!settings) return { pool: createPool(poolOptions), health: undefined };
  // The probe is made once createPool has validated the options it shares (the clock); the
  // heartbeat's first probe runs on a timer, never during createPool.
  let health: GrpcHealthProbe | undefined;
  const detector = heartbeat({
    probe: (endpoint, signal, context) =>
      health
        ? health.probe(endpoint, signal, context)
        : Promise.reject(new DetourError('DETOUR_PROBE_CLOSED', 'The health probe is not ready')),
    intervalMs: settings.intervalMs,
    timeoutMs: settings.timeoutMs,
    healthyThreshold: settings.healthyThreshold,
    unhealthyThreshold: settings.unhealthyThreshold,
  });
  const pool = createPool({
    ...poolOptions,
    detectors: [...(poolOptions.detectors ?? defaultDetectors()), detector],
  });
  try {
    health = grpcHealthProbe({
      service: settings.service,
      credentials: resolved.credentials,
      channelOptions: resolved.channelOptions,
      ...(poolOptions.clock === undefined ? {} : { clock: poolOptions.clock }),
    });
  } catch (error) {
    pool.close();
    throw error;
  }
  return { pool, health };
}

/** Makes a failover: a pool, its endpoints' channels, and the channel clients use. */
export function createGrpcFailover(options: GrpcFailoverOptions): GrpcFailover {
  return new GrpcFailover(options);
}
