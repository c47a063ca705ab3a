/** A typed grpc-js client for `helloworld.Greeter`, for tests, the demo and benchmarks. */
import * as grpc from '@grpc/grpc-js';
import { loadGreeter } from './greeter-proto.js';
import type { HelloReply, HelloRequest } from './greeter-proto.js';

type Options = Partial<grpc.CallOptions>;
type Callback = grpc.requestCallback<HelloReply>;

/** The Greeter methods as grpc-js generates them (camelCase names). */
export interface GreeterClient extends grpc.Client {
  sayHello(request: HelloRequest, callback: Callback): grpc.ClientUnaryCall;
  sayHello(request: HelloRequest, options: Options, callback: Callback): grpc.ClientUnaryCall;
  sayHello(
    request: HelloRequest,
    metadata: grpc.Metadata,
    callback: Callback,
  ): grpc.ClientUnaryCall;
  sayHello(
    request: HelloRequest,
    metadata: grpc.Metadata,
    options: Options,
    callback: Callback,
  ): grpc.ClientUnaryCall;
  sayHelloStream(request: HelloRequest, options?: Options): grpc.ClientReadableStream<HelloReply>;
  sayHelloStream(
    request: HelloRequest,
    metadata?: grpc.Metadata,
    options?: Options,
  ): grpc.ClientReadableStream<HelloReply>;
  sayHelloMany(callback: Callback): grpc.ClientWritableStream<HelloRequest>;
  sayHelloMany(options: Options, callback: Callback): grpc.ClientWritableStream<HelloRequest>;
  sayHelloMany(
    metadata: grpc.Metadata,
    options: Options,
    callback: Callback,
  ): grpc.ClientWritableStream<HelloRequest>;
  chat(options?: Options): grpc.ClientDuplexStream<HelloRequest, HelloReply>;
  chat(
    metadata?: grpc.Metadata,
    options?: Options,
  ): grpc.ClientDuplexStream<HelloRequest, HelloReply>;
}

/** How to reach a replica. */
export interface GreeterClientOptions {
  /** Defaults to insecure (plaintext). */
  credentials?: grpc.ChannelCredentials;
  /** grpc-js channel options, e.g. `{ 'grpc.use_local_subchannel_pool': 1 }`. */
  channelOptions?: grpc.ChannelOptions;
}

/** A Greeter client for `address` (`host:port`). Close it with `client.close()`. */
export function createGreeterClient(
  address: string,
  options: GreeterClientOptions = {},
): GreeterClient {
  const Greeter = loadGreeter();
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  return new Greeter(address, credentials, options.channelOptions) as unknown as GreeterClient;
}
