/**
 * The harness that runs `@detour/core/testing`'s adapter contract suite against `createFetch()`:
 * real `node:http` servers on 127.0.0.1:0 answering by mode, and a detour fetch over them. A
 * request is `POST /contract` (not idempotent by method), made idempotent per client with
 * `init.detour.idempotent`; a response other than 200 is thrown as an `HttpStatusError` so the
 * suite sees a failed call, as it would from a client library built on fetch.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type {
  AdapterHarness,
  ContractClient,
  ContractEndpoint,
  ContractEndpointMode,
  ContractErrorDescription,
  ContractTiming,
} from '@detour/core/testing';
import { createFetch } from '../create-fetch.js';
import { FetchFailedError } from '../fetch-error.js';
import { sleep as coreSleep, systemClock } from '@detour/core';

const timing: ContractTiming = { attemptTimeoutMs: 250, hedgeDelayMs: 50, pollMs: 10 };

/** A response the contract client got with a status other than 200. */
class HttpStatusError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

class HttpContractEndpoint implements ContractEndpoint {
  address = '';
  received = 0;
  cancelled = 0;
  #mode: ContractEndpointMode = 'ok';
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  static async start(): Promise<HttpContractEndpoint> {
    const endpoint = new HttpContractEndpoint();
    const server = createServer((request, response) => {
      request.resume();
      endpoint.#answer(response);
    });
    server.on('connection', (socket: Socket) => {
      endpoint.#sockets.add(socket);
      socket.on('close', () => endpoint.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint.#server = server;
    endpoint.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return endpoint;
  }

  #answer(response: ServerResponse): void {
    this.received++;
    const mode = this.#mode;
    if (mode === 'hang') {
      // Cancelled: the client went away before an answer.
      response.on('close', () => {
        if (!response.writableEnded) this.cancelled++;
      });
      return;
    }
    const status = mode === 'ok' ? 200 : mode === 'invalid' ? 400 : 503;
    response.writeHead(status, { 'content-type': 'text/plain' }).end(this.address);
  }

  setMode(mode: ContractEndpointMode): void {
    this.#mode = mode;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

function describeFetchError(error: unknown): ContractErrorDescription {
  if (error instanceof HttpStatusError) {
    return {
      kind: error.status === 400 ? 'invalid' : error.status === 503 ? 'unavailable' : 'other',
    };
  }
  if (error instanceof FetchFailedError) {
    const last = error.attempts.filter((a) => a.outcome !== 'cancelled').at(-1);
    if (error.code === 'DETOUR_DEADLINE_EXCEEDED' || last?.outcome === 'timeout') {
      return { kind: 'deadline' };
    }
    return { kind: 'unavailable' };
  }
  if (error instanceof Error && error.name === 'AbortError') return { kind: 'cancelled' };
  return { kind: 'other' };
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects (the suite's contract). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return coreSleep(systemClock, ms, signal).catch(() => undefined);
}

/** The suite's harness for `createFetch()` over real HTTP servers. */
export function fetchContractHarness(): AdapterHarness {
  return {
    async startEndpoints(count: number): Promise<readonly ContractEndpoint[]> {
      return Promise.all(Array.from({ length: count }, () => HttpContractEndpoint.start()));
    },
    describeError: describeFetchError,
    sleep,
    timing,
    createClient(endpoints, options): ContractClient {
      const api = createFetch({
        endpoints: endpoints.map((endpoint, priority) => ({ address: endpoint.address, priority })),
        selector: 'priority-groups',
        detectors: [],
        budget: false,
        metrics: false,
        call: {
          maxAttempts: options.maxAttempts,
          ...(options.attemptTimeoutMs !== undefined && {
            attemptTimeoutMs: options.attemptTimeoutMs,
          }),
          ...(options.hedgeDelayMs !== undefined && { hedge: { delayMs: options.hedgeDelayMs } }),
        },
      });
      return {
        async call(callOptions) {
          const response = await api('/contract', {
            method: 'POST',
            body: 'contract',
            detour: { idempotent: options.idempotent },
            ...(callOptions?.signal && { signal: callOptions.signal }),
          });
          const text = await response.text();
          if (response.status !== 200) throw new HttpStatusError(response.status);
          return { endpoint: text };
        },
        close() {
          api.close();
        },
      };
    },
  };
}
