/**
 * Harnesses that run `@detour/core/testing`'s adapter contract suite against @detour/grpc: real
 * grpc-js servers on 127.0.0.1:0 serving both test greeters, and clients through
 * `createGrpcFailover().clientOptions()` (a generated grpc-js client) or `detourNiceGrpc()` (a
 * nice-grpc client).
 */
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Metadata } from '@grpc/grpc-js';
import type {
  AdapterHarness,
  ContractClient,
  ContractClientOptions,
  ContractEndpoint,
  ContractEndpointMode,
  ContractErrorDescription,
  ContractErrorKind,
  ContractTiming,
} from '@detour/core/testing';
import { createClientFactory } from 'nice-grpc';
import { createGrpcFailover } from '../failover.js';
import type { GrpcFailover } from '../failover.js';
import type { GrpcFailoverOptions } from '../failover-options.js';
import { detourNiceGrpc } from '../nice-grpc.js';
import { sayHello } from './failover-client.js';
import { greeterClient } from './failover-greeter.js';
import type { HelloReply as GreeterReply, HelloRequest } from './failover-greeter.js';
import { startGrpcServer } from './grpc-server.js';
import { NiceGreeterDefinition, niceGreeterGrpcJsService } from './nice-greeter.js';
import type { HelloReply as NiceReply } from './nice-greeter.js';
import { sleep as coreSleep, systemClock } from '@detour/core';

/** The method the grpc-js client calls. */
export const contractGrpcJsMethod = '/helloworld.Greeter/SayHello';

/** The suite's timing over loopback sockets (the suite's defaults). */
const timing: ContractTiming = { attemptTimeoutMs: 250, hedgeDelayMs: 50, pollMs: 10 };

interface SeenCall {
  readonly metadata: Metadata;
  on(event: 'cancelled', listener: () => void): unknown;
}

/**
 * A contract endpoint: a grpc-js server whose unary methods (`helloworld.Greeter/SayHello`,
 * `detour.test.NiceGreeter/SayHello` and `/CreateGreeting`) answer by mode, and reply with the
 * server's address as `server`.
 */
class GrpcContractEndpoint implements ContractEndpoint {
  address = '';
  received = 0;
  cancelled = 0;
  #mode: ContractEndpointMode = 'ok';
  #stop: () => Promise<void> = () => Promise.resolve();

  static async start(): Promise<GrpcContractEndpoint> {
    const endpoint = new GrpcContractEndpoint();
    const server = await startGrpcServer((s) => {
      s.addService(greeterClient().service, {
        SayHello: endpoint.#unary<HelloRequest, GreeterReply>((address) => ({
          message: 'Hello',
          server: address,
          previous_attempts: '',
          echo: '',
          authorization: '',
        })),
      });
      const nice = endpoint.#unary<unknown, NiceReply>((address) => ({
        message: 'Hello',
        server: address,
        previousAttempts: '',
      }));
      s.addService(niceGreeterGrpcJsService, { SayHello: nice, CreateGreeting: nice });
    });
    endpoint.address = server.address;
    endpoint.#stop = () => server.stop(200);
    return endpoint;
  }

  setMode(mode: ContractEndpointMode): void {
    this.#mode = mode;
  }

  stop(): Promise<void> {
    return this.#stop();
  }

  /**
   * Counts the call, and its cancellation before it was answered (grpc-js also emits
   * `cancelled` when an answered call's stream closes, which is not one).
   */
  #see(call: SeenCall): () => void {
    this.received++;
    let over = false;
    call.on('cancelled', () => {
      if (over) return;
      over = true;
      this.cancelled++;
    });
    return () => {
      over = true;
    };
  }

  #unary<Request, Reply>(reply: (address: string) => Reply) {
    return (
      call: grpc.ServerUnaryCall<Request, Reply>,
      callback: grpc.sendUnaryData<Reply>,
    ): void => {
      const answered = this.#see(call);
      const mode = this.#mode;
      if (mode === 'hang') return;
      answered();
      if (mode === 'ok') {
        callback(null, reply(this.address));
        return;
      }
      callback({
        name: 'Error',
        message: '',
        code: mode === 'invalid' ? status.INVALID_ARGUMENT : status.UNAVAILABLE,
        details: `${this.address} is ${mode}`,
      });
    };
  }
}

/** gRPC status codes (grpc-js's `status`; nice-grpc's `Status` has the same numbers). */
function describeGrpcError(error: unknown): ContractErrorDescription {
  if (error instanceof Error && error.name === 'AbortError') return { kind: 'cancelled' };
  const code = (error as { code?: unknown } | null | undefined)?.code;
  const kinds: Partial<Record<number, ContractErrorKind>> = {
    [status.UNAVAILABLE]: 'unavailable',
    [status.DEADLINE_EXCEEDED]: 'deadline',
    [status.INVALID_ARGUMENT]: 'invalid',
    [status.CANCELLED]: 'cancelled',
  };
  return { kind: (typeof code === 'number' && kinds[code]) || 'other' };
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects (the suite's contract). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return coreSleep(systemClock, ms, signal).catch(() => undefined);
}

/**
 * A failover over `endpoints` in priority order (priority-groups, priority = index), without
 * detection, health checks or retry budget, so that only the calls decide what each endpoint
 * receives.
 */
function contractFailover(
  endpoints: readonly ContractEndpoint[],
  options: ContractClientOptions,
  extra: Pick<GrpcFailoverOptions, 'idempotentMethods'> = {},
): GrpcFailover {
  return createGrpcFailover({
    endpoints: endpoints.map((endpoint, priority) => ({ address: endpoint.address, priority })),
    selector: 'priority-groups',
    detectors: [],
    healthCheck: false,
    budget: false,
    metrics: false,
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    call: {
      maxAttempts: options.maxAttempts,
      ...(options.attemptTimeoutMs !== undefined && { attemptTimeoutMs: options.attemptTimeoutMs }),
      ...(options.hedgeDelayMs !== undefined && { hedge: { delayMs: options.hedgeDelayMs } }),
    },
    ...extra,
  });
}

const base = {
  async startEndpoints(count: number): Promise<readonly ContractEndpoint[]> {
    return Promise.all(Array.from({ length: count }, () => GrpcContractEndpoint.start()));
  },
  describeError: describeGrpcError,
  sleep,
  timing,
};

/**
 * The suite's harness for a generated grpc-js client (`helloworld.Greeter`) on
 * `failover.clientOptions()`. Idempotency comes from `idempotentMethods`; the caller's signal
 * cancels the call (`call.cancel()`: CANCELLED), as grpc-js clients take no signal.
 */
export function grpcJsContractHarness(): AdapterHarness {
  return {
    ...base,
    createClient(endpoints, options): ContractClient {
      const failover = contractFailover(endpoints, options, {
        ...(options.idempotent && { idempotentMethods: [contractGrpcJsMethod] }),
      });
      const Greeter = greeterClient();
      const client = new Greeter(
        'detour:///contract',
        grpc.credentials.createInsecure(),
        failover.clientOptions(),
      );
      return {
        async call(callOptions) {
          const signal = callOptions?.signal;
          let cancel: (() => void) | undefined;
          try {
            const reply = await sayHello(client, { name: 'contract' }, {}, (call) => {
              if (!signal) return;
              cancel = () => call.cancel();
              if (signal.aborted) cancel();
              else signal.addEventListener('abort', cancel, { once: true });
            });
            return { endpoint: reply.server };
          } finally {
            if (cancel) signal?.removeEventListener('abort', cancel);
          }
        },
        close() {
          client.close(); // closes the failover too
          failover.close();
        },
      };
    },
  };
}

/**
 * The suite's harness for a nice-grpc client (`detour.test.NiceGreeter`) through
 * `detourNiceGrpc()`: `CreateGreeting` (no idempotency level in the definition) with the call
 * option `detourIdempotent`, and nice-grpc's own `signal`.
 */
export function niceGrpcContractHarness(): AdapterHarness {
  return {
    ...base,
    createClient(endpoints, options): ContractClient {
      const failover = contractFailover(endpoints, options);
      const nice = detourNiceGrpc(failover);
      const client = createClientFactory()
        .use(nice.middleware)
        .create(NiceGreeterDefinition, nice.channel);
      return {
        async call(callOptions) {
          const reply = await client.createGreeting(
            { name: 'contract' },
            {
              detourIdempotent: options.idempotent,
              ...(callOptions?.signal && { signal: callOptions.signal }),
            },
          );
          return { endpoint: reply.server };
        },
        close() {
          nice.channel.close(); // closes the failover
        },
      };
    },
  };
}
