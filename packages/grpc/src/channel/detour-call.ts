/**
 * One client call on the detour channel. To the grpc-js client it is an ordinary call object
 * (`start`, `sendMessageWithContext`, `halfClose`, `startRead`, `cancelWithStatus`); behind it,
 * `pool.start()` runs attempts on the endpoints' own channels and the winner's response is
 * passed on.
 *
 * - Request: messages are kept (up to `replayBufferBytes`) so that another attempt can replay
 *   them. A request that is complete before any attempt starts (unary, server streaming, and
 *   client streaming within the buffer) runs when the client half-closes. A request stream that
 *   stays open (bidi) starts at once and its messages go live to the running attempt as well. A
 *   request that outgrows the buffer is committed: its single attempt is never retried.
 * - Response: a unary response succeeds with its OK status; a streaming response wins with its
 *   first message, after which the stream is passed on as it comes and a failure ends the call
 *   (nothing is retried once the client may have seen a message).
 * - Deadline, cancellation (also from a parent server call) and errors become the statuses a
 *   client without detour would see (`call-status.ts`).
 * - Idempotency: a `detour-idempotent` request header made by the channel
 *   (`DetourChannel.idempotencyHint()`, set by the nice-grpc middleware) decides for this call;
 *   without one, the failover's `idempotentMethods`, then the pool's `call.idempotent`. The header
 *   is removed before any attempt is sent (`call-hints.ts`).
 */
import { Metadata, propagate as Propagate, status as Status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import type {
  AttemptContext,
  AttemptResult,
  Classification,
  Endpoint,
  ExecuteOptions,
  RunningCall,
} from '@detour/core';
import { grpcTimeout } from './endpoint-subchannel.js';
import { markSentWhenReady } from './sent-mark.js';
import { AttemptCall } from './attempt-call.js';
import type { AttemptResponse, AttemptSink } from './attempt-call.js';
import type { CallHints } from './call-hints.js';
import type { CallHost, CallShape } from './call-host.js';
import { statusFromCallError } from './call-status.js';
import type {
  AuthContextLike,
  CallCredentialsLike,
  CallDeadline,
  CallListener,
  GrpcCall,
  MessageContext,
  ParentCall,
} from './grpc-types.js';

interface RequestMessage {
  readonly flags: number | undefined;
  readonly message: Buffer;
}

/** The reason the pool's call is cancelled with when the client ends the call. */
class CallAbandonedError extends Error {
  constructor(status: StatusObject) {
    super(`${Status[status.code]}: ${status.details}`);
    this.name = 'AbortError';
  }
}

let nextCallNumber = 1;

function toEpochMs(deadline: CallDeadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

export class DetourCall implements GrpcCall, AttemptSink {
  readonly #host: CallHost;
  readonly #method: string;
  readonly #deadline: number;
  readonly #authority: string | null | undefined;
  readonly #propagateFlags: number | null | undefined;
  readonly #shape: CallShape;
  readonly #hints: CallHints;
  /** This call's idempotency from its request header; undefined: the failover's or pool's. */
  #idempotent: boolean | undefined;
  readonly #callNumber = nextCallNumber++;
  /** The pool's call, once started. */
  #running: RunningCall<unknown> | undefined;
  #parent: ParentCall = null;
  /** Listens to the parent's cancellation; made only for a call that propagates it. */
  #onParentCancelled: (() => void) | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;

  #metadata: Metadata | undefined;
  #listener: CallListener | undefined;
  #credentials: CallCredentialsLike | undefined;

  /** Request messages for the next attempt; undefined once no attempt can start any more. */
  #replay: RequestMessage[] | undefined = [];
  #replayBytes = 0;
  #halfClosed = false;
  /** The request outgrew the replay buffer: the attempt running (or starting next) is the last. */
  #committed = false;
  /** `pool.start()` was called. */
  #started = false;
  /** Attempts that take request messages as they come (open request streams). */
  #live: AttemptCall[] = [];
  #lastAttempt: AttemptCall | undefined;
  /** The winning attempt, whose response is passed on. */
  #winner: AttemptCall | undefined;
  #winnerReading = false;

  /** Reads the client asked for (`startRead`) and has not been given a message for. */
  #reads = 0;
  readonly #pending: Buffer[] = [];
  #pendingStatus: StatusObject | undefined;
  #draining = false;
  /** The call's final status is decided: nothing more reaches the listener but that status. */
  #ended = false;
  #finalStatus: StatusObject | undefined;
  #statusDelivered = false;

  constructor(
    host: CallHost,
    method: string,
    deadline: CallDeadline,
    authority: string | null | undefined,
    parent: ParentCall,
    propagateFlags: number | null | undefined,
    shape: CallShape,
    hints: CallHints,
  ) {
    this.#host = host;
    this.#hints = hints;
    this.#method = method;
    this.#authority = authority;
    this.#propagateFlags = propagateFlags;
    this.#shape = shape;
    let epochMs = toEpochMs(deadline);
    const flags = propagateFlags ?? Propagate.DEFAULTS;
    if (parent) {
      if (flags & Propagate.DEADLINE) epochMs = Math.min(epochMs, toEpochMs(parent.getDeadline()));
      if (flags & Propagate.CANCELLATION) {
        this.#parent = parent;
        this.#onParentCancelled = () => this.#cancelledByParent();
        parent.on('cancelled', this.#onParentCancelled);
      }
    }
    this.#deadline = epochMs;
    host.active.add(this);
    // While the pool's call runs, its attempts are timed to end by the deadline, so the call
    // needs a timer of its own only before (a request still being written) and after (a
    // response stream passed on): a unary call, begun in this turn and ended with its status,
    // never makes one.
    if (epochMs !== Infinity) queueMicrotask(() => this.#awaitDeadline(false));
  }

  /** Times the deadline unless the pool's call runs now (`won`: it just ended, won). */
  #awaitDeadline(won: boolean): void {
    if (this.#ended || this.#deadlineTimer || (this.#started && !won)) return;
    const timeout = Math.max(0, this.#deadline - Date.now());
    // The call is the timer's argument: no closure.
    this.#deadlineTimer = setTimeout(DetourCall.#deadlinePassed, timeout, this);
    this.#deadlineTimer.unref?.();
  }

  // --- the call interface, as the grpc-js client drives it ---

  start(metadata: Metadata, listener: CallListener): void {
    this.#idempotent = this.#hints.take(metadata);
    this.#metadata = metadata;
    this.#listener = listener;
    if (this.#ended) {
      process.nextTick(() => this.#deliverStatus());
      return;
    }
    const { requestStream, responseStream } = this.#shape;
    if (requestStream === true && responseStream === true) this.#begin();
    else if (requestStream === undefined) {
      // A request that is complete in this turn (unary, or a stream ended at once) is buffered;
      // one still open after it is a stream that may wait for responses: start it now.
      queueMicrotask(() => {
        if (!this.#started && !this.#halfClosed && !this.#ended) this.#begin();
      });
    }
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    if (this.#ended) {
      context.callback?.();
      return;
    }
    if (!this.#committed && this.#replayBytes + message.length > this.#host.replayBufferBytes) {
      this.#committed = true;
    }
    const targets = this.#targets();
    if (this.#committed && targets.length > 0) this.#replay = undefined;
    if (this.#replay) {
      this.#replay.push({ flags: context.flags, message });
      this.#replayBytes += message.length;
    }
    if (this.#committed && targets.length === 1) {
      // The one attempt left: its flow control is the call's.
      targets[0]!.send(context.flags, message, context.callback);
    } else {
      for (const attempt of targets) attempt.send(context.flags, message);
      context.callback?.();
    }
    if (this.#committed && !this.#started) this.#begin();
  }

  halfClose(): void {
    if (this.#ended || this.#halfClosed) return;
    this.#halfClosed = true;
    if (!this.#started) {
      this.#begin();
      return;
    }
    for (const attempt of this.#targets()) attempt.halfClose();
  }

  startRead(): void {
    this.#reads++;
    this.#drain();
  }

  cancelWithStatus(status: Status, details: string): void {
    this.#abandon({ code: status, details, metadata: new Metadata() });
  }

  getPeer(): string {
    return (this.#winner ?? this.#lastAttempt)?.call.getPeer() ?? this.#host.target;
  }

  getCallNumber(): number {
    return this.#callNumber;
  }

  setCredentials(credentials: CallCredentialsLike): void {
    this.#credentials = credentials;
  }

  getAuthContext(): AuthContextLike {
    return (this.#winner ?? this.#lastAttempt)?.call.getAuthContext() ?? null;
  }

  // --- running attempts ---

  #targets(): readonly AttemptCall[] {
    return this.#winner ? [this.#winner] : this.#live;
  }

  /** Starts the pool's call: now with the request complete, or live for an open stream. */
  #begin(): void {
    this.#started = true;
    let running: RunningCall<unknown>;
    try {
      const options = this.#executeOptions();
      if (!options) return;
      running = this.#host.pool.start(this.#operation, options);
    } catch (error) {
      // A closed pool, or an `idempotentMethods` function that threw: the status still comes
      // on a later turn, as grpc-js never calls back from inside a call's method.
      if (!this.#ended) this.#end(statusFromCallError(error), true);
      return;
    }
    this.#running = running;
    // Abandoned while the first attempt started: `#abandon()` had no call to cancel yet.
    if (this.#ended) running.cancel(new CallAbandonedError(this.#finalStatus!));
    running.result.then(
      (response) => this.#onWon(response as AttemptResponse),
      (error: unknown) => this.#onFailed(error),
    );
  }

  /** This call's options for `pool.start()`; undefined when its deadline has already passed. */
  #executeOptions(): ExecuteOptions<unknown> | undefined {
    const options: { -readonly [K in keyof ExecuteOptions<unknown>]: ExecuteOptions<unknown>[K] } =
      { classifier: this.#classify };
    if (this.#deadline !== Infinity) {
      const left = this.#deadline - Date.now();
      if (left <= 0) {
        this.#onDeadline();
        return undefined;
      }
      options.deadlineMs = left;
    }
    const idempotent = this.#idempotent ?? this.#host.isIdempotent?.(this.#method);
    if (idempotent !== undefined) options.idempotent = idempotent;
    if (!this.#halfClosed) options.hedge = false; // an open stream feeds one attempt at a time
    if (this.#committed) {
      // Nothing to replay: one attempt, bounded by the call's deadline alone.
      options.maxAttempts = 1;
      options.attemptTimeoutMs = Infinity;
    }
    return options;
  }

  /**
   * One attempt on `endpoint`: a real call on its channel, or straight on its connection (a unary
   * call on a READY endpoint, `EndpointChannels.direct()`), fed the request so far.
   */
  readonly #operation = (endpoint: Endpoint, context: AttemptContext): Promise<AttemptResponse> => {
    const channels = this.#host.channels;
    const channel = channels.get(endpoint);
    // A unary attempt carries what is left of the call's deadline (the pool's `deadlineMs`
    // included), as gRPC's own retries do; a stream's deadline stays the gRPC call's, since the
    // pool's call ends at its first message. The attempt timeout is core's timer, which cancels
    // the attempt: unlike grpc-js's deadline timer, it reads an answer that came while this
    // process was stalled before it judges.
    const untilStatus = this.#shape.responseStream === false;
    let deadline = this.#deadline;
    if (untilStatus && !this.#committed && context.deadlineLeftMs !== Infinity) {
      deadline = Math.min(deadline, Date.now() + context.deadlineLeftMs);
    }
    // A unary attempt on a READY endpoint goes straight on its connection (`direct()`), unless it
    // needs what only the whole channel does: call credentials of its own, or another authority.
    const direct =
      untilStatus &&
      this.#shape.requestStream === false &&
      !this.#credentials &&
      this.#authority == null
        ? channels.direct(endpoint)
        : undefined;
    let call: GrpcCall;
    // grpc-js copies the metadata a call on a channel starts with (`ResolvingCall.start()`, in
    // every grpc-js this package supports), so the first attempt there can be given the caller's
    // own; a later one gets a copy that says how many went before it. A direct call does not
    // copy it and sets no deadline of its own: it gets a copy that carries the deadline.
    let metadata = this.#metadata!;
    if (direct) {
      call = direct.createCall(this.#method, Infinity, undefined, null, undefined);
      metadata = metadata.clone();
      if (deadline !== Infinity) metadata.set('grpc-timeout', grpcTimeout(deadline - Date.now()));
    } else {
      call = channel.createCall(
        this.#method,
        deadline,
        this.#authority,
        null,
        this.#propagateFlags,
      );
      if (this.#credentials) call.setCredentials(this.#credentials);
      markSentWhenReady(channel, context, deadline);
      if (context.previousAttempts > 0) metadata = metadata.clone();
    }
    if (context.previousAttempts > 0) {
      metadata.set('grpc-previous-rpc-attempts', String(context.previousAttempts));
    }
    const attempt = new AttemptCall(call, untilStatus, context);
    this.#lastAttempt = attempt;
    attempt.start(metadata);
    for (const { flags, message } of this.#replay ?? []) attempt.send(flags, message);
    if (this.#committed) this.#replay = undefined;
    if (this.#halfClosed) attempt.halfClose();
    else {
      this.#live.push(attempt);
      attempt.response.catch(() => {
        const i = this.#live.indexOf(attempt);
        if (i >= 0) this.#live.splice(i, 1);
      });
    }
    return attempt.response;
  };

  /** The failover's classifier, with what only the call knows: nothing is retryable once committed. */
  readonly #classify = (result: AttemptResult<unknown>): Classification => {
    const c = this.#host.classifier(result);
    if (c.type === 'failure' && c.retryable && this.#committed) return { ...c, retryable: false };
    return c;
  };

  #onWon(response: AttemptResponse): void {
    const attempt = response.attempt;
    if (this.#ended) {
      if (response.status === undefined) {
        attempt.call.cancelWithStatus(Status.CANCELLED, 'detour: the call has ended');
      }
      return;
    }
    this.#live.length = 0;
    this.#replay = undefined;
    this.#winner = attempt;
    const headers = attempt.headers;
    if (headers) this.#listener!.onReceiveMetadata(this.#forClient(headers));
    const messages = attempt.messages;
    for (let i = 0; i < messages.length; i++) this.#pending.push(messages[i]!);
    messages.length = 0;
    if (attempt.status) this.#pendingStatus = attempt.status;
    else {
      attempt.adopt(this);
      if (this.#deadline !== Infinity) this.#awaitDeadline(true);
    }
    this.#drain();
  }

  #onFailed(error: unknown): void {
    if (this.#ended) return;
    this.#end(statusFromCallError(error), false);
  }

  // --- the winner's stream (AttemptSink) ---

  onAttemptMetadata(metadata: Metadata): void {
    if (!this.#ended) this.#listener!.onReceiveMetadata(this.#forClient(metadata));
  }

  onAttemptMessage(message: Buffer): void {
    if (this.#ended) return;
    this.#winnerReading = false;
    this.#pending.push(message);
    this.#drain();
  }

  onAttemptStatus(status: StatusObject): void {
    if (this.#ended) return;
    this.#pendingStatus = status;
    this.#drain();
  }

  // --- delivery to the client ---

  /** Gives the client the messages it asked for, then the status once no message is left. */
  #drain(): void {
    if (this.#draining || this.#statusDelivered) return;
    this.#draining = true;
    try {
      while (this.#reads > 0 && this.#pending.length > 0 && !this.#ended) {
        this.#reads--;
        this.#listener!.onReceiveMessage(this.#pending.shift()!);
      }
    } finally {
      this.#draining = false;
    }
    if (this.#ended) return;
    if (this.#pending.length === 0 && this.#pendingStatus) {
      this.#end(this.#pendingStatus, false);
      return;
    }
    const winner = this.#winner;
    if (this.#reads > 0 && this.#pending.length === 0 && winner && !this.#winnerReading) {
      this.#winnerReading = true;
      winner.call.startRead();
    }
  }

  // --- endings ---

  static #deadlinePassed(call: DetourCall): void {
    call.#onDeadline();
  }

  #onDeadline(): void {
    this.#abandon({
      code: Status.DEADLINE_EXCEEDED,
      details: 'Deadline exceeded',
      metadata: new Metadata(),
    });
  }

  #cancelledByParent(): void {
    this.#abandon({
      code: Status.CANCELLED,
      details: 'Cancelled by parent call',
      metadata: new Metadata(),
    });
  }

  /** The client (or its deadline, or its parent) ends the call: every attempt is cancelled. */
  #abandon(status: StatusObject): void {
    if (this.#ended) return;
    this.#end(status, true);
    this.#running?.cancel(new CallAbandonedError(status));
    this.#winner?.call.cancelWithStatus(status.code, status.details);
  }

  #end(status: StatusObject, async: boolean): void {
    this.#ended = true;
    this.#host.active.delete(this);
    this.#finalStatus = status;
    this.#pending.length = 0;
    this.#replay = undefined;
    this.#live.length = 0;
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    if (this.#parent) this.#parent.removeListener('cancelled', this.#onParentCancelled!);
    this.#parent = null;
    if (async) process.nextTick(() => this.#deliverStatus());
    else this.#deliverStatus();
  }

  #deliverStatus(): void {
    if (this.#statusDelivered || !this.#listener || !this.#finalStatus) return;
    this.#statusDelivered = true;
    const status = this.#finalStatus;
    const metadata = this.#forClient(status.metadata);
    // A copy only when the metadata had to be converted to the client's class.
    this.#listener.onReceiveStatus(metadata === status.metadata ? status : { ...status, metadata });
  }

  /**
   * `metadata` as an instance of the client's own grpc-js `Metadata` class (that of the request
   * metadata the call was started with). detour's copy of @grpc/grpc-js may not be the client's
   * (nice-grpc depends on its own), and nice-grpc makes a failed call's `ClientError` only from
   * a status whose metadata is `instanceof` its copy's `Metadata`.
   */
  #forClient(metadata: Metadata): Metadata {
    const ClientMetadata = this.#metadata?.constructor as (new () => Metadata) | undefined;
    if (!ClientMetadata || (metadata as object) instanceof ClientMetadata) return metadata;
    const copy = new ClientMetadata();
    for (const [key, values] of Object.entries(metadata.toJSON())) {
      for (const value of values) copy.add(key, value);
    }
    return copy;
  }
}
