/**
 * Options of `createGrpcFailover()`, their defaults and units, and their validation: a bad value
 * throws `DetourConfigError` (naming the option and the value) when the failover is made.
 */
import type { ChannelOptions } from '@grpc/grpc-js';
import { ChannelCredentials, credentials as grpcCredentials } from '@grpc/grpc-js';
import type { Classifier, Pool, PoolOptions } from '@detour/core';
import { DetourConfigError, maxDetectors, poolOptionKeys, validate } from '@detour/core';
import { grpcClassifier } from './classifier.js';

/**
 * Which methods may run twice: full method paths (`/helloworld.Greeter/SayHello`), or
 * `/package.Service/*` for every method of a service; or a function of the path. A call that is
 * not idempotent is retried only when its request certainly was not processed (gRPC's
 * transparent retry: the connection was refused, the stream was refused).
 */
export type IdempotentMethods = readonly string[] | ((path: string) => boolean);

/**
 * Active health checking of every endpoint over `grpc.health.v1` (see `createGrpcFailover()`'s
 * `healthCheck`). Each field left out takes its default from `defaultHealthCheck`.
 */
export interface GrpcHealthCheckOptions {
  /** The service name asked about; `''` is the whole server. Default `''`. */
  readonly service?: string;
  /** Time between probes of one endpoint, ms (> 0). Default 1000. */
  readonly intervalMs?: number;
  /** A probe's time limit, ms (> 0); an overrun is an unhealthy result. Default 500. */
  readonly timeoutMs?: number;
  /** Healthy results in a row that release a held endpoint (integer ≥ 1). Default 2. */
  readonly healthyThreshold?: number;
  /** Unhealthy results in a row that hold an endpoint out (integer ≥ 1). Default 2. */
  readonly unhealthyThreshold?: number;
}

export interface GrpcFailoverOptions extends PoolOptions {
  /**
   * An existing pool to run calls on, instead of one made from the pool options (`endpoints`,
   * `selector`, `detectors`, `health`, `budget`, `call`, …), which must then be left out. The
   * failover does not close a pool it was given.
   */
  readonly pool?: Pool;
  /** Name shown as the channel's target, `detour:///<name>`. Default `default`. */
  readonly name?: string;
  /**
   * Credentials of every endpoint's channel: TLS or mTLS channel credentials, possibly combined
   * with call credentials. Default `credentials.createInsecure()`.
   */
  readonly credentials?: ChannelCredentials;
  /** grpc-js channel options, merged over `defaultChannelOptions`. */
  readonly channelOptions?: ChannelOptions;
  /**
   * Maps each attempt's outcome to success, failure (retryable? processed? pushback?) or ignore.
   * Default `grpcClassifier()`.
   */
  readonly classifier?: Classifier<unknown>;
  /**
   * Methods that may run twice (retried after any retryable failure, hedged when `call.hedge`
   * is set). Default none: the pool's `call.idempotent` (false unless set) applies to every
   * method.
   */
  readonly idempotentMethods?: IdempotentMethods;
  /**
   * Request bytes kept per call to replay on another endpoint, bytes. A call whose request
   * messages exceed it is committed: it runs as a single attempt, streaming, never retried
   * (gRFC A6 commits an RPC whose retry buffer overflows). Default 65536 (64 KiB: Linkerd does
   * not retry bodies above it; grpc-js's per-RPC retry buffer is 1 MiB). `Infinity` never
   * commits.
   */
  readonly replayBufferBytes?: number;
  /**
   * Active health checking: a `heartbeat` detector whose probe (`grpcHealthProbe()`) asks each
   * endpoint's `grpc.health.v1.Health` service, over a channel with the failover's `credentials`
   * and `channelOptions`, and holds out endpoints that answer NOT_SERVING or do not answer. It is
   * added after `detectors` (or after the default detectors). A server without the health
   * service answers UNIMPLEMENTED, which counts as healthy (gRFC A17). Default on, with
   * `defaultHealthCheck`; `false` turns it off. Not added to a pool given as `pool` (add
   * `heartbeat({ probe: grpcHealthProbe().probe })` to that pool yourself).
   */
  readonly healthCheck?: GrpcHealthCheckOptions | false;
}

/**
 * Defaults of `healthCheck` (the `heartbeat` detector's own):
 * - `service` `''`: the whole server's status, which every standard health implementation
 *   reports (grpc-health-check, grpc-go's `health.NewServer()`), so nothing needs configuring.
 * - `intervalMs` 1000: memberlist's (SWIM) `ProbeInterval` and Akka's `heartbeat-interval`. With
 *   the Watch stream a probe usually costs no request; a Check goes out once per 5 s per endpoint.
 * - `timeoutMs` 500: memberlist's `ProbeTimeout`; a health check answers far faster, and the
 *   probe ends well before the next one is due.
 * - `healthyThreshold` 2, `unhealthyThreshold` 2: one lost or late probe does not flap an
 *   endpoint (HAProxy uses `rise 2`, `fall 3`); 2 rather than 3 because the passive detectors
 *   already judge the traffic in between. A NOT_SERVING endpoint is held about 1–2 s after the
 *   change; a restarted one is released as fast, then earns its traffic back with trial calls.
 */
export const defaultHealthCheck: Readonly<Required<GrpcHealthCheckOptions>> = Object.freeze({
  service: '',
  intervalMs: 1_000,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
});

/**
 * detour's grpc-js channel options for each endpoint's channel; `channelOptions` is merged over
 * them.
 *
 * - `grpc.keepalive_time_ms` 10000 and `grpc.keepalive_timeout_ms` 5000: grpc-js sends no
 *   keepalive pings by default, so a peer that vanished without a TCP reset (host down, network
 *   partition) is never noticed on an idle connection; with these it is found within 15 s.
 *   Servers that enforce a minimum ping interval (Go and C-core default to 5 minutes) answer
 *   with GOAWAY `too_many_pings`, after which grpc-js doubles the interval: allow pings every
 *   10 s on such servers, or raise `grpc.keepalive_time_ms`.
 * - `grpc.keepalive_permit_without_calls` 1: the connections detour keeps to fail over to are
 *   idle most of the time; they are the ones that must be checked.
 * - `grpc.initial_reconnect_backoff_ms` 100 and `grpc.max_reconnect_backoff_ms` 1000: grpc-js
 *   waits 1 s, then up to 120 s, between reconnection attempts, so a restarted replica could
 *   stay unreachable for two minutes. detour's health decides whether an endpoint gets traffic;
 *   reconnecting at most once a second costs one connection attempt per dead endpoint.
 *
 * grpc-js has no connect timeout. detour's attempt timeout (`call.attemptTimeoutMs`) also bounds
 * connection establishment: an attempt still waiting for its connection is cut at its timeout
 * and the call fails over.
 */
export const defaultChannelOptions: Readonly<ChannelOptions> = Object.freeze({
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
});

/** Default of `replayBufferBytes`, bytes. */
export const defaultReplayBufferBytes = 64 * 1024;

export interface ResolvedFailoverOptions {
  /** Options for `createPool()`, or undefined when a pool was given. */
  readonly poolOptions: PoolOptions | undefined;
  readonly pool: Pool | undefined;
  readonly target: string;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly classifier: Classifier<unknown>;
  /** Whether the method is idempotent; undefined leaves it to the pool's `call.idempotent`. */
  readonly isIdempotent: ((path: string) => boolean) | undefined;
  readonly replayBufferBytes: number;
  /** The health checking to add to the pool; undefined when off or when a pool was given. */
  readonly healthCheck: Readonly<Required<GrpcHealthCheckOptions>> | undefined;
}

const ownKeys = [
  'pool',
  'name',
  'credentials',
  'channelOptions',
  'classifier',
  'idempotentMethods',
  'replayBufferBytes',
  'healthCheck',
];
const healthCheckKeys = Object.keys(defaultHealthCheck);
/** Runtimes fire longer timers at once. */
const maxTimerMs = 2 ** 31 - 1;
const methodPattern = /^\/[^/\s]+\/([^/\s]+|\*)$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPool(value: unknown): value is Pool {
  return (
    isObject(value) &&
    typeof value.execute === 'function' &&
    typeof value.on === 'function' &&
    typeof value.members === 'function'
  );
}

function resolveIdempotent(value: unknown): ((path: string) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value as (path: string) => boolean;
  if (!Array.isArray(value)) {
    throw new DetourConfigError(
      'idempotentMethods',
      value,
      'must be an array of method paths or a function',
    );
  }
  const exact = new Set<string>();
  const services = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || !methodPattern.test(entry)) {
      throw new DetourConfigError(
        `idempotentMethods[${i}]`,
        entry,
        'must be a method path "/package.Service/Method" or "/package.Service/*"',
      );
    }
    if (entry.endsWith('/*')) services.add(entry.slice(0, -1));
    else exact.add(entry);
  });
  return (path) => exact.has(path) || services.has(path.slice(0, path.lastIndexOf('/') + 1));
}

function resolveReplayBytes(value: unknown): number {
  if (value === undefined) return defaultReplayBufferBytes;
  if (value === Infinity) return Infinity;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new DetourConfigError('replayBufferBytes', value, 'must be an integer >= 0 or Infinity');
  }
  return value as number;
}

function resolveHealthCheck(
  value: unknown,
  pool: Pool | undefined,
  poolOptions: Record<string, unknown>,
  channelCredentials: unknown,
): Readonly<Required<GrpcHealthCheckOptions>> | undefined {
  if (value === false) return undefined;
  if (value !== undefined && (!isObject(value) || Array.isArray(value))) {
    throw new DetourConfigError('healthCheck', value, 'must be an object or false');
  }
  if (pool) {
    if (value === undefined) return undefined; // documented: a given pool keeps its detectors
    throw new DetourConfigError(
      'healthCheck',
      value,
      'cannot be given together with pool: add heartbeat({ probe: grpcHealthProbe().probe }) to its detectors',
    );
  }
  const given: Record<string, unknown> = value ?? {};
  validate.knownKeys('healthCheck', given, healthCheckKeys);
  const service = given.service === undefined ? defaultHealthCheck.service : given.service;
  if (typeof service !== 'string') {
    throw new DetourConfigError('healthCheck.service', service, 'must be a string');
  }
  const settings = Object.freeze({
    service,
    intervalMs: validate.positive(
      'healthCheck.intervalMs',
      given.intervalMs,
      defaultHealthCheck.intervalMs,
      maxTimerMs,
    ),
    timeoutMs: validate.positive(
      'healthCheck.timeoutMs',
      given.timeoutMs,
      defaultHealthCheck.timeoutMs,
      maxTimerMs,
    ),
    healthyThreshold: validate.integer(
      'healthCheck.healthyThreshold',
      given.healthyThreshold,
      defaultHealthCheck.healthyThreshold,
      1,
    ),
    unhealthyThreshold: validate.integer(
      'healthCheck.unhealthyThreshold',
      given.unhealthyThreshold,
      defaultHealthCheck.unhealthyThreshold,
      1,
    ),
  });
  const detectors = poolOptions.detectors;
  if (detectors !== undefined) {
    if (!Array.isArray(detectors)) {
      throw new DetourConfigError('detectors', detectors, 'must be an array of detectors');
    }
    if (detectors.length >= maxDetectors) {
      throw new DetourConfigError(
        'detectors',
        detectors.length,
        `must hold at most ${maxDetectors - 1} detectors with healthCheck on (its heartbeat is one more), or set healthCheck: false`,
      );
    }
  }
  // The probe's channels are grpc-js Clients, which take nothing else (the endpoint channels
  // would reject the same value at their first call).
  if (channelCredentials !== undefined && !(channelCredentials instanceof ChannelCredentials)) {
    throw new DetourConfigError(
      'credentials',
      channelCredentials,
      'must be grpc-js ChannelCredentials (credentials.createInsecure(), createSsl()…) of the same @grpc/grpc-js copy',
    );
  }
  return settings;
}

/** Validates `options` and fills in the defaults. */
export function resolveFailoverOptions(options: GrpcFailoverOptions): ResolvedFailoverOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw new DetourConfigError('options', options, 'must be an object');
  }
  const poolOptions: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (poolOptionKeys.includes(key)) {
      if (value !== undefined) poolOptions[key] = value;
    } else if (!ownKeys.includes(key)) {
      throw new DetourConfigError(key, value, 'is not an option of createGrpcFailover()');
    }
  }
  let pool: Pool | undefined;
  if (options.pool !== undefined) {
    if (!isPool(options.pool)) {
      throw new DetourConfigError('pool', options.pool, 'must be a Pool made by createPool()');
    }
    const extra = Object.keys(poolOptions)[0];
    if (extra !== undefined) {
      throw new DetourConfigError(extra, poolOptions[extra], 'cannot be given together with pool');
    }
    if (options.pool.closed) throw new DetourConfigError('pool', 'closed pool', 'must be open');
    pool = options.pool;
  }
  const name = options.name ?? 'default';
  if (typeof name !== 'string' || name === '' || /[\s/]/.test(name)) {
    throw new DetourConfigError('name', name, 'must be a non-empty string without "/" or spaces');
  }
  const rawCredentials: unknown = options.credentials;
  if (rawCredentials !== undefined && !isObject(rawCredentials)) {
    throw new DetourConfigError(
      'credentials',
      rawCredentials,
      'must be grpc-js ChannelCredentials',
    );
  }
  const channelOptions = options.channelOptions ?? {};
  if (!isObject(channelOptions) || Array.isArray(channelOptions)) {
    throw new DetourConfigError('channelOptions', channelOptions, 'must be an object');
  }
  const rawClassifier: unknown = options.classifier;
  if (rawClassifier !== undefined && typeof rawClassifier !== 'function') {
    throw new DetourConfigError('classifier', rawClassifier, 'must be a function');
  }
  return {
    poolOptions: pool ? undefined : poolOptions,
    pool,
    target: `detour:///${name}`,
    credentials: options.credentials ?? grpcCredentials.createInsecure(),
    channelOptions: { ...defaultChannelOptions, ...channelOptions },
    classifier: options.classifier ?? grpcClassifier(),
    isIdempotent: resolveIdempotent(options.idempotentMethods),
    replayBufferBytes: resolveReplayBytes(options.replayBufferBytes),
    healthCheck: resolveHealthCheck(options.healthCheck, pool, poolOptions, rawCredentials),
  };
}
