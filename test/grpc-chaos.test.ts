/**
 * `@detour/grpc`'s failover against real replica processes (test/support/cluster.ts) while a
 * steady stream of idempotent SayHello calls runs through one generated client: a replica is
 * killed and restarted, frozen and thawed, slowed, made to answer UNAVAILABLE and to report
 * NOT_SERVING. The tests assert behaviour (no call fails, the replica is ejected, restored, its
 * share of calls), never latencies: every call has a 2 s deadline, so success means it finished
 * within it.
 *
 * The failover is configured as the package README advises: `call.attemptTimeoutMs` 300,
 * SayHello listed as idempotent, default selector (P2C peak-EWMA), default detectors and the
 * default health check. Each scenario ends with every endpoint healthy again, so the next one
 * starts from a whole pool.
 *
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '@detour/grpc';
import type { GrpcFailover, GrpcFailoverOptions } from '@detour/grpc';
import type { EndpointSnapshot } from '@detour/core';
import type { GreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import { loadGreeter } from '../examples/greeter-cluster/greeter-proto.js';
import type { HelloReply } from '../examples/greeter-cluster/greeter-proto.js';
import { grpc } from '../examples/greeter-cluster/grpc-js.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';
import { UnaryTraffic, describeFailures } from './support/grpc-traffic.js';
import {
  sleep,
  slowReplicaShare,
  stallThisProcess,
  waitFor as waitUntil,
} from './support/chaos-helpers.js';

const sayHelloPath = '/helloworld.Greeter/SayHello';
const sayHelloManyPath = '/helloworld.Greeter/SayHelloMany';

/** Every wait for the pool to react polls for at most this long (real time). */
const settleMs = 10_000;

/** The failover settings of every client here, as the README advises. */
const failoverSettings = {
  // A connection of our own per channel, as the harness README advises for tests.
  channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
  call: { attemptTimeoutMs: 300 },
  idempotentMethods: [sayHelloPath],
  metrics: false,
} satisfies Partial<GrpcFailoverOptions>;

let cluster: Cluster;
let failover: GrpcFailover;
let client: GreeterClient;
let traffic: UnaryTraffic;
const pids = new Set<number>();
const extra: { close(): void }[] = [];

function greeterFor(target: GrpcFailover): GreeterClient {
  const Greeter = loadGreeter();
  const made = new Greeter(
    'detour:///greeter',
    grpc.credentials.createInsecure(),
    target.clientOptions(),
  ) as unknown as GreeterClient;
  return made;
}

function name(i: number): string {
  return cluster.replicas[i]!.name;
}

function endpoint(i: number): EndpointSnapshot {
  return failover.pool.snapshot().endpoints.find((e) => e.id === name(i))!;
}

/** Polls `condition` for up to `timeoutMs` (default `settleMs`); see chaos-helpers. */
function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = settleMs,
): Promise<number> {
  return waitUntil(what, condition, timeoutMs, failover.pool);
}

/** Waits until every endpoint is healthy and has answered calls since `mark`. */
async function waitAllServing(mark = traffic.mark()): Promise<void> {
  await waitFor('every replica healthy and answering', () =>
    cluster.replicas.every(
      (r, i) => endpoint(i).status === 'healthy' && traffic.answeredBy(r.name, mark) > 0,
    ),
  );
}

/** The failed calls since `mark`, as readable lines (empty when none failed). */
function failed(mark: number): string[] {
  return describeFailures(traffic.failures(mark));
}

/** Timings and pool events, for the report only (the tests assert behaviour, not times). */
const timings: Record<string, number> = {};
const events: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({ replicas: 3 });
  for (const r of cluster.replicas) pids.add(r.pid);
  failover = createGrpcFailover({
    ...failoverSettings,
    endpoints: cluster.replicas.map((r) => ({ id: r.name, address: r.grpcAddress })),
  });
  const t0 = performance.now();
  const at = (): string => `${((performance.now() - t0) / 1000).toFixed(2)} s`;
  failover.pool.on('ejected', (e) =>
    events.push(
      `${at()} ${e.endpoint.id} ejected by ${e.detector} (${e.fault.code ?? e.fault.kind})`,
    ),
  );
  failover.pool.on('restored', (e) => events.push(`${at()} ${e.endpoint.id} restored`));
  client = greeterFor(failover);
  traffic = new UnaryTraffic(client);
  traffic.start();
  await waitAllServing(0);
}, 30_000);

afterAll(async () => {
  await traffic?.stop();
  for (const closable of extra) closable.close();
  client?.close();
  failover?.close();
  await cluster?.stop();
  if (process.env['DETOUR_CHAOS_TIMINGS']) {
    console.log('chaos timings (ms)', timings, `${traffic?.started ?? 0} calls`, events);
  }
}, 30_000);

describe('grpc failover under chaos (3 replica processes, a steady stream of SayHello)', () => {
  it('a replica killed mid-stream fails no call; restarted, it gets traffic back', async () => {
    const mark = traffic.mark();
    // Killed while it takes its share of the calls (P2C may avoid it for a while after start).
    await waitFor('r1 answering', () => traffic.answeredBy(name(0), mark) > 0);
    await sleep(100);
    await cluster.kill(0);
    timings['kill → ejected'] = await waitFor(
      'killed replica ejected',
      () => endpoint(0).status === 'ejected',
    );
    await sleep(1_000); // traffic keeps flowing on two replicas
    const dead = traffic.mark();
    await sleep(500);
    expect(traffic.answeredBy(name(0), dead)).toBe(0);

    await cluster.restart(0);
    pids.add(cluster.replicas[0]!.pid);
    const restarted = traffic.mark();
    timings['restart → answering'] = await waitFor(
      'restarted replica answering',
      () => traffic.answeredBy(name(0), restarted) > 0,
    );
    await waitFor('restarted replica healthy', () => endpoint(0).status === 'healthy');
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
    // Every reply named its replica in the text and in x-replica.
    expect(traffic.since(mark).filter((r) => r.replica !== r.header)).toEqual([]);
  }, 25_000);

  it('a frozen replica is ejected while calls succeed; thawed, it is restored', async () => {
    const mark = traffic.mark();
    cluster.freeze(1);
    try {
      // Usually the heartbeat: the Watch answers SERVING until its status is 5 s old
      // (watchMaxAgeMs), then two Checks time out, about 8 s at worst.
      timings['freeze → ejected'] = await waitFor(
        'frozen replica ejected',
        () => endpoint(1).status === 'ejected',
        12_000,
      );
      const frozen = traffic.mark();
      await sleep(500);
      expect(traffic.answeredBy(name(1), frozen)).toBe(0);
      expect(traffic.since(frozen).length).toBeGreaterThan(0);
    } finally {
      cluster.thaw(1);
    }
    const thawed = traffic.mark();
    timings['thaw → healthy'] = await waitFor(
      'thawed replica healthy',
      () => endpoint(1).status === 'healthy',
    );
    await waitFor('thawed replica answering', () => traffic.answeredBy(name(1), thawed) > 0);
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
    expect(endpoint(1).faults.some((f) => f.kind === 'timeout')).toBe(true);
  }, 25_000);

  it('with its pair out as a latency outlier, a frozen replica costs no call: retries go to the slow one', async () => {
    // A second client over r1 and r2 only, round robin so that r1 gets enough calls to be
    // judged. r1 answers 200 ms late and is ejected as a latency outlier; the ejection cap then
    // keeps r2 eligible however it fails. When r2 freezes, each call's retry must go to r1 (slow,
    // but answering) rather than back to r2 (a tried endpoint), or it fails.
    const pair = createGrpcFailover({
      ...failoverSettings,
      selector: 'round-robin',
      endpoints: [0, 1].map((i) => ({ id: name(i), address: cluster.replicas[i]!.grpcAddress })),
    });
    extra.push(pair);
    const pairClient = greeterFor(pair);
    extra.push(pairClient);
    const pairTraffic = new UnaryTraffic(pairClient);
    pairTraffic.start();
    const mark = traffic.mark();
    try {
      await cluster.setFaults(0, { latencyMs: 200 });
      await waitFor(
        'r1 ejected as a latency outlier',
        () => pair.pool.get(name(0))!.ejectedBy === 'latency-outlier',
      );
      const frozen = pairTraffic.mark();
      cluster.freeze(1);
      try {
        await sleep(1_500);
      } finally {
        cluster.thaw(1);
      }
      expect(pair.pool.get(name(0))!.status).toBe('ejected'); // out the whole time (5 s)
      expect(pairTraffic.answeredBy(name(0), frozen)).toBeGreaterThan(0);
      expect(describeFailures(pairTraffic.failures(frozen))).toEqual([]);
    } finally {
      await pairTraffic.stop();
      await cluster.clearFaults(0);
    }
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 30_000);

  it('a replica slowed by 80 ms gets far less than its third of the calls (P2C peak-EWMA)', async () => {
    const mark = traffic.mark();
    await cluster.setFaults(2, { latencyMs: 80 });
    await sleep(1_500); // its first slow answers raise its peak-EWMA latency
    // Judged over about 5 s of calls (one every 35 ms or so) in which the other replicas answered
    // like healthy ones (see slowReplicaShare: CPU steal can make every replica slow for a while).
    const sampled = 150;
    const { share, shares, othersP90Ms, windows } = await slowReplicaShare(
      traffic,
      name(2),
      sampled,
      80,
    );
    timings[`slow replica share % of ${sampled} calls`] = Math.round(share * 100);
    timings['others p90 (ms) in that window'] = Math.round(othersP90Ms);
    timings['windows measured'] = windows;
    for (const i of [0, 1]) {
      timings[`${name(i)} share % then`] = Math.round((shares.get(name(i)) ?? 0) * 100);
    }
    expect(share).toBeLessThan(0.1);
    // The others share the rest.
    const why = `shares ${JSON.stringify([...shares])}; ${events.slice(-6).join('; ')}`;
    expect(shares.get(name(0)), why).toBeGreaterThan(0.2);
    expect(shares.get(name(1)), why).toBeGreaterThan(0.2);
    await cluster.clearFaults(2);
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 80_000);

  it('a replica answering UNAVAILABLE is ejected and no call fails', async () => {
    const mark = traffic.mark();
    await cluster.resetStats(0);
    await cluster.setFaults(0, { errorRate: 1 });
    timings['UNAVAILABLE → ejected'] = await waitFor(
      'failing replica ejected',
      () => endpoint(0).status === 'ejected',
    );
    const ejected = traffic.mark();
    await sleep(500);
    expect(traffic.answeredBy(name(0), ejected)).toBe(0);
    await cluster.clearFaults(0);
    // The failures were real: the replica answered calls with the injected error.
    expect((await cluster.stats(0)).injected.errors).toBeGreaterThan(0);
    expect(endpoint(0).faults.some((f) => f.code === 'UNAVAILABLE')).toBe(true);
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 25_000);

  it('a replica reporting NOT_SERVING gets no traffic once held; SERVING again, traffic returns', async () => {
    const mark = traffic.mark();
    await cluster.setFaults(1, { health: 'NOT_SERVING' });
    timings['NOT_SERVING → held'] = await waitFor('NOT_SERVING replica held', () =>
      endpoint(1).heldBy.includes('heartbeat'),
    );
    expect(endpoint(1).status).toBe('ejected');
    const before = (await cluster.stats(1)).calls.grpc;
    const held = traffic.mark();
    await sleep(1_500);
    expect(traffic.since(held).length).toBeGreaterThan(20);
    expect(traffic.answeredBy(name(1), held)).toBe(0);
    expect((await cluster.stats(1)).calls.grpc).toBe(before);

    await cluster.setFaults(1, { health: 'SERVING' });
    const serving = traffic.mark();
    timings['SERVING → answering'] = await waitFor(
      'SERVING replica answering',
      () => traffic.answeredBy(name(1), serving) > 0,
    );
    await waitFor('SERVING replica healthy', () => endpoint(1).status === 'healthy');
    expect(endpoint(1).heldBy).toEqual([]);
    expect(failed(mark)).toEqual([]);
  }, 25_000);

  it('a non-idempotent call that reached a replica answering UNAVAILABLE is not retried', async () => {
    await traffic.stop(); // the replicas' counters now see only this test's calls
    expect(failed(0)).toEqual([]);

    // SayHelloMany is not in idempotentMethods; r1 is tried first (priority 0) and kept in
    // (no passive detectors), so every call goes to it first.
    const strict = createGrpcFailover({
      ...failoverSettings,
      endpoints: cluster.replicas.map((r, i) => ({
        id: r.name,
        address: r.grpcAddress,
        priority: i === 0 ? 0 : 1,
      })),
      selector: 'priority-groups',
      detectors: [],
    });
    extra.push(strict);
    const strictClient = greeterFor(strict);
    extra.push(strictClient);
    await Promise.all(cluster.replicas.map((_, i) => cluster.resetStats(i)));
    await cluster.setFaults(0, { errorRate: 1 });
    try {
      const calls = 3;
      for (let i = 0; i < calls; i++) {
        const error = await new Promise<grpc.ServiceError | null>((resolve) => {
          const stream = strictClient.sayHelloMany({ deadline: Date.now() + 2_000 }, (e) =>
            resolve(e),
          );
          stream.write({ name: 'ada' });
          stream.write({ name: 'grace' });
          stream.end();
        });
        expect(error?.code).toBe(grpc.status.UNAVAILABLE);
        expect(error?.details).toBe(`injected fault: ${name(0)} is unavailable`);
      }
      // The idempotent SayHello on the same failover is retried on another replica.
      const replies = await Promise.all(
        Array.from(
          { length: calls },
          () =>
            new Promise<HelloReply>((resolve, reject) =>
              strictClient.sayHello(
                { name: 'ada' },
                { deadline: Date.now() + 2_000 },
                (e, reply) => (e ? reject(e) : resolve(reply!)),
              ),
            ),
        ),
      );
      expect(replies.every((r) => !r.message.endsWith(`from ${name(0)}`))).toBe(true);

      const stats = await Promise.all(cluster.replicas.map((_, i) => cluster.stats(i)));
      const many = stats.map((s) => s.byMethod[sayHelloManyPath] ?? 0);
      const hello = stats.map((s) => s.byMethod[sayHelloPath] ?? 0);
      expect(many).toEqual([calls, 0, 0]); // once each, on r1 only
      expect(hello[0]).toBe(calls); // each SayHello reached r1 first …
      expect(hello[1]! + hello[2]!).toBe(calls); // … and was retried once elsewhere
      expect(stats[0]!.injected.errors).toBe(2 * calls);
    } finally {
      await cluster.clearFaults(0);
    }
  });

  it('a stall of this process past the attempt timeout loses no answer and blames no replica', async () => {
    const solo = createGrpcFailover({
      ...failoverSettings,
      endpoints: [{ id: name(0), address: cluster.replicas[0]!.grpcAddress }],
      call: { attemptTimeoutMs: 100 },
      detectors: [],
    });
    extra.push(solo);
    const soloClient = greeterFor(solo);
    extra.push(soloClient);
    const hello = (): Promise<HelloReply> =>
      new Promise((resolve, reject) =>
        soloClient.sayHello({ name: 'ada' }, { deadline: Date.now() + 2_000 }, (e, reply) =>
          e ? reject(e) : resolve(reply!),
        ),
      );
    await hello(); // connected
    await cluster.setFaults(0, { latencyMs: 50 });
    try {
      const before = solo.pool.snapshot().endpoints[0]!.counts;
      const reply = hello();
      // The request is out after 20 ms and the answer comes at about 50 ms, while this process
      // is stalled for 400 ms; the attempt timer, due at 100 ms, fires 300 ms late, first.
      await stallThisProcess();
      expect((await reply).message).toBe(`Hello ada from ${name(0)}`);
      const after = solo.pool.snapshot().endpoints[0]!.counts;
      expect(after.attempts - before.attempts).toBe(1);
      expect(after.failures - before.failures).toBe(0);
    } finally {
      await cluster.clearFaults(0);
    }
  });

  it('stops every replica process and closes every channel', async () => {
    for (const closable of extra.splice(0)) closable.close();
    client.close();
    expect(failover.closed).toBe(true); // client.close() closes the failover
    await cluster.stop();
    expect(cluster.replicas.map((r) => r.state)).toEqual(['dead', 'dead', 'dead']);
    expect(pids.size).toBe(4); // three, and r1 again after its restart
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
