/**
 * `helloworld.Greeter` (`examples/greeter-cluster/greeter.proto`) as the generic service
 * definition ts-proto emits (`--ts_proto_opt=outputServices=generic-definitions`), written by
 * hand so that the example needs no protoc: the `GreeterDefinition` of the README's nice-grpc
 * quick start. SayHello carries `idempotencyLevel: 'IDEMPOTENT'`, as ts-proto writes for
 * `option idempotency_level = IDEMPOTENT;`. Messages are encoded with the codec that
 * @grpc/proto-loader builds from greeter.proto (loaded on first use).
 */
import { loadGreeter } from '../greeter-cluster/greeter-proto.js';
import type * as greeter from '../greeter-cluster/greeter-proto.js';

/** proto-loader's codec for SayHello; every Greeter method has the same message types. */
const codec = () => loadGreeter().service['SayHello']!;

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** A ts-proto message type: `encode(message).finish()`, `decode(bytes)`, `fromPartial()`. */
export const HelloRequest = {
  encode: (message: greeter.HelloRequest) => ({ finish: () => codec().requestSerialize(message) }),
  decode: (input: Uint8Array) =>
    codec().requestDeserialize(asBuffer(input)) as greeter.HelloRequest,
  fromPartial: (object: Partial<greeter.HelloRequest>): greeter.HelloRequest => ({
    name: object.name ?? '',
    count: object.count ?? 0,
    intervalMs: object.intervalMs ?? 0,
  }),
};

export const HelloReply = {
  encode: (message: greeter.HelloReply) => ({ finish: () => codec().responseSerialize(message) }),
  decode: (input: Uint8Array) => codec().responseDeserialize(asBuffer(input)) as greeter.HelloReply,
  fromPartial: (object: Partial<greeter.HelloReply>): greeter.HelloReply => ({
    message: object.message ?? '',
  }),
};

function method<Name extends string, RequestStream extends boolean, ResponseStream extends boolean>(
  name: Name,
  requestStream: RequestStream,
  responseStream: ResponseStream,
  options: { readonly idempotencyLevel?: 'IDEMPOTENT' | 'NO_SIDE_EFFECTS' } = {},
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

/** `service Greeter`; only SayHello is idempotent. */
export const GreeterDefinition = {
  name: 'Greeter',
  fullName: 'helloworld.Greeter',
  methods: {
    sayHello: method('SayHello', false, false, { idempotencyLevel: 'IDEMPOTENT' }),
    sayHelloStream: method('SayHelloStream', false, true),
    sayHelloMany: method('SayHelloMany', true, false),
    chat: method('Chat', true, true),
  },
} as const;
