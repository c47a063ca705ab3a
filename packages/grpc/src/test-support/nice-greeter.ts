/**
 * A Greeter for the nice-grpc tests, without protoc: a hand-written ts-proto-style generic
 * service definition (what `ts-proto --outputServices=generic-definitions` emits, including
 * `options.idempotencyLevel`), with a tiny protobuf codec for messages of string fields, and
 * replicas serving it from real grpc-js servers on 127.0.0.1:0, whose behaviour a test switches
 * at run time and which count what their application saw.
 */
import * as grpc from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  /** The replica that answered. */
  server: string;
  /** The request's `grpc-previous-rpc-attempts` header ('' when absent). */
  previousAttempts: string;
}

// --- protobuf: messages whose fields 1..n are strings (wire type 2) ---

function encodeStrings(values: readonly string[]): Uint8Array {
  const bytes: number[] = [];
  values.forEach((value, i) => {
    if (value === '') return; // proto3 leaves default values out
    const utf8 = Buffer.from(value, 'utf8');
    bytes.push(((i + 1) << 3) | 2);
    let length = utf8.length;
    while (length > 0x7f) {
      bytes.push((length & 0x7f) | 0x80);
      length >>>= 7;
    }
    bytes.push(length, ...utf8);
  });
  return Uint8Array.from(bytes);
}

function decodeStrings(input: Uint8Array, count: number): string[] {
  const values = new Array<string>(count).fill('');
  let at = 0;
  const varint = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = input[at++];
      if (byte === undefined) throw new Error('truncated message');
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
  };
  while (at < input.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 2: {
        const length = varint();
        const text = Buffer.from(input.subarray(at, at + length)).toString('utf8');
        at += length;
        if (field >= 1 && field <= count) values[field - 1] = text;
        break;
      }
      default:
        throw new Error(`unsupported wire type ${tag & 7}`);
    }
  }
  return values;
}

/** A ts-proto message type: `encode(message).finish()`, `decode(bytes)`, `fromPartial()`. */
export const HelloRequest = {
  encode(message: HelloRequest): { finish(): Uint8Array } {
    return { finish: () => encodeStrings([message.name]) };
  },
  decode(input: Uint8Array): HelloRequest {
    const [name = ''] = decodeStrings(input, 1);
    return { name };
  },
  fromPartial(object: Partial<HelloRequest>): HelloRequest {
    return { name: object.name ?? '' };
  },
};

export const HelloReply = {
  encode(message: HelloReply): { finish(): Uint8Array } {
    return {
      finish: () => encodeStrings([message.message, message.server, message.previousAttempts]),
    };
  },
  decode(input: Uint8Array): HelloReply {
    const [message = '', server = '', previousAttempts = ''] = decodeStrings(input, 3);
    return { message, server, previousAttempts };
  },
  fromPartial(object: Partial<HelloReply>): HelloReply {
    return {
      message: object.message ?? '',
      server: object.server ?? '',
      previousAttempts: object.previousAttempts ?? '',
    };
  },
};

const serviceName = 'detour.test.NiceGreeter';

function method<Name extends string, RequestStream extends boolean, ResponseStream extends boolean>(
  name: Name,
  requestStream: RequestStream,
  responseStream: ResponseStream,
  options: { readonly idempotencyLevel?: 'IDEMPOTENT' | 'NO_SIDE_EFFECTS' },
) {
  return {
    name,
    requestType: HelloRequest,
    requestStream,
    responseType: HelloReply,
    responseStream,
    options,
  } as const;
}

/**
 * `service NiceGreeter` as ts-proto's generic definition:
 * - `SayHello` is `option idempotency_level = IDEMPOTENT;`
 * - `GetGreeting` is `NO_SIDE_EFFECTS`
 * - `CreateGreeting` has no idempotency level
 * - `ListGreetings` streams three replies; `Chat` answers each message (bidi).
 */
export const NiceGreeterDefinition = {
  name: 'NiceGreeter',
  fullName: serviceName,
  methods: {
    sayHello: method('SayHello', false, false, { idempotencyLevel: 'IDEMPOTENT' }),
    getGreeting: method('GetGreeting', false, false, { idempotencyLevel: 'NO_SIDE_EFFECTS' }),
    createGreeting: method('CreateGreeting', false, false, {}),
    listGreetings: method('ListGreetings', false, true, {}),
    chat: method('Chat', true, true, {}),
  },
} as const;

export type NiceGreeterMethod = keyof typeof NiceGreeterDefinition.methods;

/** The method's path, `/detour.test.NiceGreeter/SayHello`. */
export function pathOf(name: NiceGreeterMethod): string {
  return `/${serviceName}/${NiceGreeterDefinition.methods[name].name}`;
}

/**
 * The same service as a grpc-js `ServiceDefinition` (what proto-loader and grpc-tools give):
 * what the replicas serve, and a definition nice-grpc also takes, without method options.
 */
export const niceGreeterGrpcJsService = Object.fromEntries(
  Object.values(NiceGreeterDefinition.methods).map((m) => [
    m.name,
    {
      path: `/${serviceName}/${m.name}`,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: (value: HelloRequest) => Buffer.from(HelloRequest.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => HelloRequest.decode(bytes),
      responseSerialize: (value: HelloReply) => Buffer.from(HelloReply.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => HelloReply.decode(bytes),
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    },
  ]),
) as unknown as {
  [M in NiceGreeterMethod as Methods[M]['name']]: grpc.MethodDefinition<
    HelloRequest,
    HelloReply
  > & {
    requestStream: Methods[M]['requestStream'];
    responseStream: Methods[M]['responseStream'];
  };
};

type Methods = typeof NiceGreeterDefinition.methods;

/**
 * - `ok`: answers.
 * - `unavailable`: the application sees the call, then answers UNAVAILABLE (processed).
 * - `hang`: the application sees the call and never answers.
 */
export type NiceReplicaMode = 'ok' | 'unavailable' | 'hang';

export interface NiceReplica {
  readonly name: string;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  mode: NiceReplicaMode;
  /** Calls the application saw, by method name (`SayHello`). */
  readonly calls: Map<string, number>;
  /** Calls the application saw, in all. */
  readonly total: number;
  /** Calls whose client cancelled before they were answered. */
  cancelled: number;
  /** Each call's request metadata, in order. */
  readonly metadata: Metadata[];
  /** Each call's deadline as the server saw it, ms since the epoch (Infinity: none), in order. */
  readonly deadlines: number[];
  /** Resolves at the next cancellation the application notices. */
  nextCancel(): Promise<void>;
  /** Stops for good: graceful, forced after 200 ms. Idempotent. */
  stop(): Promise<void>;
}

interface SeenCall {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** Starts a replica named `name` on 127.0.0.1:0. */
export async function startNiceReplica(name: string): Promise<NiceReplica> {
  const server = new grpc.Server();
  const calls = new Map<string, number>();
  const metadata: Metadata[] = [];
  const deadlines: number[] = [];
  let cancelWaiters: (() => void)[] = [];
  const replica = {
    name,
    address: '',
    mode: 'ok' as NiceReplicaMode,
    calls,
    get total() {
      return [...calls.values()].reduce((a, b) => a + b, 0);
    },
    cancelled: 0,
    metadata,
    deadlines,
    nextCancel: () => new Promise<void>((resolve) => cancelWaiters.push(resolve)),
    stop: (): Promise<void> => Promise.resolve(),
  };

  /** Counts the call; returns a function to call once it is answered. */
  const see = (methodName: string, call: SeenCall): (() => void) => {
    calls.set(methodName, (calls.get(methodName) ?? 0) + 1);
    metadata.push(call.metadata);
    const deadline = call.getDeadline();
    deadlines.push(deadline instanceof Date ? deadline.getTime() : deadline);
    let over = false;
    call.on('cancelled', () => {
      if (over) return;
      over = true;
      replica.cancelled++;
      const waiters = cancelWaiters;
      cancelWaiters = [];
      for (const resolve of waiters) resolve();
    });
    return () => {
      over = true;
    };
  };
  const reply = (call: SeenCall, message: string): HelloReply => ({
    message,
    server: name,
    previousAttempts: String(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? ''),
  });
  const unavailable = (): grpc.ServerErrorResponse => ({
    name: 'Error',
    message: '',
    code: grpc.status.UNAVAILABLE,
    details: `${name} is unavailable`,
  });

  const unary =
    (methodName: string) =>
    (
      call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ): void => {
      const answered = see(methodName, call);
      if (replica.mode === 'hang') return;
      answered();
      if (replica.mode === 'unavailable') callback(unavailable());
      else callback(null, reply(call, `${methodName} ${call.request.name}`));
    };

  server.addService(niceGreeterGrpcJsService, {
    SayHello: unary('SayHello'),
    GetGreeting: unary('GetGreeting'),
    CreateGreeting: unary('CreateGreeting'),
    ListGreetings(call: grpc.ServerWritableStream<HelloRequest, HelloReply>) {
      const answered = see('ListGreetings', call);
      if (replica.mode === 'hang') return;
      answered();
      if (replica.mode === 'unavailable') {
        call.emit('error', unavailable());
        return;
      }
      for (let i = 0; i < 3; i++) call.write(reply(call, `${call.request.name} #${i}`));
      call.end();
    },
    Chat(call: grpc.ServerDuplexStream<HelloRequest, HelloReply>) {
      const answered = see('Chat', call);
      if (replica.mode === 'unavailable') {
        answered();
        call.emit('error', unavailable());
        return;
      }
      call.on('data', (request: HelloRequest) => {
        if (replica.mode !== 'hang') call.write(reply(call, `Chat ${request.name}`));
      });
      call.on('end', () => {
        if (replica.mode === 'hang') return;
        answered();
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  let stopped: Promise<void> | undefined;
  replica.address = `127.0.0.1:${port}`;
  replica.stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 200);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    return stopped;
  };
  return replica;
}

/** An address on 127.0.0.1 where nothing listens (connections are refused). */
export async function refusedAddress(): Promise<string> {
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  server.forceShutdown();
  return `127.0.0.1:${port}`;
}
