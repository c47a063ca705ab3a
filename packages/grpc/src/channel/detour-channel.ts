/**
 * The channel a generated grpc-js client is given (`ClientOptions.channelOverride`): it
 * implements grpc-js's `Channel` interface (exported as `ChannelInterface`), and each call it
 * creates is a `DetourCall` whose attempts run on the pool's endpoints.
 *
 * Connectivity is the pool's: READY while any endpoint is eligible (healthy or probing),
 * TRANSIENT_FAILURE while none is, SHUTDOWN once closed.
 */
import { connectivityState as ConnectivityState, status as Status } from '@grpc/grpc-js';
import type { ChannelInterface } from '@grpc/grpc-js';
import type { CallHost, CallShape } from './call-host.js';
import { unknownShape } from './call-host.js';
import { CallHints } from './call-hints.js';
import { DetourCall } from './detour-call.js';
import type { CallDeadline, ChannelzRef, GrpcCall, ParentCall } from './grpc-types.js';

interface Watcher {
  readonly state: ConnectivityState;
  readonly callback: (error?: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** A method as grpc-js describes it to a `callInvocationTransformer`. */
export interface MethodShape {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** The channel's life: `close` is what `client.close()` calls; it closes the failover. */
export interface ChannelOwner {
  close(): void;
  readonly closed: boolean;
}

export class DetourChannel implements ChannelInterface {
  readonly #host: CallHost;
  readonly #owner: ChannelOwner;
  readonly #watchers = new Set<Watcher>();
  #unsubscribe: (() => void) | undefined;
  readonly #channelzRef: ChannelzRef;
  /**
   * `forMethod()`'s views by path, then by shape (index: request stream 2, response stream 1).
   * Not by definition object: grpc-js makes a new one for every call.
   */
  readonly #views = new Map<string, (ChannelInterface | undefined)[]>();
  /** Shapes of methods described with `describeMethod()`, by path. */
  readonly #shapes = new Map<string, CallShape>();
  readonly #hints = new CallHints();

  constructor(host: CallHost, owner: ChannelOwner) {
    this.#host = host;
    this.#owner = owner;
    // channelz does not know this channel: a reference that names it, with no registered id.
    this.#channelzRef = { kind: 'channel', id: 0, name: host.target } as unknown as ChannelzRef;
  }

  /** Closes the failover that owns this channel (grpc-js: `client.close()` closes the channel). */
  close(): void {
    this.#owner.close();
  }

  getTarget(): string {
    return this.#host.target;
  }

  /**
   * READY if any endpoint is eligible, else TRANSIENT_FAILURE; SHUTDOWN once closed. With
   * `tryToConnect`, every endpoint's channel starts connecting (as `waitForReady` expects).
   */
  getConnectivityState(tryToConnect: boolean): ConnectivityState {
    if (this.#owner.closed) return ConnectivityState.SHUTDOWN;
    const members = this.#host.pool.members();
    if (tryToConnect) {
      for (const record of members) {
        this.#host.channels.get(record.endpoint).getConnectivityState(true);
      }
    }
    for (const record of members) {
      if (record.status === 'healthy' || record.status === 'probing') {
        return ConnectivityState.READY;
      }
    }
    return ConnectivityState.TRANSIENT_FAILURE;
  }

  watchConnectivityState(
    currentState: ConnectivityState,
    deadline: Date | number,
    callback: (error?: Error) => void,
  ): void {
    if (this.#owner.closed) throw new Error('Channel has been shut down');
    const watcher: Watcher = { state: currentState, callback, timer: undefined };
    const ms = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
    if (ms !== Infinity) {
      watcher.timer = setTimeout(
        () => {
          this.#removeWatcher(watcher);
          callback(new Error('Deadline passed without connectivity state change'));
        },
        Math.max(0, ms),
      );
    }
    this.#watchers.add(watcher);
    this.#listen();
    if (this.getConnectivityState(false) !== currentState) process.nextTick(() => this.#notify());
  }

  getChannelzRef(): ChannelzRef {
    return this.#channelzRef;
  }

  createCall(
    method: string,
    deadline: CallDeadline,
    host: string | null | undefined,
    parentCall: ParentCall,
    propagateFlags: number | null | undefined,
  ): GrpcCall {
    const shape = this.#shapes.get(method) ?? unknownShape;
    return this.#createCall(method, deadline, host, parentCall, propagateFlags, shape);
  }

  /**
   * Records whether a method's request and response stream, for calls made on the channel
   * itself rather than through a `forMethod()` view: clients that cannot give the channel a
   * method definition (nice-grpc; `detourNiceGrpc()`'s middleware calls this). A later call
   * for the same path keeps the first description.
   */
  describeMethod(method: MethodShape): void {
    if (this.#shapes.has(method.path)) return;
    if (
      typeof method.path !== 'string' ||
      typeof method.requestStream !== 'boolean' ||
      typeof method.responseStream !== 'boolean'
    ) {
      throw new TypeError(
        'DetourChannel#describeMethod: expected { path: string, requestStream: boolean, responseStream: boolean }',
      );
    }
    this.#shapes.set(
      method.path,
      Object.freeze({ requestStream: method.requestStream, responseStream: method.responseStream }),
    );
  }

  /**
   * The value of the `detour-idempotent` request header that makes one call on this channel
   * idempotent (`true`: retried after any retryable failure, hedged when `call.hedge` is set) or
   * not (`false`), whatever `idempotentMethods` and the pool's `call.idempotent` say. The call
   * removes the header before sending; a value this channel did not make (such as one copied
   * from an incoming request) is removed and ignored.
   *
   *   metadata.set('detour-idempotent', failover.channel.idempotencyHint(true));
   */
  idempotencyHint(idempotent: boolean): string {
    return this.#hints.idempotency(idempotent === true);
  }

  /**
   * A view of this channel for one method whose definition is known, so that its calls know
   * whether request and response stream (`clientOptions()` installs it through grpc-js's
   * `callInvocationTransformer`).
   */
  forMethod(method: MethodShape): ChannelInterface {
    let byShape = this.#views.get(method.path);
    const index = (method.requestStream ? 2 : 0) + (method.responseStream ? 1 : 0);
    let view = byShape?.[index];
    if (view) return view;
    const shape: CallShape = {
      requestStream: method.requestStream,
      responseStream: method.responseStream,
    };
    view = {
      close: () => this.close(),
      getTarget: () => this.getTarget(),
      getConnectivityState: (tryToConnect) => this.getConnectivityState(tryToConnect),
      watchConnectivityState: (state, deadline, callback) =>
        this.watchConnectivityState(state, deadline, callback),
      getChannelzRef: () => this.getChannelzRef(),
      createCall: (method, deadline, host, parentCall, propagateFlags) =>
        this.#createCall(method, deadline, host, parentCall, propagateFlags, shape),
    };
    if (!byShape) {
      byShape = [undefined, undefined, undefined, undefined];
      this.#views.set(method.path, byShape);
    }
    byShape[index] = view;
    return view;
  }

  /**
   * Called by the owner when it closes: cancels the calls in flight with UNAVAILABLE and ends
   * every watch (the state is now SHUTDOWN).
   */
  shutdown(): void {
    for (const call of [...this.#host.active]) {
      call.cancelWithStatus(Status.UNAVAILABLE, 'Channel has been shut down');
    }
    this.#views.clear();
    this.#notify();
  }

  #createCall(
    method: string,
    deadline: CallDeadline,
    host: string | null | undefined,
    parentCall: ParentCall,
    propagateFlags: number | null | undefined,
    shape: CallShape,
  ): GrpcCall {
    if (typeof method !== 'string')
      throw new TypeError('Channel#createCall: method must be a string');
    if (!(typeof deadline === 'number' || deadline instanceof Date)) {
      throw new TypeError('Channel#createCall: deadline must be a number or Date');
    }
    if (this.#owner.closed) throw new Error('Channel has been shut down');
    return new DetourCall(
      this.#host,
      method,
      deadline,
      host,
      parentCall,
      propagateFlags,
      shape,
      this.#hints,
    );
  }

  /** Follows the pool's state changes while someone watches. */
  #listen(): void {
    if (this.#unsubscribe) return;
    const pool = this.#host.pool;
    const check = (): void => this.#notify();
    const offs = [
      pool.on('state-change', check),
      pool.on('endpoint-added', check),
      pool.on('endpoint-removed', check),
    ];
    this.#unsubscribe = () => offs.forEach((off) => off());
  }

  /** Calls back every watcher whose state changed. */
  #notify(): void {
    const now = this.getConnectivityState(false);
    for (const watcher of [...this.#watchers]) {
      if (watcher.state === now) continue;
      this.#removeWatcher(watcher);
      watcher.callback();
    }
  }

  #removeWatcher(watcher: Watcher): void {
    if (watcher.timer) clearTimeout(watcher.timer);
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0 && this.#unsubscribe) {
      this.#unsubscribe();
      this.#unsubscribe = undefined;
    }
  }
}
