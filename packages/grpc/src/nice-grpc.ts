/**
 * nice-grpc on detour: `detourNiceGrpc(failover)` gives the failover's channel typed as the
 * grpc-js `Channel` that nice-grpc's `createClient()` takes, and a client middleware that tells
 * the channel what the channel cannot see through nice-grpc: each method's shape (streaming or
 * not) and whether a call may run twice (ts-proto's `idempotency_level`, or the call option
 * `detourIdempotent`).
 *
 *   const nice = detourNiceGrpc(failover);
 *   const client = createClientFactory().use(nice.middleware).create(GreeterDefinition, nice.channel);
 *
 * This module imports nothing from nice-grpc: the middleware is typed structurally, as a
 * nice-grpc `ClientMiddleware<DetourNiceGrpcCallOptions>`, so `@detour/grpc` needs nice-grpc
 * neither at run time nor for its types.
 */
import type { Channel } from '@grpc/grpc-js';
import { DetourConfigError } from '@detour/core';
import { idempotencyHintHeader } from './channel/call-hints.js';
import type { DetourChannel } from './channel/detour-channel.js';

/** Call options added by `detourNiceGrpc()`'s middleware (prefixed, as nice-grpc's convention). */
export interface DetourNiceGrpcCallOptions {
  /**
   * Whether this call may run twice: `true` lets detour retry it after any retryable failure
   * (and hedge it when `call.hedge` is set), `false` only when the request certainly was not
   * processed. Default: `true` when the method's `idempotencyLevel` is `IDEMPOTENT` or
   * `NO_SIDE_EFFECTS`, otherwise the failover's `idempotentMethods`, then the pool's
   * `call.idempotent`.
   */
  detourIdempotent?: boolean;
}

type NiceGrpcMetadataValue = string | Uint8Array;

/**
 * nice-grpc's `Metadata`, as far as the middleware reads it: its entries, with one value per
 * string key (nice-grpc joins repeated ones) and any number per `-bin` key.
 */
export interface NiceGrpcMetadataLike {
  [Symbol.iterator](): Iterator<[string, NiceGrpcMetadataValue[]]>;
}

/** nice-grpc's `MethodDescriptor` (`ClientMiddlewareCall.method`). */
export interface NiceGrpcMethodDescriptor {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  /** ts-proto generic definitions carry `idempotency_level`; grpc-js definitions give `{}`. */
  readonly options?: { readonly idempotencyLevel?: 'IDEMPOTENT' | 'NO_SIDE_EFFECTS' | undefined };
}

/** nice-grpc's base `CallOptions`, as far as the middleware uses them. */
export interface NiceGrpcCallOptions {
  metadata?: NiceGrpcMetadataLike;
  signal?: AbortSignal;
}

/** nice-grpc's `ClientMiddlewareCall`, as far as the middleware uses it. */
export interface NiceGrpcMiddlewareCall<Request, Response> {
  readonly method: NiceGrpcMethodDescriptor;
  readonly requestStream: boolean;
  readonly request: Request | AsyncIterable<Request>;
  readonly responseStream: boolean;
  next(
    request: Request | AsyncIterable<Request>,
    options: NiceGrpcCallOptions,
  ): AsyncGenerator<Response, Response | void, undefined>;
}

/**
 * The middleware's type: a nice-grpc `ClientMiddleware<DetourNiceGrpcCallOptions>`, so that
 * `createClientFactory().use(middleware)` adds `detourIdempotent` to the client's call options.
 * The options are typed as `Partial<DetourNiceGrpcCallOptions>` alone, which lets TypeScript
 * infer nice-grpc's `CallOptionsExt` as exactly `DetourNiceGrpcCallOptions`; the middleware
 * receives nice-grpc's other call options (`metadata`, `signal`, …) as well and passes them on.
 */
export type DetourNiceGrpcMiddleware = <Request, Response>(
  call: NiceGrpcMiddlewareCall<Request, Response>,
  options: Partial<DetourNiceGrpcCallOptions>,
) => AsyncGenerator<Response, Response | void, undefined>;

/** What `detourNiceGrpc()` returns. */
export interface DetourNiceGrpc {
  /**
   * The failover's channel, typed as the grpc-js `Channel` that nice-grpc's `createClient()`
   * and `createClientFactory().create()` take (nice-grpc passes it to grpc-js as
   * `channelOverride`). `channel.close()` closes the failover.
   */
  readonly channel: Channel;
  /**
   * nice-grpc client middleware: tells the channel each method's shape, and sends a call's
   * idempotency (`options.idempotencyLevel` of the method definition, or the call option
   * `detourIdempotent`) as a header that the channel reads and removes. Works anywhere in the
   * middleware chain; attach it first (innermost) by convention.
   */
  readonly middleware: DetourNiceGrpcMiddleware;
}

/** The part of a `GrpcFailover` that `detourNiceGrpc()` uses. */
export interface DetourNiceGrpcSource {
  readonly channel: DetourChannel;
}

function isDetourChannel(value: unknown): value is DetourChannel {
  if (typeof value !== 'object' || value === null) return false;
  const channel = value as Record<string, unknown>;
  return (
    typeof channel.createCall === 'function' &&
    typeof channel.describeMethod === 'function' &&
    typeof channel.idempotencyHint === 'function'
  );
}

/**
 * A copy of nice-grpc's `Metadata` with one more entry, made without nice-grpc's own factory
 * (this module does not import nice-grpc). It behaves as nice-grpc's: keys are lower-cased,
 * a string key holds one value (repeated ones are joined with ", "), a `-bin` key any number.
 * grpc-js validates keys and values when nice-grpc converts the metadata for the call.
 */
function metadataWith(
  base: NiceGrpcMetadataLike | undefined,
  key: string,
  value: string,
): NiceGrpcMetadataLike {
  const data = new Map<string, NiceGrpcMetadataValue[]>();
  if (base) for (const [k, values] of base) data.set(k, [...values]);
  const isBinary = (k: string): boolean => k.endsWith('-bin');
  const metadata = {
    set(k: string, v: NiceGrpcMetadataValue | NiceGrpcMetadataValue[]) {
      k = k.toLowerCase();
      if (!Array.isArray(v)) data.set(k, [v]);
      else if (v.length === 0) data.delete(k);
      else data.set(k, isBinary(k) ? [...v] : [v.join(', ')]);
      return metadata;
    },
    append(k: string, v: NiceGrpcMetadataValue) {
      k = k.toLowerCase();
      const values = [...(data.get(k) ?? []), v];
      data.set(k, isBinary(k) ? values : [values.join(', ')]);
      return metadata;
    },
    delete(k: string): void {
      data.delete(k.toLowerCase());
    },
    get(k: string): NiceGrpcMetadataValue | undefined {
      return data.get(k.toLowerCase())?.[0];
    },
    getAll(k: string): NiceGrpcMetadataValue[] {
      return data.get(k.toLowerCase()) ?? [];
    },
    has(k: string): boolean {
      return data.has(k.toLowerCase());
    },
    [Symbol.iterator]() {
      return data[Symbol.iterator]();
    },
  };
  metadata.set(key, value);
  return metadata;
}

/**
 * The call options the next middleware gets: `options` without `detourIdempotent`, with
 * `metadata` when given; `options` itself when there is nothing to change. Copied key by key:
 * V8 builds and reads a spread copy (`{ ...rest, metadata }` of an object rest) on a slow path,
 * the one `pnpm bench:core` measures for per-call options.
 */
function passedOn<T extends object>(options: T, metadata?: NiceGrpcMetadataLike): T {
  if (metadata === undefined && !Object.hasOwn(options, 'detourIdempotent')) return options;
  const from = options as Record<PropertyKey, unknown>;
  const copy: Record<PropertyKey, unknown> = {};
  for (const key in from) {
    if (key !== 'detourIdempotent' && Object.hasOwn(from, key)) copy[key] = from[key];
  }
  for (const key of Object.getOwnPropertySymbols(from)) {
    if (Object.prototype.propertyIsEnumerable.call(from, key)) copy[key] = from[key];
  }
  if (metadata !== undefined) copy['metadata'] = metadata;
  return copy as T;
}

/**
 * nice-grpc clients on a detour failover: its channel typed for nice-grpc, and the middleware
 * that gives the channel each call's method shape and idempotency.
 *
 * @param failover a `GrpcFailover` from `createGrpcFailover()` (or anything with its
 *   `channel`).
 * @throws DetourConfigError when `failover` has no detour channel.
 */
export function detourNiceGrpc(failover: DetourNiceGrpcSource): DetourNiceGrpc {
  const channel: unknown = (failover as { channel?: unknown } | null | undefined)?.channel;
  if (!isDetourChannel(channel)) {
    throw new DetourConfigError(
      'failover',
      failover,
      'must be a GrpcFailover made by createGrpcFailover()',
    );
  }
  const middleware: DetourNiceGrpcMiddleware = async function* detourMiddleware<Request, Response>(
    call: NiceGrpcMiddlewareCall<Request, Response>,
    options: Partial<DetourNiceGrpcCallOptions>,
  ): AsyncGenerator<Response, Response | void, undefined> {
    const given = options as NiceGrpcCallOptions & Partial<DetourNiceGrpcCallOptions>;
    const detourIdempotent = given.detourIdempotent;
    if (detourIdempotent !== undefined && typeof detourIdempotent !== 'boolean') {
      throw new DetourConfigError('detourIdempotent', detourIdempotent, 'must be a boolean');
    }
    const method = call.method;
    channel.describeMethod(method);
    const level = method.options?.idempotencyLevel;
    const idempotent =
      detourIdempotent ?? (level === 'IDEMPOTENT' || level === 'NO_SIDE_EFFECTS' || undefined);
    if (idempotent === undefined) return yield* call.next(call.request, passedOn(given));
    const metadata = metadataWith(
      given.metadata,
      idempotencyHintHeader,
      channel.idempotencyHint(idempotent),
    );
    return yield* call.next(call.request, passedOn(given, metadata));
  };
  return Object.freeze({
    // nice-grpc's parameter is grpc-js's `Channel` class, whose private members no other class
    // can match; nice-grpc only hands it to grpc-js as `channelOverride`, which takes any
    // `ChannelInterface`, as the detour channel is.
    channel: channel as unknown as Channel,
    middleware,
  });
}
