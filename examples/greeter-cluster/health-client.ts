/** A typed grpc-js client for the standard `grpc.health.v1.Health` service every replica serves. */
import * as grpc from '@grpc/grpc-js';
import { service } from 'grpc-health-check';
import type { GreeterClientOptions } from './greeter-client.js';

/** `grpc.health.v1.HealthCheckRequest`; `''` asks about the server as a whole. */
export interface HealthCheckRequest {
  service: string;
}

/** `grpc.health.v1.HealthCheckResponse`, enums as strings. */
export interface HealthCheckResponse {
  status: 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
}

type Options = Partial<grpc.CallOptions>;
type Callback = grpc.requestCallback<HealthCheckResponse>;

/** The Health methods (`check`, `watch`). */
export interface HealthClient extends grpc.Client {
  check(request: HealthCheckRequest, callback: Callback): grpc.ClientUnaryCall;
  check(request: HealthCheckRequest, options: Options, callback: Callback): grpc.ClientUnaryCall;
  check(
    request: HealthCheckRequest,
    metadata: grpc.Metadata,
    options: Options,
    callback: Callback,
  ): grpc.ClientUnaryCall;
  watch(
    request: HealthCheckRequest,
    options?: Options,
  ): grpc.ClientReadableStream<HealthCheckResponse>;
}

/** A health client for `address` (`host:port`). Close it with `client.close()`. */
export function createHealthClient(
  address: string,
  options: GreeterClientOptions = {},
): HealthClient {
  const Health = grpc.makeGenericClientConstructor(service, 'grpc.health.v1.Health');
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  return new Health(address, credentials, options.channelOptions) as unknown as HealthClient;
}
