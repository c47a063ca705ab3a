/**
 * Raw-bytes servers that answer with their own name (or fail, or answer late), a client
 * constructor for them, and a call that returns the answering server's name. Used by the
 * resolver and load-balancer tests.
 */
import * as grpc from '@grpc/grpc-js';
import { rawUnaryImplementation, rawUnaryService } from './raw-unary-service.js';

export const RawClient = grpc.makeGenericClientConstructor(rawUnaryService, 'Raw');

export interface NamedServerBehaviour {
  /** Answer UNAVAILABLE. */
  readonly fail?: boolean;
  /** Answer this late, ms. */
  readonly delayMs?: number;
}

/** Starts a server on 127.0.0.1:0 and adds it to `servers`; returns its address. */
export async function startNamedServer(
  servers: grpc.Server[],
  name: string,
  behaviour: NamedServerBehaviour = {},
): Promise<string> {
  const server = new grpc.Server();
  server.addService(
    rawUnaryService,
    rawUnaryImplementation((_call, callback) => {
      const answer = (): void => {
        if (behaviour.fail)
          callback({ code: grpc.status.UNAVAILABLE, details: `${name} is failing` });
        else callback(null, Buffer.from(name));
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  servers.push(server);
  return `127.0.0.1:${port}`;
}

/** One call with a 2 s deadline; resolves with the answering server's name. */
export function callNamed(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) => {
    (
      client as unknown as {
        unary: (req: Buffer, opts: grpc.CallOptions, cb: grpc.requestCallback<Buffer>) => void;
      }
    ).unary(Buffer.alloc(0), { deadline: Date.now() + 2000 }, (error, reply) =>
      error ? reject(error) : resolve(reply!.toString()),
    );
  });
}
