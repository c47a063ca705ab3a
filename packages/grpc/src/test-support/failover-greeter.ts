/**
 * Greeter replicas for the failover tests: real grpc-js servers on 127.0.0.1:0 whose behaviour
 * a test switches at run time (`mode`), and which count the calls their application saw and
 * the cancellations it noticed. Replies name the replica and echo request headers.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { Metadata, ServerCredentials, ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/**
 * - `ok`: answers.
 * - `unavailable`: the application sees the call, then answers UNAVAILABLE (processed).
 * - `hang`: the application sees the call and never answers.
 * - `fail-after-first`: streams send one reply, then fail with UNAVAILABLE.
 */
export type ReplicaMode = 'ok' | 'unavailable' | 'hang' | 'fail-after-first';

export interface HelloRequest {
  name?: string;
  count?: number;
}

export interface HelloReply {
  message: string;
  server: string;
  previous_attempts: string;
  echo: string;
  authorization: string;
}

export interface GreeterReplica {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  mode: ReplicaMode;
  /** Pause before each StreamHellos reply, ms. Default 0. */
  streamDelayMs: number;
  /** Calls the application saw. */
  calls: number;
  /** Calls whose client cancelled (the server call's `cancelled` event). */
  cancelled: number;
  /** Each call's request metadata, in order. */
  readonly metadata: Metadata[];
  /** Each call's deadline as the server saw it (from `grpc-timeout`), ms since the epoch, in order. */
  readonly deadlines: number[];
  readonly server: grpc.Server;
  /** Stops for good: graceful, forced after 200 ms. Idempotent. */
  stop(): Promise<void>;
}

const protoPath = fileURLToPath(new URL('./failover-greeter.proto', import.meta.url));

let greeter: ServiceClientConstructor | undefined;

/** The generated client constructor of `helloworld.Greeter`. */
export function greeterClient(): ServiceClientConstructor {
  if (!greeter) {
    const definition = loadSync(protoPath, { keepCase: true, defaults: true });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      helloworld: { Greeter: ServiceClientConstructor };
    };
    greeter = loaded.helloworld.Greeter;
  }
  return greeter;
}

function reply(replica: GreeterReplica, metadata: Metadata, message: string): HelloReply {
  const header = (key: string): string => {
    const value = metadata.get(key)[0];
    return value === undefined ? '' : String(value);
  };
  return {
    message,
    server: replica.name,
    previous_attempts: header('grpc-previous-rpc-attempts'),
    echo: header('x-echo'),
    authorization: header('authorization'),
  };
}

function unavailable(replica: GreeterReplica): grpc.ServerErrorResponse {
  return {
    name: 'Error',
    message: '',
    code: grpc.status.UNAVAILABLE,
    details: `${replica.name} is unavailable`,
  };
}

/**
 * Counts the call and returns a function to call when the call is answered: grpc-js also emits
 * `cancelled` when an answered call's stream closes, which is not a cancellation.
 */
function see(
  replica: GreeterReplica,
  call: {
    readonly metadata: Metadata;
    getDeadline(): Date | number;
    on(event: 'cancelled', listener: () => void): unknown;
  },
): () => void {
  replica.calls++;
  replica.metadata.push(call.metadata);
  const deadline = call.getDeadline();
  replica.deadlines.push(deadline instanceof Date ? deadline.getTime() : deadline);
  let over = false;
  call.on('cancelled', () => {
    if (over) return;
    over = true;
    replica.cancelled++;
  });
  return () => {
    over = true;
  };
}

function handlers(replica: GreeterReplica): grpc.UntypedServiceImplementation {
  return {
    SayHello(
      call: grpc.ServerUnaryCall<HelloRequest, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ) {
      const answered = see(replica, call);
      if (replica.mode === 'hang') return;
      answered();
      if (replica.mode === 'unavailable') callback(unavailable(replica));
      else callback(null, reply(replica, call.metadata, `Hello ${call.request.name ?? ''}`));
    },
    StreamHellos(call: grpc.ServerWritableStream<HelloRequest, HelloReply>) {
      const answered = see(replica, call);
      const mode = replica.mode;
      if (mode === 'hang') return;
      if (mode === 'unavailable') {
        answered();
        call.emit('error', unavailable(replica));
        return;
      }
      const count = call.request.count || 3;
      const delayMs = replica.streamDelayMs;
      let sent = 0;
      const next = (): void => {
        if (call.cancelled) return;
        if (sent === count) {
          answered();
          call.end();
          return;
        }
        call.write(reply(replica, call.metadata, `Hello ${call.request.name ?? ''} #${sent++}`));
        if (mode === 'fail-after-first') {
          setTimeout(() => {
            answered();
            call.emit('error', unavailable(replica));
          }, 20);
          return;
        }
        if (delayMs > 0) setTimeout(next, delayMs);
        else next();
      };
      if (delayMs > 0) setTimeout(next, delayMs);
      else next();
    },
    CollectHellos(
      call: grpc.ServerReadableStream<HelloRequest, HelloReply>,
      callback: grpc.sendUnaryData<HelloReply>,
    ) {
      const answered = see(replica, call);
      const names: string[] = [];
      call.on('data', (request: HelloRequest) => names.push(request.name ?? ''));
      call.on('end', () => {
        if (replica.mode === 'hang') return;
        answered();
        if (replica.mode === 'unavailable') callback(unavailable(replica));
        else callback(null, reply(replica, call.metadata, `Hello ${names.join(',')}`));
      });
    },
    Chat(call: grpc.ServerDuplexStream<HelloRequest, HelloReply>) {
      const answered = see(replica, call);
      const mode = replica.mode;
      if (mode === 'unavailable') {
        answered();
        call.emit('error', unavailable(replica));
        return;
      }
      let replies = 0;
      call.on('data', (request: HelloRequest) => {
        if (mode === 'hang') return;
        if (mode === 'fail-after-first' && replies === 1) {
          answered();
          call.emit('error', unavailable(replica));
          return;
        }
        replies++;
        call.write(reply(replica, call.metadata, `Hello ${request.name ?? ''}`));
      });
      call.on('end', () => {
        if (mode === 'hang') return;
        answered();
        call.end();
      });
    },
  };
}

/** Starts a replica named `name` on 127.0.0.1:0. */
export async function startGreeter(
  name: string,
  credentials: ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<GreeterReplica> {
  const server = new grpc.Server();
  const replica = {
    name,
    mode: 'ok' as ReplicaMode,
    streamDelayMs: 0,
    calls: 0,
    cancelled: 0,
    metadata: [] as Metadata[],
    deadlines: [] as number[],
    server,
  };
  server.addService(greeterClient().service, handlers(replica as GreeterReplica));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  let stopped: Promise<void> | undefined;
  return Object.assign(replica, {
    port,
    address: `127.0.0.1:${port}`,
    stop(): Promise<void> {
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
    },
  });
}

/** An address on 127.0.0.1 where nothing listens (connections are refused). */
export async function deadAddress(): Promise<string> {
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
