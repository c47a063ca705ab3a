/**
 * A one-method test service whose messages are raw bytes, so tests need no .proto file:
 * `/detour.test.Raw/Unary`, request and response `Buffer`s passed through unchanged.
 */
import type {
  sendUnaryData,
  ServerUnaryCall,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';

export const rawUnaryPath = '/detour.test.Raw/Unary';

const identity = (value: Buffer): Buffer => value;

export const rawUnaryService: ServiceDefinition = {
  unary: {
    path: rawUnaryPath,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export type RawUnaryHandler = (
  call: ServerUnaryCall<Buffer, Buffer>,
  callback: sendUnaryData<Buffer>,
) => void;

/** The implementation object for `server.addService(rawUnaryService, …)`. */
export function rawUnaryImplementation(handler: RawUnaryHandler): UntypedServiceImplementation {
  return { unary: handler };
}
