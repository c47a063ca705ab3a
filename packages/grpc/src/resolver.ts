/**
 * A grpc-js name resolver for the `detour` scheme: `detour:///<name>` resolves to the endpoints
 * of the pool registered under `<name>`, and pushes an update whenever the pool's membership
 * changes (a discovery source added or drained an endpoint). Nothing is registered on import:
 * call `registerDetourResolver()` once, explicitly.
 *
 * Relies on grpc-js's `experimental.registerResolver` and the `Resolver` contract. The listener
 * changed shape in grpc-js 1.12 (an object with `onSuccessfulResolution` before, a function
 * returning a boolean since); both are handled.
 */
import * as grpc from '@grpc/grpc-js';
import type { Pool } from '@detour/core';
import { DetourConfigError } from '@detour/core';

type GrpcUri = grpc.experimental.GrpcUri;
type Endpoint = grpc.experimental.Endpoint;

/** The listener of grpc-js ≥ 1.12. */
type ListenerFunction = (
  endpoints: unknown,
  attributes: Record<string, unknown>,
  serviceConfig: unknown,
  resolutionNote: string,
) => boolean;

/** The listener of grpc-js < 1.12. */
interface ListenerObject {
  onSuccessfulResolution(
    endpoints: Endpoint[],
    serviceConfig: unknown,
    serviceConfigError: unknown,
    configSelector: unknown,
    attributes: Record<string, unknown>,
  ): void;
  onError(error: { code: grpc.status; details: string; metadata: grpc.Metadata }): void;
}

/** The scheme this resolver serves. */
export const detourScheme = 'detour';

const pools = new Map<string, Pool>();
let registered = false;

/** `host:port` or `[v6]:port` to a grpc-js TCP address. */
export function toSubchannelAddress(address: string): { host: string; port: number } | undefined {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: match[1]!, port };
}

class DetourResolver implements grpc.experimental.Resolver {
  readonly #name: string;
  readonly #listener: ListenerFunction | ListenerObject;
  #unsubscribe: (() => void) | undefined;
  #scheduled = false;
  /**
   * What the last report said (the addresses, or the error): a report that would say the same
   * again is not made. grpc-js asks for a new resolution (`updateResolution()`) whenever a
   * subchannel goes away or fails; answering each request with a report makes the balancer
   * process it, which can ask again at once, a loop that never leaves the microtask queue. The
   * pool pushes every change of its membership, so a repeated answer would carry nothing new.
   */
  #lastReport: string | undefined;

  constructor(target: GrpcUri, listener: ListenerFunction | ListenerObject) {
    this.#name = target.path.replace(/^\/+/, '');
    this.#listener = listener;
  }

  updateResolution(): void {
    const pool = pools.get(this.#name);
    if (pool && !this.#unsubscribe) {
      const offAdded = pool.on('endpoint-added', () => this.#schedule());
      const offRemoved = pool.on('endpoint-removed', () => this.#schedule());
      const offChanged = pool.on('state-change', (e) => {
        if (e.to === 'draining' || e.from === 'draining') this.#schedule();
      });
      this.#unsubscribe = () => {
        offAdded();
        offRemoved();
        offChanged();
      };
    }
    this.#schedule();
  }

  destroy(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  /** Reports on a later turn: grpc-js forbids calling the listener synchronously. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#report();
    });
  }

  #report(): void {
    const pool = pools.get(this.#name);
    const listener = this.#listener;
    if (!pool || pool.closed) {
      const details = `detour: no pool is registered as "${this.#name}"`;
      if (this.#lastReport === details) return;
      this.#lastReport = details;
      if (typeof listener === 'function') {
        listener(
          {
            ok: false,
            error: { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() },
          },
          {},
          null,
          details,
        );
      } else {
        listener.onError({ code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() });
      }
      return;
    }
    const endpoints: Endpoint[] = [];
    for (const record of pool.members()) {
      const address = toSubchannelAddress(record.endpoint.address);
      if (address) endpoints.push({ addresses: [address] });
    }
    const report = JSON.stringify(endpoints);
    if (this.#lastReport === report) return;
    this.#lastReport = report;
    if (typeof listener === 'function') listener({ ok: true, value: endpoints }, {}, null, '');
    else listener.onSuccessfulResolution(endpoints, null, null, null, {});
  }

  static getDefaultAuthority(target: GrpcUri): string {
    return target.path.replace(/^\/+/, '');
  }
}

/**
 * Registers the `detour` scheme with grpc-js (once per process) and serves `pool` as
 * `detour:///<name>`. Returns a function that stops serving that name. A plain grpc-js channel
 * then balances over the pool's endpoints with its own policy (round_robin, or detour's).
 */
export function registerDetourResolver(name: string, pool: Pool): () => void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
    throw new DetourConfigError('name', name, 'must be a non-empty name without "/"');
  }
  if (pools.has(name) && pools.get(name) !== pool) {
    throw new DetourConfigError('name', name, 'is already registered for another pool');
  }
  if (!registered) {
    type Constructor = Parameters<typeof grpc.experimental.registerResolver>[1];
    grpc.experimental.registerResolver(detourScheme, DetourResolver as unknown as Constructor);
    registered = true;
  }
  pools.set(name, pool);
  return () => {
    if (pools.get(name) === pool) pools.delete(name);
  };
}
