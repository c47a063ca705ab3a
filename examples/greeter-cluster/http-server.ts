/**
 * The replica's HTTP server (HTTPS when given TLS material):
 * - `GET /hello?name=…` → `{ message, replica }`
 * - `GET /healthz` → 200 `{ status: 'SERVING' }` or 503 `{ status: 'NOT_SERVING' }`
 * - `POST /echo` → the request body, same content type
 * - `GET /slow-stream?chunks=5&intervalMs=100` → `chunks` lines of text, `intervalMs` apart
 *
 * Every response carries `x-replica`. Faults (latency, 503s, destroyed responses) apply to all
 * but `/healthz`.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { listen } from './node-server.js';
import type { RunningServer } from './node-server.js';
import { readBody } from './read-body.js';
import { replicaHeader } from './replica-context.js';
import type { ReplicaContext } from './replica-context.js';
import type { TlsMaterial } from './tls-material.js';

/** Serves the routes above on `127.0.0.1:port` (0 picks a free port). */
export function startHttpServer(
  ctx: ReplicaContext,
  port: number,
  tls: TlsMaterial | undefined,
): Promise<RunningServer> {
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    route(ctx, request, response).catch((error: unknown) => {
      if (!response.headersSent) send(ctx, response, 500, { error: String(error) });
      else response.destroy();
    });
  };
  const server =
    tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ca: tls.ca,
            requestCert: tls.requireClientCert,
            rejectUnauthorized: tls.requireClientCert,
          },
          handler,
        );
  return listen(server, port);
}

async function route(
  ctx: ReplicaContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://replica');
  const method = request.method ?? 'GET';
  const key = `${method} ${url.pathname}`;
  if (key === 'GET /healthz') {
    ctx.stats.record('probe', key);
    const status = ctx.health();
    return send(ctx, response, status === 'SERVING' ? 200 : 503, { status, replica: ctx.name });
  }
  if (key !== 'GET /hello' && key !== 'POST /echo' && key !== 'GET /slow-stream') {
    return send(ctx, response, 404, { error: `no route ${key}` });
  }
  ctx.stats.record('http', key);
  const admission = await ctx.faults.admit(responseSignal(response));
  if (admission === 'abandoned') return;
  if (admission === 'fail') {
    return send(ctx, response, 503, { error: 'UNAVAILABLE', replica: ctx.name });
  }
  switch (key) {
    case 'GET /hello': {
      const name = url.searchParams.get('name') ?? 'world';
      const reply = { message: `Hello ${name} from ${ctx.name}`, replica: ctx.name };
      return send(ctx, response, 200, reply, true);
    }
    case 'POST /echo': {
      const body = await readBody(request);
      const type = request.headers['content-type'] ?? 'application/octet-stream';
      return sendBody(ctx, response, 200, { 'content-type': type }, body, true);
    }
    case 'GET /slow-stream':
      return slowStream(ctx, response, url.searchParams);
  }
}

/** Sends `json`; `mayReset` for application answers, which the reset fault may cut. */
function send(
  ctx: ReplicaContext,
  response: ServerResponse,
  status: number,
  json: unknown,
  mayReset = false,
): void {
  const body = Buffer.from(JSON.stringify(json));
  sendBody(ctx, response, status, { 'content-type': 'application/json' }, body, mayReset);
}

/** Sends `body`, or, when the reset fault picks this response, half of it and then a cut. */
function sendBody(
  ctx: ReplicaContext,
  response: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  mayReset = false,
): void {
  response.writeHead(status, {
    ...headers,
    'content-length': body.length,
    [replicaHeader]: ctx.name,
  });
  if (mayReset && ctx.faults.takeReset()) {
    response.flushHeaders();
    response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.destroy());
    return;
  }
  response.end(body);
}

async function slowStream(
  ctx: ReplicaContext,
  response: ServerResponse,
  params: URLSearchParams,
): Promise<void> {
  const chunks = intParam(params, 'chunks', 5);
  const intervalMs = intParam(params, 'intervalMs', 100);
  const reset = ctx.faults.takeReset();
  const signal = responseSignal(response);
  response.writeHead(200, { 'content-type': 'text/plain', [replicaHeader]: ctx.name });
  for (let i = 1; i <= chunks; i++) {
    if (i > 1) {
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        return;
      }
      if (reset) return void response.destroy();
    }
    response.write(`chunk ${i}/${chunks} from ${ctx.name}\n`);
  }
  response.end();
}

function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const value = Number(params.get(name) ?? fallback);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

/** Aborts when the client goes away before the response is complete. */
function responseSignal(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}
