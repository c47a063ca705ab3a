/**
 * What every registry-backed source shares: the last good endpoint list, which survives registry
 * failures; skipped records; the guard against an empty answer; backoff after failures; health,
 * events and metrics; and the subscribe / refresh / close life cycle of an `EndpointSource`.
 *
 * A concrete source (DNS, etcd, file, or your own) extends `DiscoverySource` and implements
 * `start()`, `stop()` and `requestRefresh()`; it reports each answer with `accept()` and each
 * failure with `fail()`. `PollingSource` adds the timer loop for registries that are asked
 * rather than watched.
 */
import type {
  Backoff,
  Clock,
  EndpointInit,
  EndpointSource,
  EndpointSourceObserver,
  Listener,
  Random,
} from '@detour/core';
import {
  DetourConfigError,
  DetourError,
  Emitter,
  exponentialBackoff,
  normalizeEndpoint,
  systemClock,
  systemRandom,
  validate as v,
} from '@detour/core';
import { checkMetricsOptions, createSourceMetrics } from './metrics.js';
import type { SourceMetrics, SourceMetricsOptions } from './metrics.js';

/** Where a source stands. */
export type SourceState = 'starting' | 'healthy' | 'failing' | 'stopped' | 'closed';

export interface SourceHealth {
  /**
   * `starting` until the first answer or failure; `healthy` after a good answer; `failing` after
   * a failure (the last good endpoints are kept); `stopped` while nothing subscribes; `closed`.
   */
  readonly state: SourceState;
  /** Endpoints the source holds and delivers (the last good answer). */
  readonly endpoints: number;
  /** Failures since the last good answer. */
  readonly consecutiveFailures: number;
  /** When the last good answer came, in the source clock's ms; undefined before the first. */
  readonly lastSuccessAt: number | undefined;
  /** The last failure, until the next good answer. */
  readonly lastError: Error | undefined;
}

/** A record the source could not use, and why. */
export interface SkippedRecord {
  /** The record as the registry gave it (a key, a DNS record, a JSON entry), for the log. */
  readonly record: string;
  readonly reason: string;
}

/** One answer from the registry. */
export interface Resolution {
  readonly endpoints: readonly EndpointInit[];
  /** Records left out of `endpoints`, reported as `skipped` events. */
  readonly skipped?: readonly SkippedRecord[];
  /** How long the answer is good for (a DNS TTL), ms; polling sources ask again after it. */
  readonly ttlMs?: number;
}

export interface DiscoveryEvents {
  /** The source delivered a new endpoint list to its subscribers. */
  update: {
    readonly endpoints: readonly EndpointInit[];
    readonly added: readonly string[];
    readonly removed: readonly string[];
  };
  /** Asking or watching the registry failed; the last good endpoints stay. */
  error: {
    readonly error: DiscoveryError;
    readonly consecutiveFailures: number;
    /** When the source tries again, ms from now (undefined when the registry client retries on its own). */
    readonly retryInMs: number | undefined;
  };
  /** The source's state changed. */
  health: { readonly health: SourceHealth; readonly previous: SourceState };
  /** A record was malformed or unusable and left out. */
  skipped: SkippedRecord;
  /** The registry answered with no endpoints; the source kept the endpoints it had (`allowEmpty` is false). */
  empty: { readonly kept: number };
}

export type DiscoveryEventName = keyof DiscoveryEvents;

/** A registry failure, as `error` events and the pool's `source-error` carry it. */
export class DiscoveryError extends DetourError {
  /** The source's name. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super('DETOUR_DISCOVERY', `${source}: ${message}`, options);
    this.name = 'DiscoveryError';
    this.source = source;
  }
}

/** Options every source takes. */
export interface SourceOptions {
  /** Names the source in events, errors and metrics. Default: made from the registry and key. */
  readonly name?: string;
  /**
   * Whether an answer with no endpoints empties the list. Default false: while the source holds
   * endpoints, an empty answer is ignored (an `empty` event), since a registry that lost its
   * data looks the same as a service that lost every replica, and a pool with stale endpoints
   * still has a chance where an empty one has none.
   */
  readonly allowEmpty?: boolean;
  /**
   * Wait before asking (or watching) again after a failure. Default: exponential, 1 s doubling
   * to 30 s, equal jitter (each wait is between half and all of its ceiling).
   */
  readonly backoff?: Backoff;
  /**
   * Rewrites each endpoint the registry gave before it is checked and delivered: set an `id`
   * or a `group` from metadata, turn `host:port` into a URL for `createFetch`, or return
   * undefined to leave the endpoint out (filtering, not reported). A throw skips the record with
   * a `skipped` event. Default: none.
   */
  readonly map?: (endpoint: EndpointInit) => EndpointInit | undefined;
  /** OpenTelemetry metrics; false for none. Default: the global MeterProvider. */
  readonly metrics?: SourceMetricsOptions | false;
  /** Time source. Default core's `systemClock` (unref'd timers). */
  readonly clock?: Clock;
  /** Randomness for the backoff's jitter. Default `Math.random`. */
  readonly random?: Random;
}

export const sourceOptionKeys: readonly string[] = [
  'name',
  'allowEmpty',
  'map',
  'backoff',
  'metrics',
  'clock',
  'random',
];

/** The default wait after failures: 1 s, 2 s, 4 s … up to 30 s, each drawn in [ceiling/2, ceiling). */
export const defaultSourceBackoff: Backoff = exponentialBackoff({
  baseMs: 1_000,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 'equal',
});

export interface ResolvedSourceOptions {
  readonly name: string;
  readonly allowEmpty: boolean;
  readonly map: ((endpoint: EndpointInit) => EndpointInit | undefined) | undefined;
  readonly backoff: Backoff;
  readonly metrics: SourceMetricsOptions | false;
  readonly clock: Clock;
  readonly random: Random;
}

/** Returns `backoff` if it is a `Backoff`; throws `DetourConfigError` (option `backoff`) if not. */
export function checkBackoff(backoff: Backoff): Backoff {
  if (typeof (backoff as Partial<Backoff> | null)?.delay !== 'function') {
    throw new DetourConfigError('backoff', backoff, 'must be a Backoff (with a delay() method)');
  }
  return backoff;
}

/** Returns `clock` if it is a `Clock`; throws `DetourConfigError` (option `clock`) if not. */
export function checkClock(clock: Clock): Clock {
  if (typeof (clock as Partial<Clock> | null)?.setTimeout !== 'function') {
    throw new DetourConfigError('clock', clock, 'must be a Clock');
  }
  return clock;
}

/** Returns `random` if it is a `Random`; throws `DetourConfigError` (option `random`) if not. */
export function checkRandom(random: Random): Random {
  if (typeof (random as Partial<Random> | null)?.next !== 'function') {
    throw new DetourConfigError('random', random, 'must be a Random (with a next() method)');
  }
  return random;
}

/** Checks the options every source takes, at construction time. */
export function resolveSourceOptions(
  options: SourceOptions,
  defaultName: string,
): ResolvedSourceOptions {
  const backoff = checkBackoff(options.backoff ?? defaultSourceBackoff);
  const clock = checkClock(options.clock ?? systemClock);
  const random = checkRandom(options.random ?? systemRandom);
  const metrics = options.metrics ?? {};
  if (metrics !== false && (typeof metrics !== 'object' || metrics === null)) {
    throw new DetourConfigError('metrics', metrics, 'must be an object or false');
  }
  checkMetricsOptions(metrics);
  return {
    name: options.name === undefined ? defaultName : v.nonEmptyString('name', options.name),
    allowEmpty: v.boolean('allowEmpty', options.allowEmpty, false),
    map:
      options.map === undefined
        ? undefined
        : v.func<(endpoint: EndpointInit) => EndpointInit | undefined>('map', options.map),
    backoff,
    metrics,
    clock,
    random,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The base of every registry-backed source. It starts when the first pool subscribes and stops
 * when the last one leaves (or at `close()`); a subscriber that arrives later gets the last good
 * list at once.
 */
export abstract class DiscoverySource implements EndpointSource {
  /** The source's name, as in events, errors and metrics. */
  readonly name: string;
  protected readonly clock: Clock;
  protected readonly random: Random;
  readonly #allowEmpty: boolean;
  readonly #map: ((endpoint: EndpointInit) => EndpointInit | undefined) | undefined;
  readonly #backoff: Backoff;
  readonly #metricsOptions: SourceMetricsOptions | false;
  #metrics: SourceMetrics | undefined;
  readonly #emitter = new Emitter<DiscoveryEvents>();
  readonly #observers = new Set<EndpointSourceObserver>();
  #endpoints: readonly EndpointInit[] = [];
  #answered = false;
  #state: SourceState = 'stopped';
  #failures = 0;
  #lastBackoffMs = 0;
  #lastSuccessAt: number | undefined;
  #lastError: Error | undefined;
  #running = false;
  #waiters: { resolve: (list: readonly EndpointInit[]) => void; reject: (e: Error) => void }[] = [];

  protected constructor(options: ResolvedSourceOptions) {
    this.name = options.name;
    this.clock = options.clock;
    this.random = options.random;
    this.#allowEmpty = options.allowEmpty;
    this.#map = options.map;
    this.#backoff = options.backoff;
    this.#metricsOptions = options.metrics;
  }

  /** Begins asking or watching the registry. Called when the first subscriber arrives. */
  protected abstract start(): void;
  /** Stops asking or watching and releases what `start()` took. */
  protected abstract stop(): void;
  /** Asks the registry again soon (a polling source) or resynchronizes (a watching one). */
  protected abstract requestRefresh(): void;

  /** Whether the source is running (between `start()` and `stop()`). */
  protected get running(): boolean {
    return this.#running;
  }

  subscribe(observer: EndpointSourceObserver): () => void {
    if (this.#state === 'closed') {
      throw new DiscoveryError(this.name, 'the source is closed');
    }
    this.#observers.add(observer);
    if (this.#answered) observer.next({ type: 'full', endpoints: this.#endpoints });
    if (!this.#running) {
      this.#running = true;
      this.#metrics ??=
        this.#metricsOptions === false
          ? undefined
          : createSourceMetrics(this, this.#metricsOptions, this.clock);
      this.#setState('starting');
      this.start();
    }
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#observers.delete(observer);
      if (this.#observers.size === 0 && this.#running) {
        this.#running = false;
        this.stop();
        this.#setState('stopped');
      }
    };
  }

  /**
   * Asks the registry again now, not waiting for the TTL or the next poll (a pool does this when
   * many of its endpoints fail at once). Polling sources ask at most once per `minIntervalMs`.
   */
  refresh(): void {
    if (this.#running) this.requestRefresh();
  }

  /** The endpoints the source holds: the last good answer. */
  endpoints(): readonly EndpointInit[] {
    return this.#endpoints;
  }

  health(): SourceHealth {
    return {
      state: this.#state,
      endpoints: this.#endpoints.length,
      consecutiveFailures: this.#failures,
      lastSuccessAt: this.#lastSuccessAt,
      lastError: this.#lastError,
    };
  }

  /**
   * Resolves with the first good answer (at once if there was one); rejects when the source is
   * closed first. The source runs only while a pool (or anything) subscribes to it.
   */
  ready(): Promise<readonly EndpointInit[]> {
    if (this.#state === 'closed') {
      return Promise.reject(new DiscoveryError(this.name, 'the source is closed'));
    }
    if (this.#answered) return Promise.resolve(this.#endpoints);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  on<K extends DiscoveryEventName>(event: K, listener: Listener<DiscoveryEvents[K]>): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Stops the source for good, releases everything, and removes every listener. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#running) {
      this.#running = false;
      this.stop();
    }
    this.#observers.clear();
    this.#setState('closed');
    this.#emitter.clear();
    this.#metrics?.close();
    this.#metrics = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(new DiscoveryError(this.name, 'the source is closed'));
  }

  /**
   * Takes one answer from the registry: checks each endpoint (a malformed one is skipped with a
   * `skipped` event), drops duplicate ids, keeps the list if the answer is empty and `allowEmpty`
   * is false, and delivers it to subscribers if it changed. Ignored while stopped.
   */
  protected accept(resolution: Resolution): void {
    if (!this.#running) return;
    for (const skipped of resolution.skipped ?? []) this.#skip(skipped);
    const list: EndpointInit[] = [];
    const ids = new Set<string>();
    resolution.endpoints.forEach((given, i) => {
      let init: EndpointInit | undefined = given;
      let id: string;
      try {
        if (this.#map) init = this.#map(given);
        if (init === undefined) return;
        id = normalizeEndpoint(init, `endpoints[${i}]`).id;
      } catch (error) {
        this.#skip({ record: describe(given), reason: asError(error).message });
        return;
      }
      if (ids.has(id)) {
        this.#skip({ record: describe(init), reason: `duplicate endpoint id "${id}"` });
        return;
      }
      ids.add(id);
      list.push(init);
    });
    this.#failures = 0;
    this.#lastBackoffMs = 0;
    this.#lastError = undefined;
    this.#lastSuccessAt = this.clock.now();
    this.#metrics?.answered(list.length);
    if (list.length === 0 && !this.#allowEmpty && this.#endpoints.length > 0) {
      this.#emitter.emit('empty', { kept: this.#endpoints.length });
      this.#setState('healthy');
      return;
    }
    const previous = this.#answered ? this.#endpoints : [];
    const changed = !this.#answered || !sameList(previous, list);
    this.#endpoints = list;
    this.#answered = true;
    this.#setState('healthy');
    if (changed) this.#deliver(previous, list);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(list);
  }

  /**
   * Records a failure: the endpoints stay, subscribers' `error()` is called (a pool emits
   * `source-error`), and an `error` event says when the source tries again. Returns the wait
   * before the next try, from the backoff (the caller schedules it), or undefined when
   * `retry: false` says the registry client retries on its own.
   */
  protected fail(error: unknown, retry = true): number | undefined {
    if (!this.#running) return undefined;
    const wrapped =
      error instanceof DiscoveryError
        ? error
        : new DiscoveryError(this.name, asError(error).message, { cause: error });
    this.#failures++;
    this.#lastError = wrapped;
    let retryInMs: number | undefined;
    if (retry) {
      retryInMs = this.#backoff.delay(this.#failures, this.#lastBackoffMs, this.random);
      this.#lastBackoffMs = retryInMs;
    }
    this.#metrics?.failed();
    this.#setState('failing');
    this.#emitter.emit('error', {
      error: wrapped,
      consecutiveFailures: this.#failures,
      retryInMs,
    });
    for (const observer of [...this.#observers]) observer.error?.(wrapped);
    return retryInMs;
  }

  /** Reports a record left out (for sources that find malformed records outside `accept()`). */
  protected skip(record: SkippedRecord): void {
    if (this.#running) this.#skip(record);
  }

  #skip(record: SkippedRecord): void {
    this.#metrics?.skipped();
    this.#emitter.emit('skipped', record);
  }

  #deliver(previous: readonly EndpointInit[], list: readonly EndpointInit[]): void {
    const before = new Set(previous.map(idOf));
    const after = new Set(list.map(idOf));
    const added = [...after].filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !after.has(id));
    this.#metrics?.updated();
    for (const observer of [...this.#observers]) observer.next({ type: 'full', endpoints: list });
    this.#emitter.emit('update', { endpoints: list, added, removed });
  }

  #setState(state: SourceState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    if (this.#emitter.has('health'))
      this.#emitter.emit('health', { health: this.health(), previous });
  }
}

function idOf(init: EndpointInit): string {
  return init.id ?? init.address;
}

function describe(init: unknown): string {
  try {
    return JSON.stringify(init) ?? String(init);
  } catch {
    return String(init);
  }
}

function sameList(a: readonly EndpointInit[], b: readonly EndpointInit[]): boolean {
  if (a.length !== b.length) return false;
  const byId = new Map(a.map((e) => [idOf(e), e]));
  return b.every((e) => {
    const other = byId.get(idOf(e));
    return other !== undefined && describe(other) === describe(e);
  });
}

/** Options of sources that ask their registry on a timer. */
export interface PollingOptions {
  /** Interval between polls when the answer has no TTL, ms. */
  readonly intervalMs?: number;
  /** Never poll (or refresh) sooner than this after the previous poll, ms. */
  readonly minIntervalMs?: number;
  /** Never wait longer than this between polls, whatever the TTL, ms. */
  readonly maxIntervalMs?: number;
}

export const pollingOptionKeys: readonly string[] = [
  'intervalMs',
  'minIntervalMs',
  'maxIntervalMs',
];

export interface PollingDefaults {
  readonly intervalMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

export interface ResolvedPolling {
  readonly intervalMs: number;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

/** Checks polling options against each other. */
export function resolvePollingOptions(
  options: PollingOptions,
  defaults: PollingDefaults,
): ResolvedPolling {
  const minIntervalMs = v.number('minIntervalMs', options.minIntervalMs, defaults.minIntervalMs, 0);
  const maxIntervalMs = v.positive('maxIntervalMs', options.maxIntervalMs, defaults.maxIntervalMs);
  if (maxIntervalMs < minIntervalMs) {
    throw new DetourConfigError(
      'maxIntervalMs',
      maxIntervalMs,
      `must be at least minIntervalMs (${minIntervalMs})`,
    );
  }
  const intervalMs = v.positive(
    'intervalMs',
    options.intervalMs,
    Math.min(Math.max(defaults.intervalMs, minIntervalMs), maxIntervalMs),
  );
  return { intervalMs, minIntervalMs, maxIntervalMs };
}

/**
 * A source that asks its registry on a timer: after a good answer, again after its TTL (or
 * `intervalMs` without one) bounded by `minIntervalMs` and `maxIntervalMs`; after a failure,
 * after the backoff's wait. `refresh()` asks at once, but never sooner than `minIntervalMs`
 * after the previous ask.
 */
export abstract class PollingSource extends DiscoverySource {
  readonly #polling: ResolvedPolling;
  #timer: ReturnType<Clock['setTimeout']> | undefined;
  #timerAt = Infinity;
  #inflight = false;
  #refreshPending = false;
  #lastPollAt = -Infinity;
  /** Bumped by `stop()`: an answer to an earlier generation's poll is dropped. */
  #generation = 0;

  protected constructor(options: ResolvedSourceOptions, polling: ResolvedPolling) {
    super(options);
    this.#polling = polling;
  }

  /** Asks the registry once. Rejects (or resolves) as the registry answers. */
  protected abstract resolve(): Promise<Resolution>;

  protected start(): void {
    this.#poll();
  }

  protected stop(): void {
    this.#generation++;
    this.#cancelTimer();
    this.#inflight = false;
    this.#refreshPending = false;
  }

  protected requestRefresh(): void {
    if (this.#inflight) {
      this.#refreshPending = true;
      return;
    }
    const at = this.#lastPollAt + this.#polling.minIntervalMs;
    const now = this.clock.now();
    if (at <= now) this.#poll();
    else this.#schedule(at - now);
  }

  #poll(): void {
    this.#cancelTimer();
    this.#inflight = true;
    this.#refreshPending = false;
    this.#lastPollAt = this.clock.now();
    const generation = this.#generation;
    let answer: Promise<Resolution>;
    try {
      answer = Promise.resolve(this.resolve());
    } catch (error) {
      answer = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    answer.then(
      (resolution) => {
        if (generation !== this.#generation) return;
        this.#inflight = false;
        this.accept(resolution);
        const { intervalMs, minIntervalMs, maxIntervalMs } = this.#polling;
        const wait = Math.min(
          Math.max(resolution.ttlMs ?? intervalMs, minIntervalMs),
          maxIntervalMs,
        );
        this.#next(wait);
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        this.#inflight = false;
        const wait = this.fail(error) ?? this.#polling.intervalMs;
        this.#next(Math.max(wait, this.#polling.minIntervalMs));
      },
    );
  }

  #next(waitMs: number): void {
    if (!this.running) return;
    if (this.#refreshPending) {
      // A refresh asked for during the poll: as soon as `minIntervalMs` allows.
      this.#refreshPending = false;
      const earliest = this.#lastPollAt + this.#polling.minIntervalMs - this.clock.now();
      waitMs = Math.min(waitMs, Math.max(0, earliest));
    }
    this.#schedule(waitMs);
  }

  /** Polls in `delayMs`, unless a poll is already due sooner. */
  #schedule(delayMs: number): void {
    const at = this.clock.now() + delayMs;
    if (this.#timer && this.#timerAt <= at) return;
    this.#cancelTimer();
    this.#timerAt = at;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#poll();
    }, delayMs);
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
