/**
 * etcd discovery end to end: greeter replica processes (test/support/cluster.ts) registered in a
 * real etcd with `registerEndpoint()`, and one generated gRPC client whose failover takes its
 * endpoints from `etcdSource()`. A steady stream of idempotent SayHello calls runs throughout:
 *
 * - replicas join and leave: one deregistered (then killed), a new one started and registered;
 * - etcd is stopped and started again: calls keep going to the last known replicas.
 *
 * No call may fail. The tests assert behaviour, never latencies: every wait polls for a
 * condition with a generous bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '@detour/grpc';
import type { GrpcFailover } from '@detour/grpc';
import type { GreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import { loadGreeter } from '../examples/greeter-cluster/greeter-proto.js';
import { grpc } from '../examples/greeter-cluster/grpc-js.js';
import { etcdSource, registerEndpoint } from '@detour/discovery';
import type { EtcdSource, Registration } from '@detour/discovery';
import { startEtcdServer } from '../packages/discovery/src/test-support/etcd-server.js';
import type { EtcdServer } from '../packages/discovery/src/test-support/etcd-server.js';
import { poolStatuses, sleep, waitFor as waitUntil } from './support/chaos-helpers.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';
import { UnaryTraffic, describeFailures } from './support/grpc-traffic.js';

const service = 'greeter';
const sayHelloPath = '/helloworld.Greeter/SayHello';

let etcd: EtcdServer;
let cluster: Cluster;
let source: EtcdSource;
let failover: GrpcFailover;
let client: GreeterClient;
let traffic: UnaryTraffic;
const registrations = new Map<string, Registration>();

function address(i: number): string {
  return cluster.replicas[i]!.grpcAddress;
}

function name(i: number): string {
  return cluster.replicas[i]!.name;
}

/** The pool's endpoints (ids are the registered addresses), sorted. */
function poolEndpoints(): string[] {
  return failover.pool
    .snapshot()
    .endpoints.map((e) => e.id)
    .sort();
}

function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<number> {
  return waitUntil(what, condition, timeoutMs, failover.pool);
}

/** Registers replica `i` as a replica process would at start-up. */
async function register(i: number): Promise<void> {
  const registration = await registerEndpoint({
    hosts: etcd.url,
    service,
    address: address(i),
    metadata: { replica: name(i) },
  });
  registrations.set(name(i), registration);
}

beforeAll(async () => {
  etcd = await startEtcdServer();
  cluster = await startCluster({ replicas: 3 });
  // r3 is the replica that starts later: not running until the test starts it.
  await cluster.kill(2);
  await register(0);
  await register(1);
  source = etcdSource({ hosts: etcd.url, service, metrics: false });
  failover = createGrpcFailover({
    source,
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    // These tests are about which endpoints the pool has, so every endpoint in it takes turns.
    // With the default P2C peak-EWMA, two endpoints are always compared with each other: a
    // replica whose first answers after its (re)start were slow got none of 40 calls in one CI
    // run, until its estimate decayed (10 s time constant). That is P2C choosing, not discovery.
    selector: 'round-robin',
    call: { attemptTimeoutMs: 300 },
    idempotentMethods: [sayHelloPath],
    metrics: false,
  });
  const Greeter = loadGreeter();
  client = new Greeter(
    'detour:///greeter',
    grpc.credentials.createInsecure(),
    failover.clientOptions(),
  ) as unknown as GreeterClient;
  await source.ready();
  traffic = new UnaryTraffic(client);
  traffic.start();
  await waitFor('r1 and r2 answering', () => [0, 1].every((i) => traffic.answeredBy(name(i)) > 0));
}, 60_000);

afterAll(async () => {
  await traffic?.stop();
  client?.close();
  failover?.close();
  source?.close();
  await Promise.all([...registrations.values()].map((r) => r.close()));
  await cluster?.stop();
  await etcd?.dispose();
}, 30_000);

describe('etcd discovery end to end (greeter replicas, a steady stream of SayHello)', () => {
  it('replicas join and leave through etcd without a failed call; the new one gets traffic', async () => {
    const mark = traffic.mark();
    expect(poolEndpoints()).toEqual([address(0), address(1)].sort());

    // r2 leaves as a replica shutting down does: deregister, let clients drop it, then stop.
    await registrations.get(name(1))!.close();
    registrations.delete(name(1));
    await waitFor('r2 dropped from the pool', () => !poolEndpoints().includes(address(1)));
    await cluster.kill(1);
    const afterLeave = traffic.mark();
    await traffic.waitForCalls(afterLeave, 30);
    expect(traffic.answeredBy(name(0), afterLeave)).toBeGreaterThan(0);
    expect(traffic.answeredBy(name(1), afterLeave)).toBe(0);

    // r3 starts and registers: the pool adds it and it takes calls.
    await cluster.restart(2);
    await register(2);
    await waitFor('r3 in the pool', () => poolEndpoints().includes(address(2)));
    const afterJoin = traffic.mark();
    await waitFor('r3 answering', () => traffic.answeredBy(name(2), afterJoin) > 0);
    expect(poolEndpoints()).toEqual([address(0), address(2)].sort());

    await traffic.waitForCalls(traffic.mark(), 20);
    expect(describeFailures(traffic.failures(mark))).toEqual([]);
  }, 60_000);

  it('keeps calling the last known replicas while etcd is down, and follows etcd again after', async () => {
    const mark = traffic.mark();
    const serving = poolEndpoints();
    expect(serving).toHaveLength(2);

    await etcd.stop();
    await waitFor('the source failing', () => source.health().state === 'failing');
    const whileDown = traffic.mark();
    await traffic.waitForCalls(whileDown, 40);
    await sleep(500); // and a little more time without etcd
    expect(poolEndpoints()).toEqual(serving);
    expect(
      source
        .endpoints()
        .map((e) => e.address)
        .sort(),
    ).toEqual(serving);
    // Both replicas serve on; if one gets no call, say what the pool thought of it.
    const why = `${poolStatuses(failover.pool)}; failed: ${describeFailures(traffic.failures(mark)).join('; ')}`;
    for (const i of [0, 2]) expect(traffic.answeredBy(name(i), whileDown), why).toBeGreaterThan(0);

    await etcd.start();
    // The source re-lists after its backoff (and etcd3's 5 s circuit breaker): allow for both.
    await waitFor('the source healthy', () => source.health().state === 'healthy', 45_000);
    // The registrations kept their leases (10 s TTL), so nothing changed…
    expect(poolEndpoints()).toEqual(serving);
    // …and the watch is live again: r1 deregisters, and clients drop it.
    await registrations.get(name(0))!.close();
    registrations.delete(name(0));
    await waitFor('r1 dropped after the outage', () => poolEndpoints().join() === address(2));

    await traffic.waitForCalls(traffic.mark(), 20);
    expect(describeFailures(traffic.failures(mark))).toEqual([]);
  }, 90_000);
});
