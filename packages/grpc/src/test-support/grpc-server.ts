/**
 * Real grpc-js servers for adapter tests: bound to 127.0.0.1:0, stopped for good by `stop()`.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Graceful shutdown (`tryShutdown`), forced after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a grpc-js server on 127.0.0.1:0 after `register` has added its services. */
export async function startGrpcServer(register: (server: Server) => void): Promise<TestServer> {
  const server = new Server();
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    stop(graceMs = 1000) {
      stopped ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}

/** An address on 127.0.0.1 where nothing listens: a port that a server bound and released. */
export async function deadAddress(): Promise<string> {
  const { address, server } = await startGrpcServer(() => {});
  server.forceShutdown();
  return address;
}
