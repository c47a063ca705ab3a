/**
 * The server side of etcd discovery: a replica registers its address under a lease and keeps
 * the lease alive, so that when the replica dies its key disappears once the lease expires,
 * without anyone deleting it. The value is gRPC-Go's (`etcd-value.ts`), so Go clients resolving
 * `etcd:///<service>` find Node replicas too.
 *
 * Life cycle:
 *
 * 1. Grant a lease of `ttlSeconds`, put the key with it. `registerEndpoint()` resolves when the
 *    key is written. While etcd cannot be reached it tries again with the backoff, for at most
 *    `startTimeoutMs`, then rejects (and releases everything): the caller decides whether a
 *    replica that cannot register should start. `signal` abandons it sooner.
 * 2. Keep the lease alive: one keepalive every `ttlSeconds / 3` on a keepalive stream (as etcd's
 *    Go client does), reopened at that pace when it fails (`error` events).
 * 3. The lease is lost when etcd answers that it has expired, or when no keepalive was answered
 *    for `ttlSeconds` (by then etcd has dropped it, unless etcd itself was down all along): a
 *    `lost` event, then grant and put again with the backoff, for as long as it takes, until
 *    `registered`. The lost lease is revoked once the key is back under the new one.
 * 4. `close()` revokes the lease: the key disappears at once.
 */
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import type { Backoff, Clock, Listener, Random, Timer } from '@detour/core';
import {
  DetourConfigError,
  Emitter,
  exponentialBackoff,
  systemClock,
  systemRandom,
  validate as v,
} from '@detour/core';
import { DiscoveryError, checkBackoff, checkClock, checkRandom } from '../source.js';
import {
  checkOptionKeys,
  endStream,
  etcdConnectionOptionKeys,
  resolveEtcdConnection,
} from './etcd-client.js';
import type { EtcdConnection, EtcdConnectionOptions } from './etcd-client.js';
import { formatEtcdValue, servicePrefix } from './etcd-value.js';

/** Options of `registerEndpoint()`. */
export interface RegisterEndpointOptions extends EtcdConnectionOptions {
  /** The service, as gRPC-Go's target names it (`greeter` for `etcd:///greeter`). Required. */
  readonly service: string;
  /** Where clients reach this replica: `host:port` for gRPC, a base URL for HTTP. Required. */
  readonly address: string;
  /**
   * gRPC-Go's `Metadata`: any JSON value, stored as is. An `etcdSource` reads `weight`,
   * `priority`, `group`, `zone` and `capacity` from an object. Default none (`null`).
   */
  readonly metadata?: unknown;
  /** The key. Default `<service>/<address>`; must start with `<service>/`. */
  readonly key?: string;
  /**
   * The lease's time to live, whole seconds, at least 2. Default 10: a dead replica's key goes
   * within 10 s, and a replica survives an etcd hiccup of up to 10 s without re-registering.
   * etcd raises a TTL below its minimum (1.5 × its election timeout: 2 s by default) to it.
   */
  readonly ttlSeconds?: number;
  /** Deadline of each request to etcd (grant, put, revoke), ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * How long `registerEndpoint()` keeps trying to register before it rejects, ms; `Infinity` to
   * wait for etcd however long it takes. Default 30000: a replica is not held back for long by an
   * etcd that is down, and the caller sees why.
   */
  readonly startTimeoutMs?: number;
  /**
   * Wait between tries when granting or putting fails, ms. Default: exponential, 500 ms doubling
   * to 5 s, equal jitter: a replica reappears within seconds of etcd's return, and a fleet does
   * not retry in step.
   */
  readonly backoff?: Backoff;
  /** Abandons the first registration: `registerEndpoint()` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Time source for keepalives and waits. Default core's `systemClock` (unref'd timers). */
  readonly clock?: Clock;
  /** Randomness for the backoff's jitter. Default `Math.random`. */
  readonly random?: Random;
}

const optionKeys = [
  ...etcdConnectionOptionKeys,
  'service',
  'address',
  'metadata',
  'key',
  'ttlSeconds',
  'requestTimeoutMs',
  'startTimeoutMs',
  'backoff',
  'signal',
  'clock',
  'random',
];

/** The default wait between tries: 0.5 s, 1 s, 2 s, 4 s, 5 s …, each in [ceiling/2, ceiling). */
export const defaultRegistrationBackoff: Backoff = exponentialBackoff({
  baseMs: 500,
  maxMs: 5_000,
  multiplier: 2,
  jitter: 'equal',
});

/** What a registration reports. */
export interface RegistrationEvents {
  /** The key was written under a new lease: after a `lost` (the first registration resolves `registerEndpoint()` instead). */
  registered: { readonly key: string; readonly leaseId: string };
  /** The lease expired or could not be kept alive; the key is (or soon will be) gone. */
  lost: { readonly key: string; readonly leaseId: string; readonly error: DiscoveryError };
  /**
   * Granting, putting or keeping alive failed. `retryInMs`: when the next try is, ms from now.
   * The registration keeps trying until `close()`.
   */
  error: { readonly error: DiscoveryError; readonly retryInMs: number };
}

export type RegistrationEventName = keyof RegistrationEvents;

/** Where a registration stands. */
export type RegistrationState = 'registered' | 'lost' | 'closed';

/** A replica's registration in etcd, alive until `close()`. */
export interface Registration {
  /** The registered key. */
  readonly key: string;
  /** `registered` while the key is under a live lease, `lost` while re-registering, `closed`. */
  readonly state: RegistrationState;
  /** The lease the key is under (etcd's int64 id, as a decimal string); undefined unless `registered`. */
  readonly leaseId: string | undefined;
  /** Adds a listener; returns the function that removes it. */
  on<K extends RegistrationEventName>(
    event: K,
    listener: Listener<RegistrationEvents[K]>,
  ): () => void;
  /**
   * Revokes the lease, so the key disappears at once, stops keeping it alive, and releases
   * everything (the client too, when made from `hosts`). Idempotent: every call returns the same
   * promise. Never rejects: when etcd cannot be reached within `requestTimeoutMs`, the key
   * disappears when its lease expires, `ttlSeconds` later.
   */
  close(): Promise<void>;
}

interface Settings {
  readonly connection: EtcdConnection;
  readonly key: string;
  readonly value: string;
  readonly ttlSeconds: number;
  readonly requestTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly backoff: Backoff;
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly random: Random;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function resolveSettings(options: RegisterEndpointOptions): Settings {
  checkOptionKeys(options, optionKeys);
  const prefix = servicePrefix(options.service);
  const address = v.nonEmptyString('address', options.address);
  const key = options.key === undefined ? `${prefix}${address}` : options.key;
  if (typeof key !== 'string' || !key.startsWith(prefix) || key.length === prefix.length) {
    throw new DetourConfigError('key', options.key, `must start with "${prefix}" and go on`);
  }
  let value: string;
  try {
    value = formatEtcdValue(address, options.metadata);
  } catch (error) {
    throw new DetourConfigError('metadata', options.metadata, `must be JSON: ${message(error)}`);
  }
  const startTimeoutMs =
    options.startTimeoutMs === Infinity
      ? Infinity
      : v.positive('startTimeoutMs', options.startTimeoutMs, 30_000);
  const backoff = checkBackoff(options.backoff ?? defaultRegistrationBackoff);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new DetourConfigError('signal', signal, 'must be an AbortSignal');
  }
  const clock = checkClock(options.clock ?? systemClock);
  const random = checkRandom(options.random ?? systemRandom);
  return {
    connection: resolveEtcdConnection(options),
    key,
    value,
    ttlSeconds: v.integer('ttlSeconds', options.ttlSeconds, 10, 2),
    requestTimeoutMs: v.positive('requestTimeoutMs', options.requestTimeoutMs, 5_000),
    startTimeoutMs,
    backoff,
    signal,
    clock,
    random,
  };
}

class EtcdRegistration implements Registration {
  readonly key: string;
  readonly #settings: Settings;
  readonly #name: string;
  readonly #client: Etcd3;
  readonly #emitter = new Emitter<RegistrationEvents>();
  #state: RegistrationState | 'registering' = 'registering';
  #leaseId: string | undefined;
  /** A lost lease, revoked once the key is under a new one. */
  #lostLeaseId: string | undefined;
  /** Bumped when the current step (a registration, a keepalive stream) is abandoned. */
  #attempt = 0;
  #failures = 0;
  #lastBackoffMs = 0;
  #lastError: unknown;
  #timer: Timer | undefined;
  #stream: KeepAliveStream | undefined;
  #lastKeepAliveAt = 0;
  /** The registration step running now, if any; `close()` waits for it. */
  #step: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #started: { resolve: (r: Registration) => void; reject: (e: unknown) => void } | undefined;
  #startTimer: Timer | undefined;
  #onAbort: (() => void) | undefined;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.key = settings.key;
    this.#name = `etcd:${settings.key}`;
    this.#client = settings.connection.create();
  }

  get state(): RegistrationState {
    return this.#state === 'registering' ? 'lost' : this.#state;
  }

  get leaseId(): string | undefined {
    return this.#state === 'registered' ? this.#leaseId : undefined;
  }

  on<K extends RegistrationEventName>(
    event: K,
    listener: Listener<RegistrationEvents[K]>,
  ): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Registers for the first time; settles as `registerEndpoint()` does. */
  start(): Promise<Registration> {
    const { signal, startTimeoutMs, clock } = this.#settings;
    return new Promise((resolve, reject) => {
      this.#started = { resolve, reject };
      if (signal?.aborted) {
        this.#giveUp(signal.reason);
        return;
      }
      if (signal) {
        this.#onAbort = () => this.#giveUp(signal.reason);
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
      if (startTimeoutMs !== Infinity) {
        this.#startTimer = clock.setTimeout(() => {
          this.#giveUp(
            new DiscoveryError(
              this.#name,
              `could not register within ${startTimeoutMs} ms: ${message(this.#lastError ?? 'etcd has not answered')}`,
              { cause: this.#lastError },
            ),
          );
        }, startTimeoutMs);
      }
      this.#register();
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    this.#attempt++;
    this.#stopKeepAlive();
    this.#settle()?.reject(new DiscoveryError(this.#name, 'the registration was closed'));
    // A registration may be half done: let it finish (it revokes what it granted).
    await this.#step;
    const leases = [this.#leaseId, this.#lostLeaseId].filter((id) => id !== undefined);
    this.#leaseId = this.#lostLeaseId = undefined;
    await Promise.all(leases.map((id) => this.#revoke(id)));
    if (this.#settings.connection.owned) this.#client.close();
    this.#emitter.clear();
  }

  /** Ends the first registration's wait (the timer and the signal's listener). */
  #settle(): { resolve: (r: Registration) => void; reject: (e: unknown) => void } | undefined {
    const started = this.#started;
    this.#started = undefined;
    this.#startTimer?.cancel();
    this.#startTimer = undefined;
    if (this.#onAbort) this.#settings.signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = undefined;
    return started;
  }

  #giveUp(reason: unknown): void {
    const started = this.#settle();
    if (!started) return;
    void this.close().then(() => started.reject(reason));
  }

  #deadline(): number {
    return Date.now() + this.#settings.requestTimeoutMs;
  }

  #revoke(leaseId: string): Promise<void> {
    return this.#client.leaseClient
      .leaseRevoke({ ID: leaseId }, { deadline: this.#deadline() })
      .then(
        () => undefined,
        () => undefined, // Gone already, or etcd unreachable: it expires on its own.
      );
  }

  /** Grants a lease and puts the key under it; on failure, tries again after the backoff. */
  #register(): void {
    const attempt = this.#attempt;
    this.#step = this.#registerOnce(attempt).catch((error: unknown) => {
      if (attempt !== this.#attempt) return;
      this.#lastError = error;
      this.#failures++;
      const { backoff, random, clock } = this.#settings;
      const retryInMs = backoff.delay(this.#failures, this.#lastBackoffMs, random);
      this.#lastBackoffMs = retryInMs;
      this.#timer = clock.setTimeout(() => {
        this.#timer = undefined;
        this.#register();
      }, retryInMs);
      this.#emitter.emit('error', {
        error: new DiscoveryError(this.#name, `registering failed: ${message(error)}`, {
          cause: error,
        }),
        retryInMs,
      });
    });
  }

  async #registerOnce(attempt: number): Promise<void> {
    const { key, value, ttlSeconds } = this.#settings;
    const grant = await this.#client.leaseClient.leaseGrant(
      { TTL: ttlSeconds },
      { deadline: this.#deadline() },
    );
    const leaseId = grant.ID;
    try {
      if (attempt !== this.#attempt) throw new Error('abandoned');
      await this.#client.kv.put(
        { key: Buffer.from(key), value: Buffer.from(value), lease: leaseId },
        { deadline: this.#deadline() },
      );
      if (attempt !== this.#attempt) throw new Error('abandoned');
    } catch (error) {
      // The key may be under it (the put succeeded but the registration was closed): revoke it.
      await this.#revoke(leaseId);
      throw error;
    }
    const first = this.#started !== undefined;
    this.#state = 'registered';
    this.#leaseId = leaseId;
    this.#failures = 0;
    this.#lastBackoffMs = 0;
    this.#lastError = undefined;
    const lost = this.#lostLeaseId;
    this.#lostLeaseId = undefined;
    // The key has moved to the new lease: revoking the old one deletes nothing.
    if (lost !== undefined) void this.#revoke(lost);
    this.#startKeepAlive();
    if (first) this.#settle()?.resolve(this);
    else this.#emitter.emit('registered', { key, leaseId });
  }

  #keepAliveIntervalMs(): number {
    return (this.#settings.ttlSeconds * 1_000) / 3;
  }

  #startKeepAlive(): void {
    this.#lastKeepAliveAt = this.#settings.clock.now();
    this.#schedule();
    this.#openStream();
  }

  #stopKeepAlive(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) endStream(stream);
  }

  #schedule(): void {
    this.#timer = this.#settings.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
    }, this.#keepAliveIntervalMs());
  }

  /** Sends a keepalive (reopening the stream if it failed), unless the lease is gone. */
  #tick(): void {
    if (this.#state !== 'registered') return;
    const silentMs = this.#settings.clock.now() - this.#lastKeepAliveAt;
    if (silentMs > this.#settings.ttlSeconds * 1_000) {
      this.#lose(`no keepalive answered for ${Math.round(silentMs)} ms`);
      return;
    }
    this.#schedule();
    if (this.#stream) this.#stream.write({ ID: this.#leaseId });
    else this.#openStream();
  }

  #openStream(): void {
    const attempt = this.#attempt;
    this.#client.leaseClient.leaseKeepAlive().then(
      (stream) => {
        if (attempt !== this.#attempt || this.#state !== 'registered') {
          stream.on('error', () => undefined);
          endStream(stream);
          return;
        }
        this.#stream = stream;
        const current = (): boolean => this.#stream === stream;
        stream.on('data', (response) => {
          if (!current()) return;
          if (!(Number(response.TTL) > 0)) {
            this.#lose(`etcd says lease ${response.ID} has expired`);
            return;
          }
          this.#lastKeepAliveAt = this.#settings.clock.now();
        });
        stream.on('error', (error) => {
          if (current()) this.#keepAliveFailed(error);
        });
        stream.on('end', () => {
          if (current()) this.#keepAliveFailed('the keepalive stream ended');
        });
        stream.write({ ID: this.#leaseId });
      },
      (error: unknown) => {
        if (attempt === this.#attempt && this.#state === 'registered') {
          this.#keepAliveFailed(error);
        }
      },
    );
  }

  /** The stream failed: the next tick opens another, unless the lease is lost by then. */
  #keepAliveFailed(error: unknown): void {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) endStream(stream);
    this.#emitter.emit('error', {
      error: new DiscoveryError(
        this.#name,
        `keeping lease ${this.#leaseId} alive failed: ${message(error)}`,
        {
          cause: error,
        },
      ),
      retryInMs: this.#keepAliveIntervalMs(),
    });
  }

  #lose(reason: string): void {
    const leaseId = this.#leaseId!;
    this.#attempt++;
    this.#stopKeepAlive();
    this.#state = 'lost';
    this.#leaseId = undefined;
    this.#lostLeaseId = leaseId;
    const error = new DiscoveryError(this.#name, `lease ${leaseId} lost: ${reason}`);
    this.#emitter.emit('lost', { key: this.key, leaseId, error });
    if (this.#state === 'lost') this.#register();
  }
}

/**
 * Registers this replica in etcd under `<service>/<address>` (gRPC-Go's layout, so Go clients
 * find it too), under a lease of `ttlSeconds` kept alive until `close()`. Resolves once the key
 * is written; while etcd cannot be reached it keeps trying with the backoff, and rejects after
 * `startTimeoutMs` (default 30 s) or when `signal` aborts, having released everything. Invalid
 * options throw `DetourConfigError` at once, before any promise.
 *
 * ```ts
 * const registration = await registerEndpoint({
 *   hosts: 'http://127.0.0.1:2379',
 *   service: 'greeter',
 *   address: `10.0.0.1:${port}`,
 *   metadata: { weight: 2, zone: 'eu-west-1a' },
 * });
 * process.on('SIGTERM', () => void registration.close().then(() => server.tryShutdown(() => {})));
 * ```
 */
export function registerEndpoint(options: RegisterEndpointOptions): Promise<Registration> {
  return new EtcdRegistration(resolveSettings(options)).start();
}
