/**
 * Real `node:http` servers for adapter tests (no fetch mocks): bound to 127.0.0.1 on a port the
 * system picks, with the connections they accept tracked, so that `close()` can end the
 * keep-alive sockets fetch leaves open and tests can check that none is leaked.
 *
 * ```ts
 * const server = await startHttpServer((req, res) => res.writeHead(503).end());
 * cleanup.push(() => server.close());
 * const response = await fetch(`${server.url}/hello`);
 * ```
 *
 * Handlers can misbehave at will: `req.socket.destroy()` (the connection closes before any
 * answer), `req.socket.resetAndDestroy()` (a TCP RST), `res.write()` of part of a body and then
 * either, or no answer at all (the socket is destroyed by `close()`).
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';

export interface TestHttpServer {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the origin, without a trailing slash. */
  readonly url: string;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Connections open now (closed by either side are not counted). */
  readonly open: number;
  /** Requests received since the start. */
  readonly requests: readonly IncomingMessage[];
  /** Resolves once `open` is `count` (sockets close asynchronously); rejects after `timeoutMs`. */
  waitForOpen(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Stops listening and destroys every open connection (fetch keeps idle ones alive), then
   * resolves once the server and every connection are closed (`open` is 0). Idempotent.
   */
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1:0. */
export async function startHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<TestHttpServer> {
  const sockets = new Set<Socket>();
  const requests: IncomingMessage[] = [];
  let accepted = 0;
  const listener: RequestListener = (request, response) => {
    requests.push(request);
    handler(request, response);
  };
  const server = createServer(listener);
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP server');
  const { port } = address;
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    requests,
    async waitForOpen(count, timeoutMs = 2000) {
      const end = Date.now() + timeoutMs;
      while (sockets.size !== count) {
        if (Date.now() > end) {
          throw new Error(`${sockets.size} connections open after ${timeoutMs} ms, not ${count}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close() {
      closed ??= (async () => {
        const ended = [...sockets].map(
          (socket) => new Promise((resolve) => socket.once('close', resolve)),
        );
        const stopped = new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
        });
        for (const socket of sockets) socket.destroy();
        await Promise.all([stopped, ...ended]);
      })();
      return closed;
    },
  };
}

/** `http://127.0.0.1:<port>` where nothing listens: the port of a server that was closed. */
export async function refusedUrl(): Promise<string> {
  const server = await startHttpServer(() => {});
  await server.close();
  return server.url;
}

/**
 * Resolves once `socket` (such as `request.socket` of a request the server got) is closed.
 * Checks one connection, where `waitForOpen` counts all of them: undici opens a replacement
 * connection (that sends nothing) after it destroys one whose response was aborted or not read
 * to its end, so `open` may not drop to 0 then.
 */
export function socketClosed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
