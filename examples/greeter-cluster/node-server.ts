/** Listening and closing for the replica's `node:http`/`node:https` servers. */
import type { Server } from 'node:http';

/** A server that is listening, with the port it got and a way to close it. */
export interface RunningServer {
  readonly port: number;
  /** Stops accepting, lets requests in progress finish for up to `graceMs`, then cuts them. */
  close(graceMs: number): Promise<void>;
}

/** Listens on `127.0.0.1:port` (0 picks a free port). */
export function listen(server: Server, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('server has no TCP address'));
        return;
      }
      resolve({ port: address.port, close: (graceMs) => close(server, graceMs) });
    });
  });
}

function close(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
