/**
 * A real `node:http` server on 127.0.0.1:0 that records every request with its whole body, for
 * the request body and redirect tests: each replayed attempt must reach the server with the same
 * bytes and headers.
 *
 * ```ts
 * const server = await startBodyServer((request) =>
 *   request.path === '/old' ? { status: 307, headers: { location: '/new' } } : {},
 * );
 * await fetch(new URL('/old', server.url), { method: 'POST', body: 'x' });
 * server.requests; // [{ method: 'POST', path: '/old', … }, …]
 * ```
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The whole request body (empty if the client stopped sending). */
  readonly body: Buffer;
  /** The client finished sending the body (false if the connection ended first). */
  readonly complete: boolean;
}

/** What the server answers; the default is 200 with body `ok`. */
export interface Reply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /**
   * Send the response head as soon as the request head arrives, and end the response once the
   * body has arrived (fetch resolves while the upload goes on). Without it the server answers
   * once the body has arrived.
   */
  readonly early?: boolean;
  /** Send the head and one chunk of body, then never end the response (until the client goes). */
  readonly hang?: boolean;
}

/** The request as seen when its head arrives, for choosing the reply. */
export interface RequestHead {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface BodyServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: URL;
  /** Requests whose bodies were read to the end or cut off, in order of arrival. */
  readonly requests: readonly SeenRequest[];
  /** Responses the client closed before the server ended them (a cancelled body). */
  readonly abandoned: number;
  /** Resolves when `requests` has `count` entries. */
  waitForRequests(count: number): Promise<void>;
  /** Stops listening, destroys open connections, and resolves when the server has closed. */
  close(): Promise<void>;
}

export async function startBodyServer(
  reply: (request: RequestHead) => Reply = () => ({}),
): Promise<BodyServer> {
  const requests: SeenRequest[] = [];
  const waiters = new Set<() => void>();
  let abandoned = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const head: RequestHead = {
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
    };
    const answer = reply(head);
    const respond = (): void => {
      if (!response.headersSent) response.writeHead(answer.status ?? 200, answer.headers);
      if (answer.hang) {
        response.write('partial body ');
        response.on('close', () => {
          if (!response.writableFinished) abandoned++;
        });
      } else response.end(answer.body ?? 'ok');
    };
    if (answer.early) {
      response.writeHead(answer.status ?? 200, answer.headers);
      response.flushHeaders();
    }
    const chunks: Buffer[] = [];
    let recorded = false;
    const record = (complete: boolean): void => {
      if (recorded) return;
      recorded = true;
      requests.push({ ...head, body: Buffer.concat(chunks), complete });
      for (const waiter of waiters) waiter();
      if (complete) respond();
    };
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => record(true));
    request.on('close', () => record(false));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    requests,
    get abandoned() {
      return abandoned;
    },
    waitForRequests: (count) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (requests.length < count) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens: connections are refused before anything is sent. */
export async function refusingUrl(): Promise<URL> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new URL(`http://127.0.0.1:${port}/`);
}

/** The process's open sockets and servers, to check that a test closed what it opened. */
export function openSockets(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((name) => name.startsWith('TCP'))
    .sort();
}

/** Resolves once `openSockets()` is back to `baseline` (sockets close asynchronously). */
export async function waitForSockets(baseline: readonly string[], timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const now = openSockets();
    if (JSON.stringify(now) === JSON.stringify(baseline)) return;
    if (Date.now() > end) {
      throw new Error(`open sockets did not return to ${baseline.join()}: ${now.join()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
