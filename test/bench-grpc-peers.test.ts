/**
 * The gRPC clients the benchmark measures detour against (`bench/clients/grpc-peers.ts`), on
 * three real greeter replicas: each spreads its calls over all of them, keeps going when one is
 * SIGKILLed and releases its connections on `close()`; grpc-js-builtin-best really applies its
 * retry policy and its outlier detection (a config grpc-js cannot parse would silently give
 * pick_first without ejection).
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { grpcJsBuiltinBest, grpcJsRoundRobin, niceGrpcRetry } from '../bench/clients/grpc-peers.js';
import type { BenchClient, BenchClientFactory, CallResult } from '../bench/harness/types.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';

/** One call of the traffic below: when it started (ms since the traffic began) and its result. */
interface Sent {
  readonly startedAt: number;
  readonly result: CallResult;
}

/**
 * Calls `client.send(deadlineMs)` from `workers` loops, each pausing `pauseMs` between its calls,
 * until `stop()`; `stop()` resolves every call's record once all have ended. A rejected `send`
 * rejects `stop()`.
 */
function startTraffic(
  client: BenchClient,
  { workers = 4, pauseMs = 3, deadlineMs = 2_000 } = {},
): { elapsed(): number; stop(): Promise<readonly Sent[]> } {
  const t0 = performance.now();
  const sent: Sent[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const startedAt = performance.now() - t0;
      sent.push({ startedAt, result: await client.send(deadlineMs) });
      await sleep(pauseMs);
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    elapsed: () => performance.now() - t0,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return sent;
    },
  };
}

/** Sends `count` calls one after the other. */
async function sendSequentially(client: BenchClient, count: number): Promise<CallResult[]> {
  const results: CallResult[] = [];
  for (let i = 0; i < count; i++) results.push(await client.send(2_000));
  return results;
}

const answeredBy = (results: readonly CallResult[]): Set<string> =>
  new Set(results.flatMap((r) => ('replica' in r ? [r.replica] : [])));
const failuresOf = (results: readonly CallResult[]): string[] =>
  results.flatMap((r) => ('code' in r ? [r.code] : []));

/** Every TCP client socket this process opens (grpc-js's connections, admin requests). */
const sockets: Socket[] = [];
const onSocket = (message: unknown): void => {
  sockets.push((message as { socket: Socket }).socket);
};

/** Waits up to `ms` until every socket in `opened` is destroyed; returns how many are left. */
async function stillOpen(opened: readonly Socket[], ms = 2_000): Promise<number> {
  const left = () => opened.filter((s) => !s.destroyed).length;
  const giveUpAt = performance.now() + ms;
  while (left() > 0 && performance.now() < giveUpAt) await sleep(20);
  return left();
}

const factories: readonly (readonly [string, BenchClientFactory])[] = [
  ['grpc-js-round-robin', grpcJsRoundRobin],
  ['grpc-js-builtin-best', grpcJsBuiltinBest],
  ['nice-grpc-retry', niceGrpcRetry],
];

describe('bench gRPC peer clients', () => {
  let cluster: Cluster;
  const open = new Set<BenchClient>();

  /** Makes a client that `afterEach` closes if the test did not. */
  async function connect(factory: BenchClientFactory): Promise<BenchClient> {
    const client = await factory(cluster.replicas);
    open.add(client);
    return client;
  }
  async function close(client: BenchClient): Promise<void> {
    open.delete(client);
    await client.close();
  }

  beforeAll(async () => {
    diagnostics.subscribe('net.client.socket', onSocket);
    cluster = await startCluster({ replicas: 3 });
  });

  afterEach(async () => {
    await Promise.all([...open].map((c) => close(c)));
    for (const [i, replica] of cluster.replicas.entries()) {
      if (replica.state === 'dead') await cluster.restart(i);
      else await cluster.clearFaults(i);
    }
  });

  afterAll(async () => {
    diagnostics.unsubscribe('net.client.socket', onSocket);
    await cluster?.stop();
  });

  describe.each(factories)('%s', (name, factory) => {
    it('uses all three replicas, keeps calling through a SIGKILL and closes its connections', async () => {
      const firstSocket = sockets.length;
      const client = await connect(factory);
      expect(client.name).toBe(name);
      expect(client.transport).toBe('grpc');

      const first = await sendSequentially(client, 30);
      expect(failuresOf(first)).toEqual([]);
      expect([...answeredBy(first)].sort()).toEqual(['r1', 'r2', 'r3']);

      const traffic = startTraffic(client);
      await sleep(200);
      await cluster.kill(1);
      const killedAt = traffic.elapsed();
      await sleep(2_000);
      const sent = await traffic.stop(); // rejects if any send rejected

      const afterKill = sent.filter((s) => s.startedAt > killedAt).map((s) => s.result);
      expect(afterKill.length).toBeGreaterThan(100);
      expect(answeredBy(afterKill).has('r2')).toBe(false);
      expect([...answeredBy(afterKill)].sort()).toEqual(['r1', 'r3']);
      if (name === 'grpc-js-builtin-best') {
        // Calls cut by the kill failed UNAVAILABLE and were retried on the other replicas, except
        // one whose answer had begun: gRFC A6 commits a call once response headers arrive, so a
        // reply cut mid-way fails UNAVAILABLE. Only a call in flight at the kill (at most one per
        // worker) can be such a call; every call started after it succeeds.
        const before = sent.filter((s) => s.startedAt <= killedAt).map((s) => s.result);
        const cut = failuresOf(before);
        expect(cut.length).toBeLessThanOrEqual(4); // startTraffic's workers
        expect(
          cut.every((code) => code === 'UNAVAILABLE'),
          cut.join(),
        ).toBe(true);
        expect(failuresOf(afterKill)).toEqual([]);
      }

      const opened = sockets.slice(firstSocket);
      expect(opened.length).toBeGreaterThanOrEqual(3); // one connection per replica
      await close(client);
      // Every connection it opened is closed: nothing keeps the replicas (or this process) busy.
      expect(await stillOpen(opened)).toBe(0);
    });
  });

  it('grpc-js-builtin-best retries UNAVAILABLE on another replica; plain round_robin does not', async () => {
    const best = await connect(grpcJsBuiltinBest);
    const plain = await connect(grpcJsRoundRobin);
    await cluster.setFaults(0, { errorRate: 1 });
    await cluster.resetStats(0);

    const retried = await sendSequentially(best, 30);
    expect(failuresOf(retried)).toEqual([]);
    expect(answeredBy(retried).has('r1')).toBe(false);
    // r1 was tried (and failed) about every third call: retried, not ejected.
    expect((await cluster.stats(0)).injected.errors).toBeGreaterThanOrEqual(8);

    const failures = failuresOf(await sendSequentially(plain, 30));
    expect(failures.length).toBeGreaterThanOrEqual(8);
    expect(failures.length).toBeLessThanOrEqual(12);
    expect(new Set(failures)).toEqual(new Set(['UNAVAILABLE']));
  });

  it('grpc-js-builtin-best ejects a replica failing half its calls, and no call fails', async () => {
    const client = await connect(grpcJsBuiltinBest);
    const traffic = startTraffic(client, { pauseMs: 2 });
    await sleep(200);
    await cluster.setFaults(0, { errorRate: 0.5 });
    const faultAt = traffic.elapsed();

    // One outlier-detection interval (1 s) of ≥ 50 calls to r1, then a sweep ejects it: r1
    // receives nothing for a while (it is tried again 2 s after its ejection).
    let ejectedAfterMs: number | undefined;
    let last = (await cluster.stats(0)).calls.grpc;
    /** r1's calls in each window, to tell a slow machine (under 50 a second) from a miss. */
    const windows: string[] = [];
    while (ejectedAfterMs === undefined && traffic.elapsed() - faultAt < 4_000) {
      await sleep(300);
      const now = (await cluster.stats(0)).calls.grpc;
      windows.push(`${now - last} by ${Math.round(traffic.elapsed() - faultAt)} ms`);
      if (now === last) ejectedAfterMs = traffic.elapsed() - faultAt;
      last = now;
    }
    const sent = await traffic.stop();

    expect(ejectedAfterMs, `r1's calls per window: ${windows.join(', ')}`).toBeDefined();
    expect(failuresOf(sent.map((s) => s.result))).toEqual([]);
  });
});
