/**
 * `@detour/discovery`'s DNS source end to end: greeter replica processes
 * (test/support/cluster.ts) published as SRV records by a real dnsmasq
 * (packages/discovery/src/test-support/dnsmasq.ts), all on 127.0.0.1 with their own ports, and
 * a client through detour whose pool takes its endpoints from `dnsSource()`. While a steady
 * stream of calls runs, one replica is taken out of DNS and stopped at once, as in a rolling
 * update, and a new one is put in: no call fails, and the new replica gets traffic.
 *
 * Once for gRPC (`createGrpcFailover`, SRV records on the replicas' gRPC ports) and once for
 * fetch (`createFetch`, SRV records on their HTTP ports, `toAddress` making `http://` URLs).
 * The SRV records have a TTL of 1 s. The tests assert behaviour, never latencies: every call has
 * a 2 s deadline, and every wait polls for its condition up to a generous deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '@detour/core';
import { createGrpcFailover } from '@detour/grpc';
import type { GrpcFailover } from '@detour/grpc';
import { createFetch } from '@detour/http';
import type { DetourFetch } from '@detour/http';
import { dnsSource } from '@detour/discovery';
import { startDnsmasq } from '../packages/discovery/src/test-support/dnsmasq.js';
import type { Dnsmasq, DnsmasqSrv } from '../packages/discovery/src/test-support/dnsmasq.js';
import type { GreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import { loadGreeter } from '../examples/greeter-cluster/greeter-proto.js';
import { grpc } from '../examples/greeter-cluster/grpc-js.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';
import { UnaryTraffic, describeFailures } from './support/grpc-traffic.js';
import { helloSender } from './support/http-traffic.js';
import { sleep, waitFor as waitUntil } from './support/chaos-helpers.js';

/** Every wait for the pool to react polls for at most this long (real time). */
const settleMs = 10_000;

const grpcService = '_grpc._tcp.greeter.detour.test';
const httpService = '_http._tcp.greeter.detour.test';
/** The one target name: every replica listens on 127.0.0.1. */
const target = 'replicas.detour.test';

let cluster: Cluster;
let dns: Dnsmasq;

/** SRV records of the replicas at `indexes`, for gRPC and HTTP. */
function published(grpcIndexes: readonly number[], httpIndexes: readonly number[]): DnsmasqSrv[] {
  return [
    ...grpcIndexes.map((i) => ({
      name: grpcService,
      target,
      port: cluster.replicas[i]!.grpcPort,
      weight: 10,
    })),
    ...httpIndexes.map((i) => ({
      name: httpService,
      target,
      port: cluster.replicas[i]!.httpPort,
      weight: 10,
    })),
  ];
}

beforeAll(async () => {
  // r1–r3 start in DNS; r4 is the replica added later.
  cluster = await startCluster({ replicas: 4 });
  dns = await startDnsmasq({ hosts: [{ name: target, address: '127.0.0.1' }], ttl: 1 });
}, 30_000);

afterAll(async () => {
  await dns?.dispose();
  await cluster?.stop();
}, 30_000);

/** The replica name of an endpoint address (`127.0.0.1:<port>` or `http://127.0.0.1:<port>`). */
function replicaAt(address: string): string {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const replica = cluster.replicas.find((r) => r.grpcPort === port || r.httpPort === port);
  return replica?.name ?? `unknown port ${port}`;
}

/** The replicas the pool holds as members (draining ones left out), sorted. */
function members(pool: Pool): string[] {
  return pool
    .snapshot()
    .endpoints.filter((e) => e.status !== 'draining')
    .map((e) => replicaAt(e.address))
    .sort();
}

function waitFor(
  what: string,
  pool: Pool,
  condition: () => boolean | Promise<boolean>,
): Promise<number> {
  return waitUntil(what, condition, settleMs, pool);
}

/**
 * The scenario both tests run: traffic on the replicas at `initial` (found through DNS), then
 * `removed` taken out of DNS and `added` put in, then `removed` killed.
 */
async function swapReplicas(
  pool: Pool,
  traffic: UnaryTraffic,
  publish: (indexes: readonly number[]) => Promise<void>,
  initial: readonly number[],
  removed: number,
  added: number,
): Promise<void> {
  const name = (i: number): string => cluster.replicas[i]!.name;
  await waitFor('every published replica answering', pool, () =>
    initial.every((i) => traffic.answeredBy(name(i)) > 0),
  );
  const mark = traffic.mark();
  const next = [...initial.filter((i) => i !== removed), added];
  // As in a rolling update: out of DNS and stopped at once, so the pool still holds the
  // stopped replica until its next look at DNS (the records' TTL, 1 s).
  await publish(next);
  await cluster.kill(removed);
  const afterKill = traffic.mark();
  await waitFor(
    'the pool following DNS',
    pool,
    () => JSON.stringify(members(pool)) === JSON.stringify(next.map(name).sort()),
  );
  await waitFor('the new replica answering', pool, () => traffic.answeredBy(name(added), mark) > 0);
  const settled = traffic.mark();
  await traffic.waitForCalls(settled, 40);
  await sleep(200);
  expect(describeFailures(traffic.failures(0))).toEqual([]);
  expect(traffic.answeredBy(name(removed), afterKill)).toBe(0);
  expect(traffic.answeredBy(name(added), mark)).toBeGreaterThan(0);
}

/** Makes sure the replicas at `indexes` are running (an earlier test may have killed one). */
async function running(indexes: readonly number[]): Promise<void> {
  for (const i of indexes) {
    if (cluster.replicas[i]!.state === 'dead') await cluster.restart(i);
  }
}

describe('dnsSource end to end (replica processes in SRV records served by dnsmasq)', () => {
  it('gRPC: a replica taken out of DNS and stopped, a new one added: no call fails', async () => {
    await running([0, 1, 2, 3]);
    await dns.setSrv(published([0, 1, 2], []));
    const source = dnsSource({
      srv: grpcService,
      servers: [dns.server],
      family: 4,
      metrics: false,
    });
    let failover: GrpcFailover | undefined;
    let client: GreeterClient | undefined;
    let traffic: UnaryTraffic | undefined;
    try {
      failover = createGrpcFailover({
        source,
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        call: { attemptTimeoutMs: 300 },
        idempotentMethods: ['/helloworld.Greeter/SayHello'],
        metrics: false,
      });
      expect((await source.ready()).map((e) => replicaAt(e.address)).sort()).toEqual([
        'r1',
        'r2',
        'r3',
      ]);
      const Greeter = loadGreeter();
      client = new Greeter(
        'detour:///greeter',
        grpc.credentials.createInsecure(),
        failover.clientOptions(),
      ) as unknown as GreeterClient;
      traffic = new UnaryTraffic(client);
      traffic.start();
      await swapReplicas(
        failover.pool,
        traffic,
        (indexes) => dns.setSrv(published(indexes, [])),
        [0, 1, 2],
        0,
        3,
      );
    } finally {
      await traffic?.stop();
      client?.close();
      failover?.close();
      source.close();
    }
  }, 40_000);

  it('fetch: the same over the replicas’ HTTP ports, with toAddress making http:// URLs', async () => {
    await running([0, 1, 2, 3]);
    await dns.setSrv(published([], [1, 2, 3]));
    const source = dnsSource({
      srv: httpService,
      servers: [dns.server],
      family: 4,
      toAddress: ({ host, port }) => `http://${host}:${port}`,
      metrics: false,
    });
    let api: DetourFetch | undefined;
    let traffic: UnaryTraffic | undefined;
    try {
      api = createFetch({
        source,
        call: { attemptTimeoutMs: 300 },
        healthCheck: { path: '/healthz' },
        metrics: false,
      });
      const urls = (await source.ready()).map((e) => e.address).sort();
      expect(urls).toEqual(
        [1, 2, 3].map((i) => `http://127.0.0.1:${cluster.replicas[i]!.httpPort}`).sort(),
      );
      traffic = new UnaryTraffic(helloSender(api));
      traffic.start();
      await swapReplicas(
        api.pool,
        traffic,
        (indexes) => dns.setSrv(published([], indexes)),
        [1, 2, 3],
        1,
        0,
      );
    } finally {
      await traffic?.stop();
      api?.close();
      source.close();
    }
  }, 40_000);
});
