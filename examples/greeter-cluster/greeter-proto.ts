/**
 * The Greeter service of `greeter.proto`, loaded with @grpc/proto-loader, and its message types.
 * Shared by the replica (server) and by clients (tests, demo, benchmarks).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Absolute path of `greeter.proto`. */
export const greeterProtoPath = fileURLToPath(new URL('./greeter.proto', import.meta.url));

/** Fully qualified name of the service, as used by `grpc.health.v1` and in method paths. */
export const greeterServiceName = 'helloworld.Greeter';

/** `helloworld.HelloRequest`, with proto-loader's camelCase field names. */
export interface HelloRequest {
  name: string;
  /** SayHelloStream: how many replies to send (0 sends none). */
  count?: number;
  /** SayHelloStream: pause between replies, in ms. */
  intervalMs?: number;
}

/** `helloworld.HelloReply`. */
export interface HelloReply {
  message: string;
}

/** Options used to load `greeter.proto`: camelCase fields, defaults filled in. */
export const greeterLoaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let loaded: grpc.ServiceClientConstructor | undefined;

/**
 * The generic client constructor for `helloworld.Greeter`; its `service` property is the service
 * definition a server adds. Loads the proto on first use.
 */
export function loadGreeter(): grpc.ServiceClientConstructor {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync(greeterProtoPath, greeterLoaderOptions);
    const pkg = grpc.loadPackageDefinition(definition);
    const helloworld = pkg['helloworld'] as grpc.GrpcObject;
    loaded = helloworld['Greeter'] as grpc.ServiceClientConstructor;
  }
  return loaded;
}
