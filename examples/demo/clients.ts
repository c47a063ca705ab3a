/**
 * The demo's four clients, each a `send` that makes one SayHello and reports who answered:
 * detour on a generated grpc-js client, detour under nice-grpc, detour's fetch (`GET /hello`), and
 * the baseline: a plain grpc-js client with the `round_robin` policy over the same replicas, as
 * a team would write it without detour.
 *
 * The detour clients use the settings the package READMEs advise and nothing else: a 300 ms
 * attempt timeout (a frozen replica costs one attempt, not the deadline), SayHello idempotent,
 * health checks (gRPC health service, `/healthz`), every other option at its default.
 */
import * as grpc from '@grpc/grpc-js';
import { createClientFactory, ClientError } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import type { EndpointSource, Pool } from '@detour/core';
import { createGrpcFailover, detourNiceGrpc } from '@detour/grpc';
import { createFetch } from '@detour/http';
import { createGreeterClient } from '../greeter-cluster/greeter-client.js';
import type { GreeterClient } from '../greeter-cluster/greeter-client.js';
import type { LocalReplica } from '../greeter-cluster/local-cluster.js';
import { GreeterDefinition } from '../grpc-failover/greeter-definition.js';
import type { ClientName } from './model.js';

/** How one call ended: the replica that answered, or the status it failed with. */
/** A call's result: the replica that answered, or what it failed with (`message` for people). */
export type CallResult =
  { readonly replica: string } | { readonly code: string; readonly message?: string };

export interface DemoClient {
  readonly name: ClientName;
  readonly label: string;
  readonly transport: 'grpc' | 'http';
  /** The detour pool behind the client; undefined for the baseline. */
  readonly pool: Pool | undefined;
  /** One SayHello for `name` with a deadline of `deadlineMs`; never rejects. */
  send(name: string, deadlineMs: number): Promise<CallResult>;
  close(): void;
}

const replyPattern = /^Hello \S+ from (\S+)$/;
const attemptTimeoutMs = 300;
/** Every call's deadline, ms. */
export const callDeadlineMs = 1_000;

/** Where a replica listens: all a client needs (a `LocalReplica` is one). */
export type ReplicaAddress = Pick<LocalReplica, 'name' | 'grpcAddress' | 'httpUrl'>;

/**
 * Where detour's clients get their endpoints from, instead of the replicas' fixed list: a source
 * of gRPC addresses and one of HTTP base URLs (with `--registry etcd`, two `etcdSource`s). Endpoint
 * ids must be the replica names, as with the fixed list.
 */
export interface DemoSources {
  readonly grpc: EndpointSource;
  readonly http: EndpointSource;
}

/**
 * Makes the named client for the replicas (endpoint ids are the replica names); `deadlineMs` is
 * the deadline its calls will get (the nice-grpc failover plans its retries within it). With
 * `sources`, detour's clients follow them instead of the fixed list (the baseline keeps the
 * list). The benchmark (`bench/clients/detour.ts`) uses the same detour clients.
 */
export function createClient(
  name: ClientName,
  replicas: readonly ReplicaAddress[],
  deadlineMs = callDeadlineMs,
  sources?: DemoSources,
): DemoClient {
  return makers[name](replicas, deadlineMs, sources);
}

/** Makes the named clients for the replicas. */
export function createClients(
  replicas: readonly ReplicaAddress[],
  names: readonly ClientName[],
  sources?: DemoSources,
  deadlineMs = callDeadlineMs,
): DemoClient[] {
  return names.map((name) => createClient(name, replicas, deadlineMs, sources));
}

type Maker = (
  replicas: readonly ReplicaAddress[],
  deadlineMs: number,
  sources: DemoSources | undefined,
) => DemoClient;

const makers: Record<ClientName, Maker> = {
  'detour-grpc-js': (replicas, _deadlineMs, sources) => {
    const failover = grpcFailover(replicas, {}, sources);
    const client = createGreeterClient('detour:///greeter', {
      channelOptions: failover.clientOptions(),
    });
    return {
      name: 'detour-grpc-js',
      label: 'detour + grpc-js',
      transport: 'grpc',
      pool: failover.pool,
      send: (name, deadlineMs) => sayHello(client, name, deadlineMs),
      close: () => {
        client.close();
        failover.close();
      },
    };
  },

  'detour-nice-grpc': (replicas, callsDeadlineMs, sources) => {
    // nice-grpc's deadline middleware only aborts the call: detour gets the limit too, to plan
    // its retries within it (packages/grpc/README.md, "Deadlines").
    const failover = grpcFailover(replicas, { deadlineMs: callsDeadlineMs }, sources);
    const nice = detourNiceGrpc(failover);
    const client = createClientFactory()
      .use(nice.middleware)
      .use(deadlineMiddleware)
      .create(GreeterDefinition, nice.channel);
    return {
      name: 'detour-nice-grpc',
      label: 'detour + nice-grpc',
      transport: 'grpc',
      pool: failover.pool,
      send: async (name, deadlineMs) => {
        try {
          const reply = await client.sayHello({ name }, { deadline: deadlineMs });
          return replicaOf(reply.message);
        } catch (error) {
          if (error instanceof ClientError) {
            return { code: statusName(error.code), message: error.details };
          }
          return { code: errorCode(error), message: errorMessage(error) };
        }
      },
      close: () => failover.close(),
    };
  },

  'detour-fetch': (replicas, _deadlineMs, sources) => {
    const fetch = createFetch({
      ...(sources
        ? { source: sources.http }
        : { endpoints: replicas.map((r) => ({ id: r.name, address: r.httpUrl })) }),
      call: { attemptTimeoutMs },
      healthCheck: { path: '/healthz' },
      metrics: false,
    });
    return {
      name: 'detour-fetch',
      label: 'detour + fetch',
      transport: 'http',
      pool: fetch.pool,
      send: async (name, deadlineMs) => {
        try {
          const response = await fetch(`/hello?name=${encodeURIComponent(name)}`, {
            detour: { deadlineMs },
          });
          if (response.status !== 200) {
            await response.body?.cancel();
            return { code: `HTTP ${response.status}`, message: response.statusText };
          }
          const reply = (await response.json()) as { replica: string };
          return { replica: reply.replica };
        } catch (error) {
          return { code: errorCode(error), message: errorMessage(error) };
        }
      },
      close: () => fetch.close(),
    };
  },

  'baseline-grpc-js': (replicas) => {
    // grpc-js's own load balancing over a fixed address list: round_robin, no retries.
    const target = `ipv4:${replicas.map((r) => r.grpcAddress).join(',')}`;
    const client = createGreeterClient(target, {
      channelOptions: {
        'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      },
    });
    return {
      name: 'baseline-grpc-js',
      label: 'plain grpc-js round_robin',
      transport: 'grpc',
      pool: undefined,
      send: (name, deadlineMs) => sayHello(client, name, deadlineMs),
      close: () => client.close(),
    };
  },
};

function grpcFailover(
  replicas: readonly ReplicaAddress[],
  call: { deadlineMs?: number },
  sources: DemoSources | undefined,
) {
  return createGrpcFailover({
    ...(sources
      ? { source: sources.grpc }
      : { endpoints: replicas.map((r) => ({ id: r.name, address: r.grpcAddress })) }),
    call: { attemptTimeoutMs, ...call },
    idempotentMethods: ['/helloworld.Greeter/SayHello'],
    metrics: false,
  });
}

function sayHello(client: GreeterClient, name: string, deadlineMs: number): Promise<CallResult> {
  return new Promise((resolve) => {
    client.sayHello({ name }, { deadline: Date.now() + deadlineMs }, (error, reply) => {
      if (error) resolve({ code: statusName(error.code), message: error.details });
      else resolve(replicaOf(reply!.message));
    });
  });
}

function statusName(code: number): string {
  return grpc.status[code] ?? `status ${code}`;
}

function replicaOf(message: string): CallResult {
  const replica = replyPattern.exec(message)?.[1];
  return replica === undefined
    ? { code: `unexpected reply ${JSON.stringify(message)}` }
    : { replica };
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown };
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'error';
}
