/**
 * Request bodies that can be given to more than one attempt of a call.
 *
 * fetch reads a body once per call. To send a request again (a retry on another replica, a 307
 * redirect, a hedge), each attempt needs its own copy:
 *
 * - Bodies fetch extracts afresh on every call (string, ArrayBuffer and every ArrayBufferView,
 *   Blob/File, FormData, URLSearchParams, no body) are always replayable, whatever the replay
 *   bound: the caller holds them anyway. Buffers, FormData and URLSearchParams are copied when the
 *   call starts, as fetch copies them (the Fetch standard's "extract a body"), so a caller that
 *   changes them afterwards does not change what later attempts send.
 * - A stream (a `ReadableStream`, a `Request`'s `body`, or an `AsyncIterable` of chunks, which
 *   undici's fetch also accepts) is read once. Up to `limitBytes` of it are read before the first
 *   attempt: a stream that ends within the bound is held whole; a longer one is sent as the held
 *   prefix followed by the rest of the source, and stays replayable until an attempt reads past
 *   the prefix. The Fetch standard lets a user agent do the same with 64 KiB
 *   (https://fetch.spec.whatwg.org/#http-network-or-cache-fetch, "body cannot be recreated").
 */
import { DetourError, validate } from '@detour/core';

/** What {@link prepareBody} accepts: fetch's `BodyInit`, and async iterables of chunks. */
export type RequestBodyInit = BodyInit | AsyncIterable<Uint8Array | string>;

/** A request body prepared for the attempts of one call. */
export interface RequestBody {
  /**
   * The body to pass to the underlying fetch for the next attempt: the same held value for
   * replayable bodies (fetch copies it), a fresh `ReadableStream` for a stream beyond the bound.
   * Giving a stream out retires the stream given to the previous attempt: reading it further
   * fails, so two attempts never share the source.
   *
   * @throws BodyNotReplayableError when an earlier attempt already read past the held prefix.
   * @throws TypeError after {@link RequestBody.release}.
   */
  forAttempt(): BodyInit | null;
  /**
   * Whether {@link RequestBody.forAttempt} can still give the body: always true, except for a
   * stream beyond the bound once an attempt has read past the held prefix, and after release.
   */
  canReplay(): boolean;
  /**
   * Tells the body that the attempt given `sent` (a value {@link RequestBody.forAttempt}
   * returned) is over without a response to keep: its fetch rejected, or it was redirected
   * without the body. If `sent` is the latest stream given, it hands out no more bytes: undici
   * keeps reading a request body stream after the request failed or was aborted, and would
   * otherwise read past the held prefix and spend the replay. `fetchFollowingRedirects`
   * (redirect.ts) calls it. No effect for other values and for replayable bodies.
   */
  endAttempt(sent: BodyInit | null): void;
  /** The body is a stream for the underlying fetch, which needs `duplex: 'half'`. */
  readonly streamed: boolean;
  /** The whole body is held, so attempts can run side by side (hedging). */
  readonly whole: boolean;
  /** Size in bytes if known (0 for no body); undefined for FormData and a longer stream. */
  readonly size: number | undefined;
  /**
   * Ends the call's use of the body, when the call settles (safe in a `finally`); idempotent.
   * No later attempt can get the body. Cancels the source stream and drops held bytes, unless
   * the stream given to the latest attempt is still live (that attempt got a response and was
   * not ended with {@link RequestBody.endAttempt}): undici resolves fetch before a streamed
   * upload has ended, so that attempt keeps the rest of the source, reads it to its end or
   * cancels it (then the source is cancelled).
   */
  release(reason?: unknown): void;
}

/**
 * A stream body longer than the replay bound was already read past its held prefix by an earlier
 * attempt, so it cannot be sent again ({@link RequestBody.forAttempt} throws it).
 */
export class BodyNotReplayableError extends DetourError {
  /** The replay bound (option `replayBufferBytes`), in bytes. */
  readonly limitBytes: number;
  /**
   * Bytes handed to the earlier attempt's fetch (sent or queued to send), if known. Never less
   * than the held prefix, which may exceed `limitBytes` by the chunk that crossed it.
   */
  readonly bytesSent: number | undefined;

  constructor(limitBytes: number, bytesSent?: number, options?: { cause?: unknown }) {
    const read = bytesSent === undefined ? 'past' : `${bytesSent} bytes of it, past`;
    super(
      'DETOUR_BODY_NOT_REPLAYABLE',
      `The request body cannot be sent again: it is a stream longer than replayBufferBytes ` +
        `(${limitBytes} bytes), and an earlier attempt already read ${read} the part held for ` +
        `replay. Raise replayBufferBytes, or pass a body fetch can send twice (string, ` +
        `ArrayBuffer, typed array, Blob, FormData, URLSearchParams).`,
      options,
    );
    this.name = 'BodyNotReplayableError';
    this.limitBytes = limitBytes;
    this.bytesSent = bytesSent;
  }
}

/**
 * Prepares `body` for the attempts of one call: copies buffers, FormData and URLSearchParams
 * during the call itself (as fetch does), and reads up to `limitBytes` of a stream.
 *
 * @param limitBytes - the replay bound (option `replayBufferBytes`): how many bytes of a stream
 *   body are held so it can be sent again. A stream ending within it is held whole; the held
 *   prefix of a longer one may exceed it by the chunk that crossed it. 0 never reads a stream
 *   ahead: it is sent once. Other bodies are replayable whatever the bound.
 * @param signal - aborts the read ahead: the promise rejects with the signal's reason and the
 *   source is cancelled.
 * @returns rejects with the source's error if the stream fails during the read ahead, with a
 *   `TypeError` if it is locked or yields a chunk that is not bytes or a string, and with a
 *   `DetourConfigError` if `limitBytes` is not an integer >= 0.
 */
export async function prepareBody(
  body: RequestBodyInit | null | undefined,
  limitBytes: number,
  signal?: AbortSignal,
): Promise<RequestBody> {
  const limit = validate.integer('replayBufferBytes', limitBytes, 0);
  if (body === null || body === undefined) return noBody();
  if (typeof body === 'string') return new HeldBody(body, utf8Length(body));
  if (body instanceof ArrayBuffer) return heldBytes(new Uint8Array(body.slice(0)));
  if (ArrayBuffer.isView(body)) {
    return heldBytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice());
  }
  if (body instanceof Blob) return new HeldBody(body, body.size);
  if (body instanceof FormData) return new HeldBody(copyFormData(body), undefined);
  if (body instanceof URLSearchParams) {
    const copy = new URLSearchParams(body);
    // Serialized form-urlencoded text is ASCII: one byte per character.
    return new HeldBody(copy, copy.toString().length);
  }
  if (isReadableStream(body)) return readAhead(streamSource(body), limit, signal);
  if (isAsyncIterable(body)) return readAhead(iteratorSource(body), limit, signal);
  // Something else fetch converts on each call (to a string, or a Blob or FormData of another
  // realm or fetch implementation): pass it as it came, on every attempt.
  return new HeldBody(body, undefined);
}

/** The body of a request without one (what `prepareBody(null)` resolves), made at once. */
export function noBody(): RequestBody {
  return new HeldBody(null, 0);
}

/** A body given whole on every attempt. */
class HeldBody implements RequestBody {
  readonly streamed = false;
  readonly whole = true;
  readonly size: number | undefined;
  #value: BodyInit | null;
  #released = false;

  constructor(value: BodyInit | null, size: number | undefined) {
    this.#value = value;
    this.size = size;
  }

  forAttempt(): BodyInit | null {
    if (this.#released) throw new TypeError(RELEASED);
    return this.#value;
  }

  canReplay(): boolean {
    return !this.#released;
  }

  endAttempt(): void {}

  release(): void {
    this.#released = true;
    this.#value = null;
  }
}

/**
 * A stream longer than the bound: each attempt gets the held prefix, then the rest of the source.
 * Pull-based: the source is read only when an attempt's fetch reads beyond the prefix.
 */
class PartialStreamBody implements RequestBody {
  readonly streamed = true;
  readonly whole = false;
  readonly size = undefined;
  readonly #source: ChunkSource;
  readonly #limit: number;
  #prefix: readonly Uint8Array[];
  /** Bumped to retire the stream given out last. */
  #generation = 0;
  /** The stream given to the latest attempt, while it may still be read. */
  #live: ReadableStream<Uint8Array> | undefined;
  /** An attempt has read the source past the prefix: the body cannot be given again. */
  #departed = false;
  #bytesSent = 0;
  #sourceEnded = false;
  #released = false;

  constructor(source: ChunkSource, prefix: readonly Uint8Array[], limit: number) {
    this.#source = source;
    this.#prefix = prefix;
    this.#limit = limit;
  }

  forAttempt(): ReadableStream<Uint8Array> {
    if (this.#released) throw new TypeError(RELEASED);
    if (this.#departed) throw new BodyNotReplayableError(this.#limit, this.#bytesSent);
    const generation = ++this.#generation;
    const prefix = this.#prefix;
    let index = 0;
    let sent = 0;
    const retired = (): boolean => generation !== this.#generation;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (retired()) return controller.error(new TypeError(RETIRED));
          const chunk = prefix[index];
          if (chunk !== undefined) {
            index++;
            sent += chunk.byteLength;
            return controller.enqueue(chunk);
          }
          this.#departed = true;
          for (;;) {
            this.#bytesSent = sent;
            let bytes: Uint8Array | undefined;
            try {
              const result = await this.#source.read();
              if (result.done) this.#sourceEnded = true;
              else bytes = toBytes(result.value);
            } catch (error) {
              this.#cancelSource(error);
              return controller.error(error);
            }
            if (retired()) return controller.error(new TypeError(RETIRED));
            if (bytes === undefined) return controller.close();
            if (bytes.byteLength === 0) continue;
            sent += bytes.byteLength;
            this.#bytesSent = sent;
            return controller.enqueue(bytes);
          }
        },
        cancel: (reason) => {
          if (retired()) return;
          this.#live = undefined;
          // Before the prefix is passed, a later attempt may still send the source.
          if (this.#departed || this.#released) this.#cancelSource(reason);
        },
      },
      { highWaterMark: 0 },
    );
    this.#live = stream;
    return stream;
  }

  canReplay(): boolean {
    return !this.#released && !this.#departed;
  }

  endAttempt(sent: BodyInit | null): void {
    if (sent === null || sent !== this.#live) return;
    this.#generation++;
    this.#live = undefined;
    if (this.#released) this.#cancelSource(undefined);
  }

  release(reason?: unknown): void {
    if (this.#released) return;
    this.#released = true;
    // A live attempt (one that got a response) owns the rest of the source: fetch resolves
    // before a streamed upload ends. It reads the source to its end, or cancels it.
    if (this.#live !== undefined) return;
    this.#generation++;
    this.#prefix = [];
    this.#cancelSource(reason);
  }

  #cancelSource(reason: unknown): void {
    if (this.#sourceEnded) return;
    this.#sourceEnded = true;
    this.#source.cancel(reason).catch(ignore);
  }
}

/** The source of a stream body, read one chunk at a time. */
interface ChunkSource {
  read(): Promise<IteratorResult<unknown>>;
  cancel(reason: unknown): Promise<unknown>;
}

function streamSource(stream: ReadableStream<unknown>): ChunkSource {
  const reader = stream.getReader(); // A TypeError if locked, as fetch throws.
  return { read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
}

function iteratorSource(iterable: AsyncIterable<unknown>): ChunkSource {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    read: () => iterator.next(),
    cancel: async (reason) => iterator.return?.(reason),
  };
}

/** Reads up to `limit` bytes of `source`: the whole body if it ends within, else a prefix. */
async function readAhead(
  source: ChunkSource,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<RequestBody> {
  const chunks: Uint8Array[] = [];
  let held = 0;
  if (limit === 0) return new PartialStreamBody(source, chunks, limit);
  try {
    while (held <= limit) {
      signal?.throwIfAborted();
      const result = await abortable(source.read(), signal);
      if (result.done) return heldBytes(concat(chunks, held));
      const bytes = toBytes(result.value);
      if (bytes.byteLength === 0) continue;
      chunks.push(bytes);
      held += bytes.byteLength;
    }
  } catch (error) {
    source.cancel(error).catch(ignore);
    throw error;
  }
  return new PartialStreamBody(source, chunks, limit);
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function heldBytes(bytes: Uint8Array<ArrayBuffer>): RequestBody {
  return new HeldBody(bytes, bytes.byteLength);
}

/**
 * A chunk of a stream body as bytes. Strings and other buffers are accepted, as undici's fetch
 * accepts them (the Fetch standard allows only Uint8Array chunks).
 */
function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  throw new TypeError('A request body stream yielded a chunk that is not a Uint8Array');
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A copy of a FormData's entries (File values are immutable and shared). */
function copyFormData(form: FormData): FormData {
  const copy = new FormData();
  form.forEach((value, name) => copy.append(name, value));
  return copy;
}

/** The UTF-8 length of a string, as fetch encodes it (a lone surrogate becomes U+FFFD). */
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && isLowSurrogate(text.charCodeAt(i + 1))) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit < 0xe000;
}

function isReadableStream(value: object): value is ReadableStream<unknown> {
  return typeof (value as { getReader?: unknown }).getReader === 'function';
}

function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return (
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

function ignore(): void {}

const encoder = new TextEncoder();
const RELEASED = 'The request body was released';
const RETIRED = 'The request body was given to a later attempt, or its attempt ended';
