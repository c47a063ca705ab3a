/**
 * detour's clients in the benchmark, configured as the package READMEs advise and nothing more:
 * a 300 ms attempt timeout (a frozen replica costs one attempt, not the deadline), SayHello
 * idempotent (so it may be retried on another replica), health checks on (the gRPC health
 * service; `/healthz` for fetch), metrics off (no SDK is registered anyway), every other option at
 * its default (P2C peak-EWMA, the default detectors, retry budget, up to 3 attempts).
 */
import * as grpc from '@grpc/grpc-js';
import { ClientError, Status, createClientFactory } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { createGrpcFailover, detourNiceGrpc } from '@detour/grpc';
import { createFetch } from '@detour/http';
import { createGreeterClient } from '../../examples/greeter-cluster/greeter-client.js';
import { GreeterDefinition } from '../../examples/grpc-failover/greeter-definition.js';
import type { BenchClientFactory, BenchReplica, CallResult } from '../harness/types.js';

const attemptTimeoutMs = 300;
const replyPattern = /^Hello \S+ from (\S+)$/;

function replicaOf(message: string): CallResult {
  const replica = replyPattern.exec(message)?.[1];
  return replica === undefined ? { code: 'unexpected reply' } : { replica };
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown };
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'error';
}

function grpcFailover(replicas: readonly BenchReplica[], deadlineMs?: number) {
  return createGrpcFailover({
    endpoints: replicas.map((r) => ({ id: r.name, address: r.grpcAddress })),
    call: { attemptTimeoutMs, ...(deadlineMs === undefined ? {} : { deadlineMs }) },
    idempotentMethods: ['/helloworld.Greeter/SayHello'],
    metrics: false,
  });
}

/** A generated grpc-js Greeter client on `createGrpcFailover().clientOptions()`. */
export const detourGrpcJs: BenchClientFactory = (replicas) => {
  const failover = grpcFailover(replicas);
  const client = createGreeterClient('detour:///greeter', {
    channelOptions: failover.clientOptions(),
  });
  return Promise.resolve({
    name: 'detour-grpc-js',
    transport: 'grpc',
    send: (deadlineMs) =>
      new Promise<CallResult>((resolve) => {
        client.sayHello(
          { name: 'bench' },
          { deadline: Date.now() + deadlineMs },
          (error, reply) => {
            if (error) resolve({ code: grpc.status[error.code] ?? String(error.code) });
            else resolve(replicaOf(reply!.message));
          },
        );
      }),
    close: () => {
      client.close();
      failover.close();
      return Promise.resolve();
    },
  });
};

/**
 * A nice-grpc client on `detourNiceGrpc(failover)`, with nice-grpc's deadline middleware; the
 * failover gets the deadline too (`call.deadlineMs`), to plan its retries within it.
 */
export function detourNiceGrpcFor(deadlineMs: number): BenchClientFactory {
  return (replicas) => {
    const failover = grpcFailover(replicas, deadlineMs);
    const nice = detourNiceGrpc(failover);
    const client = createClientFactory()
      .use(nice.middleware)
      .use(deadlineMiddleware)
      .create(GreeterDefinition, nice.channel);
    return Promise.resolve({
      name: 'detour-nice-grpc',
      transport: 'grpc',
      send: async (deadline) => {
        try {
          return replicaOf((await client.sayHello({ name: 'bench' }, { deadline })).message);
        } catch (error) {
          if (error instanceof ClientError) return { code: Status[error.code] };
          return { code: errorCode(error) };
        }
      },
      close: () => {
        failover.close();
        return Promise.resolve();
      },
    });
  };
}

/** `createFetch()` over the replicas' base URLs, with the `/healthz` health check. */
export const detourFetch: BenchClientFactory = (replicas) => {
  const fetch = createFetch({
    endpoints: replicas.map((r) => ({ id: r.name, address: r.httpUrl })),
    call: { attemptTimeoutMs },
    healthCheck: { path: '/healthz' },
    metrics: false,
  });
  return Promise.resolve({
    name: 'detour-fetch',
    transport: 'http',
    send: async (deadlineMs) => {
      try {
        const response = await fetch('/hello?name=bench', { detour: { deadlineMs } });
        if (response.status !== 200) {
          await response.body?.cancel();
          return { code: `HTTP ${response.status}` };
        }
        return { replica: ((await response.json()) as { replica: string }).replica };
      } catch (error) {
        return { code: errorCode(error) };
      }
    },
    close: () => {
      fetch.close();
      return Promise.resolve();
    },
  });
};
