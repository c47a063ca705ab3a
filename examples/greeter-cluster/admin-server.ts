/**
 * The replica's admin interface, plain HTTP on its own port, for tests to steer the replica:
 * - `POST /faults` with a JSON `FaultsUpdate` → the faults now in force (fields left out are kept)
 * - `GET /faults` → the faults in force; `DELETE /faults` → removes them all
 * - `GET /stats` → `ReplicaStats`; `POST /reset-stats` → zeroes them
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultsInputError, parseFaultsUpdate } from './faults.js';
import { listen } from './node-server.js';
import type { RunningServer } from './node-server.js';
import { readBody } from './read-body.js';
import { replicaHeader } from './replica-context.js';
import type { ReplicaContext } from './replica-context.js';

/** Serves the admin routes on `127.0.0.1:port` (0 picks a free port). */
export function startAdminServer(ctx: ReplicaContext, port: number): Promise<RunningServer> {
  const server = createServer((request, response) => {
    route(ctx, request, response).catch((error: unknown) => {
      const status = error instanceof FaultsInputError || error instanceof SyntaxError ? 400 : 500;
      send(ctx, response, status, {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  });
  return listen(server, port);
}

async function route(
  ctx: ReplicaContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://admin');
  switch (`${request.method ?? 'GET'} ${url.pathname}`) {
    case 'POST /faults': {
      const body = await readBody(request);
      const update = parseFaultsUpdate(JSON.parse(body.toString('utf8') || '{}'));
      return send(ctx, response, 200, ctx.faults.update(update));
    }
    case 'GET /faults':
      return send(ctx, response, 200, ctx.faults.faults);
    case 'DELETE /faults':
      return send(ctx, response, 200, ctx.faults.clear());
    case 'GET /stats':
      return send(ctx, response, 200, ctx.stats.snapshot());
    case 'POST /reset-stats':
      ctx.stats.reset();
      return send(ctx, response, 200, ctx.stats.snapshot());
    default:
      return send(ctx, response, 404, {
        error: `no admin route ${request.method} ${url.pathname}`,
      });
  }
}

function send(ctx: ReplicaContext, response: ServerResponse, status: number, json: unknown): void {
  const body = JSON.stringify(json);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    [replicaHeader]: ctx.name,
  });
  response.end(body);
}
