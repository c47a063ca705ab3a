/**
 * The gRPC clients detour is measured against (`pnpm bench`): what grpc-js and nice-grpc offer
 * without detour, each calling `helloworld.Greeter/SayHello` `{ name: 'bench' }` on the same
 * replicas through one channel to all of them (`ipv4:127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`).
 * Every client owns its connections (`grpc.use_local_subchannel_pool: 1`, so that no client
 * reuses another's subchannels from grpc-js's global pool) and, before its factory resolves,
 * sends SayHello calls until every replica has answered once (at most 1 s), so that a run starts
 * with all connections open.
 *
 * ## `grpc-js-round-robin` — a plain generated client
 *
 * Service config `{ loadBalancingConfig: [{ round_robin: {} }] }` and nothing else: no retry
 * policy (grpc-js's transparent retry of calls that never left the client is always on), no
 * keepalive, grpc-js's default reconnect backoff (1 s, ×1.6, up to 120 s). Deadline = `deadlineMs`.
 *
 * ## `grpc-js-builtin-best` — everything grpc-js 1.14 offers, tuned for 3 replicas
 *
 * - **`outlier_detection` around `round_robin`** (gRFC A50; grpc-js's parser,
 *   `load-balancer-outlier-detection.ts`, wants snake_case names and durations as
 *   `{ seconds, nanos }` objects — a `'1s'` string is rejected, and a channel given a load
 *   balancing config it cannot parse logs that only at DEBUG and quietly uses pick_first, so the
 *   factories parse their config with grpc-js's parser first and throw):
 *   - `interval` 1 s (A50: 10 s): the sweep that ejects, so a replica failing calls is ejected
 *     within 1–2 s of the fault (0.6–0.8 s measured at ~600 calls/s).
 *   - `failure_percentage_ejection` `{ threshold: 10, enforcement_percentage: 100,
 *     minimum_hosts: 2, request_volume: 50 }`: eject a replica that failed more than 10 % of
 *     the attempts it got in the last interval (A50: 85 %; a healthy replica here fails none).
 *     `minimum_hosts` 2 (A50: 5, which would switch the check off for 3 replicas) keeps it
 *     working while one replica is already dead or ejected. `request_volume` 50 per replica per
 *     interval is reached from ~150 calls/s on (the benchmark sends ~1000/s, ~330 per replica).
 *   - No `success_rate_ejection`: with 3 hosts a single outlier's distance from the mean is at
 *     most √2 ≈ 1.41 standard deviations, so A50's `stdev_factor` 1900 (1.9σ) can never eject,
 *     and any factor below 1414 ejects a replica for one failed call among hundreds when the
 *     other two fail none.
 *   - `max_ejection_percent` 66: at most two of the three are ejected (ejection stops once
 *     ≥ 66 % are out: 0 → 33 → 67 %), so one replica always keeps serving; A50's 10 % would
 *     eject only one (A50 always allows one).
 *   - `base_ejection_time` 2 s, `max_ejection_time` 30 s (A50: 30 s / 300 s): an ejected replica
 *     is tried again after 2 s × its recent ejections (2, 4, 6 … s, capped at 30 s), so a
 *     healed replica is back within seconds while a still-failing one costs one interval of
 *     failed (and retried) attempts per return.
 * - **`retryPolicy`** for SayHello (gRFC A6; SayHello is idempotent): `maxAttempts` 5 (grpc-js's
 *   cap, `grpc-node.retry_max_attempts_limit`), `initialBackoff` 0.01 s, `maxBackoff` 0.1 s,
 *   `backoffMultiplier` 2 (A6 draws each delay from [0, backoff), so the 4 retries wait at most
 *   10 + 20 + 40 + 80 = 150 ms in all), `retryableStatusCodes` `['UNAVAILABLE']`. Each retry
 *   picks again through round_robin, which does not avoid the replica that just failed: with
 *   one bad replica of three, a call fails only if 5 picks in a row hit it (1/243 under
 *   concurrency), where 3 attempts would leave 1/27.
 * - **`retryThrottling` `{ maxTokens: 1000, tokenRatio: 1 }`**, not A6's example
 *   `{ maxTokens: 10, tokenRatio: 0.1 }`. The bucket starts full, loses 1 token per failed
 *   attempt, gains `tokenRatio` per successful call and allows retries while it holds more than
 *   `maxTokens / 2` (checked when a retry is due, after its backoff). So `maxTokens / 2` is the
 *   burst of failures it absorbs, and `tokenRatio` the failed attempts per success it sustains.
 *   - `maxTokens` 1000 (grpc-js's maximum): when keepalive drops a frozen replica's connection,
 *     every call waiting on it fails UNAVAILABLE at once — hundreds at ~1000 calls/s. With 10,
 *     five such failures use the budget up and none of them is retried. Measured here (a 3 s
 *     freeze at ~900 calls/s, 3 s deadline): 365 failed calls with 10 tokens, 475 with 100, 0
 *     with 1000. A full outage still stops retries after ~500 failed attempts, a fraction of a
 *     second at that rate, so retries then add no load (×1 instead of up to ×5).
 *   - `tokenRatio` 1: one bad replica of three makes ≈ 0.33–0.5 failed attempts per success
 *     (0.5 when retries land on it again), two bad ones ≈ 2, a full outage no success at all;
 *     so retries go on through one bad replica and stop when most of the fleet fails. With 0.1,
 *     a replica failing every call empties A6's 10-token bucket after 6 retries (measured: 5 of
 *     30 sequential calls fail), long before outlier detection's first sweep.
 *   - grpc-js keeps one bucket per target string for the whole process and hands its tokens
 *     (rescaled) to the next channel made with the same target.
 * - **Keepalive** `grpc.keepalive_time_ms` 1000, `grpc.keepalive_timeout_ms` 1000,
 *   `grpc.keepalive_permit_without_calls` 1 (grpc-js: off / 20 s / off): a frozen replica's
 *   connection is dropped within ~2 s, its calls fail UNAVAILABLE and are retried elsewhere. The
 *   replicas' grpc-js server (1.14) enforces no minimum ping interval (no
 *   `grpc.http2.min_ping_interval_without_data_ms`, no ping strikes): it never sends GOAWAY
 *   ENHANCE_YOUR_CALM for these pings. A C-core or Go server would (default minimum 5 min
 *   without calls); grpc-js then doubles its keepalive time.
 * - **Reconnect backoff** `grpc.initial_reconnect_backoff_ms` 100, `grpc.max_reconnect_backoff_ms`
 *   1000 (grpc-js: 1 s, ×1.6, up to 120 s): a restarted replica is connected again within ~1 s,
 *   for one refused connection per second while it is down. grpc-js has no connect timeout, so
 *   a connection attempt to a frozen replica stays CONNECTING (round_robin does not pick it)
 *   until the replica thaws.
 *
 * ## `nice-grpc-retry` — nice-grpc with its retry and deadline middlewares
 *
 * `createChannel(target, insecure, { round_robin service config })`, then
 * `createClientFactory().use(retryMiddleware).use(deadlineMiddleware)`: nice-grpc invokes client
 * middleware attached last first, so the deadline middleware wraps the retry loop — the deadline
 * covers every attempt and aborts a backoff wait (the order the retry middleware's README asks
 * for). Each call: `{ retry: true, retryMaxAttempts: 2, deadline: deadlineMs }`, i.e. up to 3
 * attempts (`retryMaxAttempts` counts retries); the middleware's defaults otherwise: retryable
 * UNKNOWN, INTERNAL, UNAVAILABLE and CANCELLED (from the server), backoff
 * `min(30 s, 1 s × 2^n)` drawn from [½, 1] of it — 0.5–1 s before the first retry. No outlier
 * detection, no keepalive. nice-grpc is loaded when this client is made, not when this module
 * is: importing nice-grpc patches grpc-js's connector process-wide (a 20 s connect timeout,
 * `connectTimeoutPatch.ts`), which then applies to every grpc-js client made after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createGreeterClient } from '../../examples/greeter-cluster/greeter-client.js';
import type { GreeterClient } from '../../examples/greeter-cluster/greeter-client.js';
import { GreeterDefinition } from '../../examples/grpc-failover/greeter-definition.js';
import type {
  BenchClient,
  BenchClientFactory,
  BenchClientName,
  BenchReplica,
  CallResult,
} from '../harness/types.js';

/** How long a factory waits for every replica to answer once, in ms. */
const warmUpMs = 1_000;

/** The round_robin service config of `grpc-js-round-robin` and `nice-grpc-retry`. */
export const roundRobinServiceConfig = {
  loadBalancingConfig: [{ round_robin: {} }],
} as const;

/** The service config of `grpc-js-builtin-best` (see the header for every number). */
export const builtinBestServiceConfig = {
  loadBalancingConfig: [
    {
      outlier_detection: {
        interval: { seconds: 1, nanos: 0 },
        base_ejection_time: { seconds: 2, nanos: 0 },
        max_ejection_time: { seconds: 30, nanos: 0 },
        max_ejection_percent: 66,
        failure_percentage_ejection: {
          threshold: 10,
          enforcement_percentage: 100,
          minimum_hosts: 2,
          request_volume: 50,
        },
        child_policy: [{ round_robin: {} }],
      },
    },
  ],
  methodConfig: [
    {
      name: [{ service: 'helloworld.Greeter', method: 'SayHello' }],
      retryPolicy: {
        maxAttempts: 5,
        initialBackoff: '0.01s',
        maxBackoff: '0.1s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
  retryThrottling: { maxTokens: 1000, tokenRatio: 1 },
} as const;

/** The channel options of `grpc-js-builtin-best` besides its service config. */
export const builtinBestChannelOptions = {
  'grpc.keepalive_time_ms': 1_000,
  'grpc.keepalive_timeout_ms': 1_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
} as const satisfies grpc.ChannelOptions;

/** `grpc-js-round-robin`: a generated grpc-js client, round_robin, nothing else. */
export const grpcJsRoundRobin: BenchClientFactory = (replicas) =>
  grpcJsClient('grpc-js-round-robin', replicas, {
    'grpc.service_config': serviceConfigOption(roundRobinServiceConfig),
  });

/** `grpc-js-builtin-best`: outlier detection, retries, throttling and keepalive of grpc-js. */
export const grpcJsBuiltinBest: BenchClientFactory = (replicas) =>
  grpcJsClient('grpc-js-builtin-best', replicas, {
    'grpc.service_config': serviceConfigOption(builtinBestServiceConfig),
    ...builtinBestChannelOptions,
  });

/** `nice-grpc-retry`: nice-grpc on a round_robin channel with its retry and deadline middlewares. */
export const niceGrpcRetry: BenchClientFactory = async (replicas) => {
  // Loaded here, not at import: nice-grpc patches grpc-js when it is first imported.
  const { createChannel, createClientFactory, ClientError, Status } = await import('nice-grpc');
  const { retryMiddleware } = await import('nice-grpc-client-middleware-retry');
  const { deadlineMiddleware } = await import('nice-grpc-client-middleware-deadline');
  const channel = createChannel(targetOf(replicas), grpc.credentials.createInsecure(), {
    'grpc.service_config': serviceConfigOption(roundRobinServiceConfig),
    'grpc.use_local_subchannel_pool': 1,
  });
  const client = createClientFactory()
    .use(retryMiddleware)
    .use(deadlineMiddleware)
    .create(GreeterDefinition, channel);
  const send = async (deadlineMs: number): Promise<CallResult> => {
    try {
      const reply = await client.sayHello(
        { name: 'bench' },
        { retry: true, retryMaxAttempts: 2, deadline: deadlineMs },
      );
      return resultOf(reply.message);
    } catch (error) {
      if (error instanceof ClientError) return { code: Status[error.code] };
      return { code: errorName(error) };
    }
  };
  await warmUp(send, replicas);
  return {
    name: 'nice-grpc-retry',
    transport: 'grpc',
    send,
    close: () => {
      channel.close();
      return Promise.resolve();
    },
  };
};

async function grpcJsClient(
  name: BenchClientName,
  replicas: readonly BenchReplica[],
  channelOptions: grpc.ChannelOptions,
): Promise<BenchClient> {
  const client = createGreeterClient(targetOf(replicas), {
    channelOptions: { ...channelOptions, 'grpc.use_local_subchannel_pool': 1 },
  });
  const send = (deadlineMs: number) => sayHello(client, deadlineMs);
  await warmUp(send, replicas);
  return {
    name,
    transport: 'grpc',
    send,
    close: () => {
      client.close();
      return Promise.resolve();
    },
  };
}

function sayHello(client: GreeterClient, deadlineMs: number): Promise<CallResult> {
  return new Promise((resolve) => {
    try {
      client.sayHello({ name: 'bench' }, { deadline: Date.now() + deadlineMs }, (error, reply) => {
        if (error) resolve({ code: grpc.status[error.code] ?? String(error.code) });
        else resolve(resultOf(reply?.message));
      });
    } catch (error) {
      // grpc-js throws synchronously on a closed channel.
      resolve({ code: errorName(error) });
    }
  });
}

/**
 * `config` as the `grpc.service_config` channel option.
 *
 * @throws Error when grpc-js cannot parse its load balancing config: a channel would log that only
 *   at DEBUG and silently fall back to pick_first (for instance with camelCase field names or
 *   `'1s'` durations in `outlier_detection`).
 */
function serviceConfigOption(config: {
  readonly loadBalancingConfig: readonly grpc.LoadBalancingConfig[];
}): string {
  for (const lb of config.loadBalancingConfig) grpc.experimental.parseLoadBalancingConfig(lb);
  return JSON.stringify(config);
}

/** `ipv4:127.0.0.1:p1,127.0.0.1:p2,…`: one channel, one subchannel per replica. */
function targetOf(replicas: readonly BenchReplica[]): string {
  return `ipv4:${replicas.map((r) => r.grpcAddress).join(',')}`;
}

const replyPattern = /^Hello bench from (\S+)$/;

/** `Hello bench from r2` → `{ replica: 'r2' }`. */
function resultOf(message: string | undefined): CallResult {
  const replica = replyPattern.exec(message ?? '')?.[1];
  return replica === undefined ? { code: 'UNEXPECTED_REPLY' } : { replica };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/**
 * Sends calls until every replica has answered once, so that every connection is open, or until
 * `warmUpMs` has passed (a replica may be down on purpose).
 */
async function warmUp(
  send: (deadlineMs: number) => Promise<CallResult>,
  replicas: readonly BenchReplica[],
): Promise<void> {
  const missing = new Set(replicas.map((r) => r.name));
  const giveUpAt = Date.now() + warmUpMs;
  while (missing.size > 0 && Date.now() < giveUpAt) {
    const result = await send(Math.max(1, giveUpAt - Date.now()));
    if ('replica' in result && missing.delete(result.replica)) continue;
    await sleep(5);
  }
}
