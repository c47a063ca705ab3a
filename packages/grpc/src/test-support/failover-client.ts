/**
 * Promise helpers over a generated Greeter client, for the failover tests: each call returns
 * what the client surfaced (replies, or the ServiceError with its code).
 */
import { Metadata } from '@grpc/grpc-js';
import type { CallCredentials, Client, ServiceError, StatusObject } from '@grpc/grpc-js';
import type { HelloReply, HelloRequest } from './failover-greeter.js';

export interface CallSettings {
  readonly metadata?: Metadata;
  /** Deadline, ms from now. */
  readonly deadlineMs?: number;
  /** Per-call credentials (`CallOptions.credentials`). */
  readonly credentials?: CallCredentials;
}

type Callback = (error: ServiceError | null, reply?: HelloReply) => void;

interface Stream {
  on(event: 'data', listener: (reply: HelloReply) => void): void;
  on(event: 'error', listener: (error: ServiceError) => void): void;
  on(event: 'status', listener: (status: StatusObject) => void): void;
  on(event: 'end', listener: () => void): void;
  write(request: HelloRequest): boolean;
  end(): void;
  cancel(): void;
}

interface Greeter {
  SayHello(
    request: HelloRequest,
    metadata: Metadata,
    options: object,
    callback: Callback,
  ): { cancel(): void };
  StreamHellos(request: HelloRequest, metadata: Metadata, options: object): Stream;
  CollectHellos(metadata: Metadata, options: object, callback: Callback): Stream;
  Chat(metadata: Metadata, options: object): Stream;
}

function callOptions(settings: CallSettings): object {
  return {
    ...(settings.deadlineMs === undefined
      ? {}
      : { deadline: new Date(Date.now() + settings.deadlineMs) }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  };
}

/** A unary SayHello; `onCall` receives the call (to cancel it). */
export function sayHello(
  client: Client,
  request: HelloRequest,
  settings: CallSettings = {},
  onCall?: (call: { cancel(): void }) => void,
): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Greeter).SayHello(
      request,
      settings.metadata ?? new Metadata(),
      callOptions(settings),
      (error, reply) => (error ? reject(error) : resolve(reply!)),
    );
    onCall?.(call);
  });
}

export interface StreamOutcome {
  readonly replies: HelloReply[];
  readonly error: ServiceError | undefined;
}

function collect(stream: Stream): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const replies: HelloReply[] = [];
    let error: ServiceError | undefined;
    stream.on('data', (reply) => replies.push(reply));
    stream.on('error', (e) => (error = e));
    stream.on('status', () => setImmediate(() => resolve({ replies, error })));
  });
}

/** A server-streaming StreamHellos, read to its end; `onReply` sees each reply and the stream. */
export function streamHellos(
  client: Client,
  request: HelloRequest,
  settings: CallSettings = {},
  onReply?: (reply: HelloReply, stream: { cancel(): void }) => void,
): Promise<StreamOutcome> {
  const stream = (client as unknown as Greeter).StreamHellos(
    request,
    settings.metadata ?? new Metadata(),
    callOptions(settings),
  );
  if (onReply) stream.on('data', (reply) => onReply(reply, stream));
  return collect(stream);
}

/** A client-streaming CollectHellos sending `names`. */
export function collectHellos(
  client: Client,
  names: readonly string[],
  settings: CallSettings = {},
): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    const stream = (client as unknown as Greeter).CollectHellos(
      settings.metadata ?? new Metadata(),
      callOptions(settings),
      (error, reply) => (error ? reject(error) : resolve(reply!)),
    );
    for (const name of names) stream.write({ name });
    stream.end();
  });
}

/** A bidi Chat: sends each name after the previous reply arrived, then ends. */
export function chat(
  client: Client,
  names: readonly string[],
  settings: CallSettings = {},
): Promise<StreamOutcome> {
  const stream = (client as unknown as Greeter).Chat(
    settings.metadata ?? new Metadata(),
    callOptions(settings),
  );
  let next = 0;
  const sendNext = (): void => {
    if (next < names.length) stream.write({ name: names[next++] });
    else stream.end();
  };
  stream.on('data', () => sendNext());
  const outcome = collect(stream);
  sendNext();
  return outcome;
}
