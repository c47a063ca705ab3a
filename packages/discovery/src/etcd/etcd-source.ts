/**
 * An endpoint source that watches an etcd key prefix laid out as gRPC-Go's etcd naming lays it
 * out (`etcd-value.ts`): `<service>/<anything>` → `{"Addr":…,"Metadata":…}`.
 *
 * It lists the prefix with a range get, then watches from the revision after that answer, the
 * way gRPC-Go's `endpoints.Manager.NewWatchChannel` does. Puts and deletes change the list; a
 * burst of them is delivered once, on the next timer tick. A watch silent for
 * `progressIntervalMs` is asked for its progress, so that a dead one is found. When the watch
 * fails (etcd stopped, unreachable or frozen, the stream ended) the source reports the failure,
 * keeps its endpoints, and lists again after the backoff: the events of the outage may have been
 * compacted away, and a fresh list is right whatever happened. `refresh()` lists again too.
 *
 * It watches through `etcd3`'s raw watch stream (`client.watchClient`), not `client.watch()`:
 * that watcher reconnects on timers of its own, which outlive `close()`, and replays from a
 * revision that may be compacted, while this source re-lists anyway.
 */
import { Range } from 'etcd3';
import type { Etcd3, IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse } from 'etcd3';
import type { EndpointInit, Timer } from '@detour/core';
import { validate as v } from '@detour/core';
import {
  DiscoveryError,
  DiscoverySource,
  resolveSourceOptions,
  sourceOptionKeys,
} from '../source.js';
import type { SourceOptions } from '../source.js';
import {
  checkOptionKeys,
  endStream,
  etcdConnectionOptionKeys,
  resolveEtcdConnection,
} from './etcd-client.js';
import type { EtcdConnection, EtcdConnectionOptions } from './etcd-client.js';
import { parseEtcdRecord, servicePrefix } from './etcd-value.js';

/** Options of `etcdSource()`: how to reach etcd, which service, and every source's options. */
export interface EtcdSourceOptions extends SourceOptions, EtcdConnectionOptions {
  /**
   * The service, as gRPC-Go's target names it (`greeter` for `etcd:///greeter`): the source
   * watches the keys under `<service>/`. Required; must not end with `/`.
   */
  readonly service: string;
  /**
   * Time etcd has to answer the list (a range get), the watch request and each progress request,
   * ms. Default 5000: long enough for a loaded etcd, short enough that a frozen or black-holed
   * one is reported (and the list retried) within seconds.
   */
  readonly requestTimeoutMs?: number;
  /**
   * `refresh()` lists again at most once per this interval, ms; a refresh asked for sooner runs
   * when the interval has passed. Default 1000. A pool calls `refresh()` when many of its
   * endpoints fail at once, which can happen on every call of a failing burst.
   */
  readonly minRefreshIntervalMs?: number;
  /**
   * After this long without a word from the watch, ms, the source sends a progress request (etcd
   * 3.4 and later), which etcd answers with the revision the watch has reached. The answer keeps
   * `health().lastSuccessAt` and the staleness metric current while nothing changes; no answer
   * within `requestTimeoutMs` counts as a failed watch (a frozen or black-holed etcd, a stream
   * that died silently), and the source lists again. Default 10000; 0 sends none (etcd 3.3).
   */
  readonly progressIntervalMs?: number;
}

const optionKeys = [
  ...sourceOptionKeys,
  ...etcdConnectionOptionKeys,
  'service',
  'requestTimeoutMs',
  'minRefreshIntervalMs',
  'progressIntervalMs',
];

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Watches `<service>/` in etcd and delivers its endpoints (see the module comment). Made by
 * `etcdSource()`; it starts when the first subscriber arrives (a pool given it as `source`).
 */
export class EtcdSource extends DiscoverySource {
  /** The service whose keys are watched. */
  readonly service: string;
  /** The watched key prefix, `<service>/`. */
  readonly prefix: string;
  readonly #connection: EtcdConnection;
  readonly #range: Range;
  readonly #requestTimeoutMs: number;
  readonly #minRefreshIntervalMs: number;
  readonly #progressIntervalMs: number;
  #client: Etcd3 | undefined;
  /** Bumped whenever the current list-and-watch is abandoned; an older one's answers are dropped. */
  #attempt = 0;
  #stream: WatchStream | undefined;
  #retryTimer: Timer | undefined;
  #refreshTimer: Timer | undefined;
  #flushTimer: Timer | undefined;
  /** Sends the next progress request, or fails the watch that has not answered in time. */
  #progressTimer: Timer | undefined;
  /** The endpoint of each key that names one. */
  #records = new Map<string, EndpointInit>();
  #lastListAt = -Infinity;

  /** Checks `options` (throws `DetourConfigError`); use `etcdSource()`. */
  constructor(options: EtcdSourceOptions) {
    checkOptionKeys(options, optionKeys);
    const prefix = servicePrefix(options.service);
    const service = prefix.slice(0, -1);
    const connection = resolveEtcdConnection(options);
    super(resolveSourceOptions(options, `etcd:${service}`));
    this.service = service;
    this.prefix = prefix;
    this.#connection = connection;
    this.#range = Range.prefix(prefix);
    this.#requestTimeoutMs = v.positive('requestTimeoutMs', options.requestTimeoutMs, 5_000);
    this.#minRefreshIntervalMs = v.number(
      'minRefreshIntervalMs',
      options.minRefreshIntervalMs,
      1_000,
    );
    this.#progressIntervalMs = v.number('progressIntervalMs', options.progressIntervalMs, 10_000);
  }

  protected start(): void {
    this.#client ??= this.#connection.create();
    this.#list();
  }

  protected stop(): void {
    this.#abandon();
    this.#flushTimer?.cancel();
    this.#flushTimer = undefined;
    if (this.#connection.owned) {
      this.#client?.close();
      this.#client = undefined;
    }
  }

  protected requestRefresh(): void {
    if (this.#refreshTimer) return;
    const wait = this.#lastListAt + this.#minRefreshIntervalMs - this.clock.now();
    if (wait <= 0) {
      this.#list();
      return;
    }
    this.#refreshTimer = this.clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      this.#list();
    }, wait);
  }

  /** Drops the current list-and-watch: its stream, its pending retry, refresh or progress request. */
  #abandon(): void {
    this.#attempt++;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) endStream(stream);
    this.#progressTimer?.cancel();
    this.#progressTimer = undefined;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    this.#refreshTimer?.cancel();
    this.#refreshTimer = undefined;
  }

  /** Lists the prefix, then watches from the revision after the answer. */
  #list(): void {
    this.#abandon();
    const attempt = this.#attempt;
    this.#lastListAt = this.clock.now();
    this.#client!.kv.range(
      { key: this.#range.start, range_end: this.#range.end },
      { deadline: Date.now() + this.#requestTimeoutMs },
    ).then(
      (response) => {
        if (attempt !== this.#attempt) return;
        const records = new Map<string, EndpointInit>();
        for (const kv of response.kvs) this.#read(records, kv);
        this.#records = records;
        this.#flushTimer?.cancel();
        this.#flushTimer = undefined;
        this.#flush();
        this.#watch(attempt, (BigInt(response.header.revision) + 1n).toString());
      },
      (error: unknown) => {
        if (attempt === this.#attempt) this.#failed('listing', error);
      },
    );
  }

  #watch(attempt: number, fromRevision: string): void {
    this.#client!.watchClient.watch().then(
      (stream) => {
        if (attempt !== this.#attempt) {
          stream.on('error', () => undefined);
          endStream(stream);
          return;
        }
        this.#stream = stream;
        stream.on('data', (response) => {
          if (attempt !== this.#attempt) return;
          this.#watched(response);
          if (attempt === this.#attempt) this.#heard();
        });
        stream.on('error', (error) => {
          if (attempt === this.#attempt) this.#failed('watching', error);
        });
        stream.on('end', () => {
          if (attempt === this.#attempt) this.#failed('watching', 'the watch stream ended');
        });
        stream.write({
          create_request: {
            key: this.#range.start,
            range_end: this.#range.end,
            start_revision: fromRevision,
          },
        });
        this.#awaitAnswer('the watch request');
      },
      (error: unknown) => {
        if (attempt === this.#attempt) this.#failed('watching', error);
      },
    );
  }

  #watched(response: IWatchResponse): void {
    if (response.canceled) {
      if (response.compact_revision !== '0' && response.compact_revision !== '') {
        // The revision after our list was compacted away before the watch began: list again.
        this.#list();
        return;
      }
      this.#failed('watching', `etcd canceled the watch: ${response.cancel_reason || 'no reason'}`);
      return;
    }
    for (const event of response.events) {
      // etcd3 types the event type as 'Put' | 'Delete'; compare without case all the same.
      if (String(event.type).toUpperCase() === 'DELETE') {
        this.#records.delete(event.kv.key.toString());
      } else {
        this.#read(this.#records, event.kv);
      }
    }
    // Also when the watch is created or answers a progress request: the list is confirmed current.
    this.#flushSoon();
  }

  /** The watch answered: it is alive. Asks for its progress after `progressIntervalMs` of silence. */
  #heard(): void {
    this.#progressTimer?.cancel();
    this.#progressTimer = undefined;
    if (this.#progressIntervalMs === 0) return;
    this.#progressTimer = this.clock.setTimeout(() => {
      this.#progressTimer = undefined;
      this.#stream?.write({ progress_request: {} });
      this.#awaitAnswer('a progress request');
    }, this.#progressIntervalMs);
  }

  /** Fails the watch unless it answers within `requestTimeoutMs`. */
  #awaitAnswer(what: string): void {
    this.#progressTimer?.cancel();
    this.#progressTimer = this.clock.setTimeout(() => {
      this.#progressTimer = undefined;
      this.#failed('watching', `etcd did not answer ${what} within ${this.#requestTimeoutMs} ms`);
    }, this.#requestTimeoutMs);
  }

  /** Reads one key into `records`: its endpoint, or nothing (reporting a malformed value). */
  #read(records: Map<string, EndpointInit>, kv: IKeyValue): void {
    const key = kv.key.toString();
    const record = parseEtcdRecord(key, kv.value.toString());
    if (record.kind === 'endpoint') {
      records.set(key, record.endpoint);
      return;
    }
    records.delete(key);
    if (record.kind === 'skipped') this.skip({ record: key, reason: record.reason });
  }

  /** Delivers on the next timer tick, so that a burst of changes makes one update. */
  #flushSoon(): void {
    this.#flushTimer ??= this.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, 0);
  }

  /** Delivers the endpoints of every key, in key order (the first key wins a duplicate address). */
  #flush(): void {
    const keys = [...this.#records.keys()].sort();
    this.accept({ endpoints: keys.map((key) => this.#records.get(key)!) });
  }

  #failed(action: 'listing' | 'watching', error: unknown): void {
    this.#abandon();
    const wrapped = new DiscoveryError(
      this.name,
      `${action} ${this.prefix} failed: ${message(error)}`,
      { cause: error },
    );
    const waitMs = this.fail(wrapped);
    if (waitMs === undefined || !this.running) return;
    this.#retryTimer = this.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#list();
    }, waitMs);
  }
}

/**
 * A source of the endpoints registered in etcd under `<service>/`, in gRPC-Go's etcd naming
 * layout, so Go and Node clients and servers share one registry. Checks `options` at once
 * (throws `DetourConfigError`).
 *
 * ```ts
 * const source = etcdSource({ hosts: 'http://127.0.0.1:2379', service: 'greeter' });
 * const failover = createGrpcFailover({ source, call: { attemptTimeoutMs: 300 } });
 * ```
 */
export function etcdSource(options: EtcdSourceOptions): EtcdSource {
  return new EtcdSource(options);
}
