/**
 * One attempt of a detour call: a real grpc-js call on one endpoint's channel. It settles once:
 * it resolves with the response when the attempt succeeded (the OK status; for a streaming
 * response, already its first message), or rejects with a `GrpcAttemptError` saying what
 * crossed the wire before the failure. The winning attempt is then adopted by its detour call,
 * which takes what it buffered and receives the rest of the stream.
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import type { AttemptContext } from '@detour/core';
import { GrpcAttemptError } from '../grpc-attempt-error.js';
import type { CallListener, GrpcCall, MessageContext } from './grpc-types.js';

/** What a successful attempt hands its call. */
export interface AttemptResponse {
  /** Response headers (empty when the server sent none before its status). */
  readonly metadata: Metadata;
  /** Response messages received so far, serialized. */
  readonly messages: Buffer[];
  /** The OK status; undefined for a stream that won with its first message and is still open. */
  readonly status: StatusObject | undefined;
  readonly attempt: AttemptCall;
}

/** Where an adopted attempt sends the rest of its stream. */
export interface AttemptSink {
  onAttemptMetadata(metadata: Metadata): void;
  onAttemptMessage(message: Buffer): void;
  onAttemptStatus(status: StatusObject): void;
}

interface OutgoingMessage {
  readonly flags: number | undefined;
  readonly message: Buffer;
  readonly callback: (() => void) | undefined;
}

export class AttemptCall implements CallListener {
  readonly call: GrpcCall;
  readonly response: Promise<AttemptResponse>;
  /** Response headers, once they arrived. */
  headers: Metadata | undefined;
  /** Messages received and not yet taken by the detour call. */
  readonly messages: Buffer[] = [];
  status: StatusObject | undefined;
  #received = 0;
  readonly #untilStatus: boolean;
  /** Messages waiting for the one being written; made when a second one comes. */
  #outbox: OutgoingMessage[] | undefined;
  #writing = false;
  #halfClosePending = false;
  #settled = false;
  #sink: AttemptSink | undefined;
  #resolve!: (response: AttemptResponse) => void;
  #reject!: (error: GrpcAttemptError) => void;
  readonly #context: AttemptContext;
  /** Stops listening to the attempt's abort; set by `start()`. */
  #unsubscribe: (() => void) | undefined;
  #startFailed(error: unknown): void {
    if (this.status !== undefined) return;
    const why = error instanceof Error ? error.message : String(error);
    this.onReceiveStatus({
      code: Status.UNAVAILABLE,
      details: `detour: the connection closed before the call started (${why})`,
      metadata: new Metadata(),
    });
  }

  readonly #onAbort = (reason: unknown): void => {
    const why = reason instanceof Error ? reason.message : String(reason);
    this.call.cancelWithStatus(Status.CANCELLED, `detour: attempt stopped: ${why}`);
  };

  /**
   * @param untilStatus wait for the status (unary responses) rather than settle at the first
   *   message (streaming responses).
   * @param context the core's attempt: its abort cancels the call.
   */
  constructor(call: GrpcCall, untilStatus: boolean, context: AttemptContext) {
    this.call = call;
    this.#untilStatus = untilStatus;
    this.#context = context;
    this.response = new Promise<AttemptResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Starts the call and asks for the first response message. An attempt already stopped is
   * cancelled at once (`onAbort` calls back before it returns).
   */
  start(metadata: Metadata): void {
    // A call straight on a subchannel starts asynchronously and rejects, instead of ending with
    // a status, when the connection closed before its stream was made.
    const started: unknown = this.call.start(metadata, this);
    if (started instanceof Promise) started.catch((error: unknown) => this.#startFailed(error));
    this.call.startRead();
    this.#unsubscribe = this.#context.onAbort(this.#onAbort);
  }

  /**
   * Queues a request message. A grpc-js call takes one message at a time (the next only after
   * the previous one's write callback), so messages wait here; `callback`, if given, runs when
   * this one is written.
   */
  send(flags: number | undefined, message: Buffer, callback?: () => void): void {
    const outbox = this.#outbox;
    if (!this.#writing && (outbox === undefined || outbox.length === 0)) {
      this.#write(flags, message, callback); // nothing before it: no need to queue it
      return;
    }
    (this.#outbox ??= []).push({ flags, message, callback });
    if (!this.#writing) this.#writeNext();
  }

  /** Half-closes once every queued message is written. */
  halfClose(): void {
    this.#halfClosePending = true;
    if (!this.#writing) this.#writeNext();
  }

  #writeNext(): void {
    const next = this.#outbox?.shift();
    if (next) {
      this.#write(next.flags, next.message, next.callback);
      return;
    }
    if (this.#halfClosePending) {
      this.#halfClosePending = false;
      this.call.halfClose();
    }
  }

  #write(flags: number | undefined, message: Buffer, callback: (() => void) | undefined): void {
    this.#writing = true;
    const context: MessageContext = {
      callback: () => {
        this.#writing = false;
        callback?.();
        this.#writeNext();
      },
    };
    if (flags !== undefined) context.flags = flags;
    this.call.sendMessageWithContext(context, message);
  }

  /**
   * Hands the rest of the stream to `sink`; the caller has taken `headers`, `messages` and
   * `status` first.
   */
  adopt(sink: AttemptSink): void {
    this.#sink = sink;
  }

  // --- the real call's listener ---

  onReceiveMetadata(metadata: Metadata): void {
    this.headers = metadata;
    this.#sink?.onAttemptMetadata(metadata);
  }

  onReceiveMessage(message: Buffer): void {
    this.#received++;
    if (this.#sink) {
      this.#sink.onAttemptMessage(message);
      return;
    }
    this.messages.push(message);
    if (this.#settled) return;
    if (this.#untilStatus) this.call.startRead();
    else this.#settle(undefined);
  }

  onReceiveStatus(status: StatusObject): void {
    this.status = status;
    this.#unsubscribe?.();
    if (this.#sink) {
      this.#sink.onAttemptStatus(status);
      return;
    }
    this.#settle(status);
  }

  /** Resolves (OK status, or a stream's first message when `status` is undefined) or rejects. */
  #settle(status: StatusObject | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    if (status === undefined || status.code === Status.OK) {
      this.#resolve({
        metadata: this.headers ?? new Metadata(),
        messages: this.messages,
        status,
        attempt: this,
      });
      return;
    }
    this.#unsubscribe?.();
    const error = new GrpcAttemptError(
      status.code,
      status.details,
      status.metadata,
      this.headers !== undefined,
      this.#received,
    );
    this.#reject(error);
  }
}
