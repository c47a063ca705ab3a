/**
 * One unary call with a plain grpc-js client, reported as the detour channel reports an attempt:
 * the value, or a `GrpcAttemptError` built from the `ServiceError` plus whether response headers
 * (`metadata` event) and a message arrived. Lets the classifier be tested on what grpc-js really
 * says, independently of the channel.
 */
import type { AttemptResult } from '@detour/core';
import type { ChannelOptions, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { GrpcAttemptError } from '../grpc-attempt-error.js';
import { rawUnaryPath } from './raw-unary-service.js';

export interface UnaryAttemptOptions {
  /** Deadline of the call, ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Options of the client's channel; `{ 'grpc.enable_retries': 0 }` turns off transparent retry. */
  readonly channelOptions?: ChannelOptions;
  /** Called once the call has started (to cancel it, or to shut a server down under it). */
  readonly onStarted?: (call: ClientUnaryCall) => void;
  /** Reuse this client instead of making one (it is then not closed). */
  readonly client?: Client;
}

const identity = (value: Buffer): Buffer => value;

export async function unaryAttempt(
  address: string,
  options: UnaryAttemptOptions = {},
): Promise<AttemptResult<Buffer>> {
  const client =
    options.client ??
    new Client(address, credentials.createInsecure(), options.channelOptions ?? {});
  try {
    return await new Promise<AttemptResult<Buffer>>((resolve) => {
      let headersReceived = false;
      const call = client.makeUnaryRequest(
        rawUnaryPath,
        identity,
        identity,
        Buffer.from('ping'),
        new Metadata(),
        { deadline: Date.now() + (options.timeoutMs ?? 5000) },
        (error: ServiceError | null, value?: Buffer) => {
          if (error) {
            resolve({
              ok: false,
              error: new GrpcAttemptError(
                error.code,
                error.details,
                error.metadata,
                headersReceived,
                value === undefined ? 0 : 1,
              ),
            });
          } else {
            resolve({ ok: true, value: value! });
          }
        },
      );
      call.on('metadata', () => {
        headersReceived = true;
      });
      options.onStarted?.(call);
    });
  } finally {
    if (!options.client) client.close();
  }
}
