/**
 * `@detour/http`'s `createFetch()` against real replica processes (test/support/cluster.ts)
 * while a steady stream of `GET /hello` requests runs through it: a replica is killed and
 * restarted, frozen and thawed, slowed, made to answer 503 and to report NOT_SERVING on
 * `/healthz`. The tests assert behaviour (no request fails, the replica is ejected, restored,
 * its share), never latencies: every request has a 2 s deadline, so success means it finished
 * within it.
 *
 * The fetch is configured as the package README advises: `call.attemptTimeoutMs` 300, the
 * `/healthz` health check on, default selector (P2C peak-EWMA) and detectors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch } from '@detour/http';
import type { CreateFetchOptions, DetourFetch } from '@detour/http';
import type { EndpointSnapshot } from '@detour/core';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';
import { UnaryTraffic, describeFailures } from './support/grpc-traffic.js';
import { helloSender } from './support/http-traffic.js';
import {
  sleep,
  slowReplicaShare,
  stallThisProcess,
  waitFor as waitUntil,
} from './support/chaos-helpers.js';

/** Every wait for the pool to react polls for at most this long (real time). */
const settleMs = 10_000;

const fetchSettings = {
  call: { attemptTimeoutMs: 300 },
  healthCheck: { path: '/healthz' },
  metrics: false,
} satisfies Partial<CreateFetchOptions>;

let cluster: Cluster;
let api: DetourFetch;
let traffic: UnaryTraffic;
const pids = new Set<number>();
const timings: Record<string, number> = {};

function name(i: number): string {
  return cluster.replicas[i]!.name;
}

function endpoint(i: number): EndpointSnapshot {
  return api.pool.snapshot().endpoints.find((e) => e.id === name(i))!;
}

function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = settleMs,
): Promise<number> {
  return waitUntil(what, condition, timeoutMs, api.pool);
}

async function waitAllServing(mark = traffic.mark()): Promise<void> {
  await waitFor('every replica healthy and answering', () =>
    cluster.replicas.every(
      (r, i) => endpoint(i).status === 'healthy' && traffic.answeredBy(r.name, mark) > 0,
    ),
  );
}

function failed(mark: number): string[] {
  return describeFailures(traffic.failures(mark));
}

beforeAll(async () => {
  cluster = await startCluster({ replicas: 3 });
  for (const r of cluster.replicas) pids.add(r.pid);
  api = createFetch({
    ...fetchSettings,
    endpoints: cluster.replicas.map((r) => ({ id: r.name, address: r.httpUrl })),
  });
  traffic = new UnaryTraffic(helloSender(api));
  traffic.start();
  await waitAllServing(0);
}, 30_000);

afterAll(async () => {
  await traffic?.stop();
  api?.close();
  await cluster?.stop();
  if (process.env['DETOUR_CHAOS_TIMINGS']) {
    console.log('http chaos timings (ms)', timings, `${traffic?.started ?? 0} requests`);
  }
}, 30_000);

describe('createFetch under chaos (3 replica processes, a steady stream of GET /hello)', () => {
  it('a replica killed mid-stream fails no request; restarted, it gets traffic back', async () => {
    const mark = traffic.mark();
    await waitFor('r1 answering', () => traffic.answeredBy(name(0), mark) > 0);
    await cluster.kill(0);
    timings['kill → ejected'] = await waitFor(
      'killed replica ejected',
      () => endpoint(0).status === 'ejected',
    );
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
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
    expect(traffic.since(mark).filter((r) => r.replica !== r.header)).toEqual([]);
  }, 25_000);

  it('a frozen replica is ejected while requests succeed; thawed, it is restored', async () => {
    const mark = traffic.mark();
    cluster.freeze(1);
    try {
      timings['freeze → ejected'] = await waitFor(
        'frozen replica ejected',
        () => endpoint(1).status === 'ejected',
      );
      const frozen = traffic.mark();
      await sleep(500);
      expect(traffic.answeredBy(name(1), frozen)).toBe(0);
      expect(traffic.since(frozen).length).toBeGreaterThan(0);
    } finally {
      cluster.thaw(1);
    }
    const thawed = traffic.mark();
    timings['thaw → answering'] = await waitFor(
      'thawed replica answering',
      () => traffic.answeredBy(name(1), thawed) > 0,
    );
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 25_000);

  it('a replica slowed by 80 ms gets far less than its third of the requests', async () => {
    const mark = traffic.mark();
    await cluster.setFaults(2, { latencyMs: 80 });
    await sleep(1_500); // its first slow answers raise its peak-EWMA latency
    // Judged over about 5 s of calls (one every 35 ms or so) in which the other replicas answered
    // like healthy ones (see slowReplicaShare: CPU steal can make every replica slow for a while).
    const sampled = 150;
    const { share, othersP90Ms, windows } = await slowReplicaShare(traffic, name(2), sampled, 80);
    timings[`slow replica share % of ${sampled} calls`] = Math.round(share * 100);
    timings['others p90 (ms) in that window'] = Math.round(othersP90Ms);
    timings['windows measured'] = windows;
    expect(share).toBeLessThan(0.1);
    await cluster.clearFaults(2);
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 80_000);

  it('a replica answering 503 is ejected and no request fails', async () => {
    const mark = traffic.mark();
    await cluster.resetStats(0);
    await cluster.setFaults(0, { errorRate: 1 });
    timings['503 → ejected'] = await waitFor(
      'failing replica ejected',
      () => endpoint(0).status === 'ejected',
    );
    await cluster.clearFaults(0);
    expect((await cluster.stats(0)).injected.errors).toBeGreaterThan(0);
    expect(endpoint(0).faults.some((f) => f.code === 503)).toBe(true);
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 25_000);

  it('a replica whose /healthz says NOT_SERVING gets no requests once held', async () => {
    const mark = traffic.mark();
    await cluster.setFaults(1, { health: 'NOT_SERVING' });
    timings['NOT_SERVING → held'] = await waitFor('NOT_SERVING replica held', () =>
      endpoint(1).heldBy.includes('heartbeat'),
    );
    const before = (await cluster.stats(1)).calls.http;
    const held = traffic.mark();
    await sleep(1_000);
    expect(traffic.since(held).length).toBeGreaterThan(10);
    expect(traffic.answeredBy(name(1), held)).toBe(0);
    expect((await cluster.stats(1)).calls.http).toBe(before);
    await cluster.setFaults(1, { health: 'SERVING' });
    await waitAllServing();
    expect(failed(mark)).toEqual([]);
  }, 25_000);

  it('a POST that reached a replica answering 503 is not retried; with Idempotency-Key it is', async () => {
    await traffic.stop();
    expect(failed(0)).toEqual([]);
    const strict = createFetch({
      endpoints: cluster.replicas.map((r, i) => ({
        id: r.name,
        address: r.httpUrl,
        priority: i === 0 ? 0 : 1,
      })),
      selector: 'priority-groups',
      detectors: [],
      metrics: false,
    });
    await Promise.all(cluster.replicas.map((_, i) => cluster.resetStats(i)));
    await cluster.setFaults(0, { errorRate: 1 });
    try {
      const plain = await strict('/echo', { method: 'POST', body: 'once' });
      expect(plain.status).toBe(503);
      expect(plain.headers.get('x-replica')).toBe(name(0));
      await plain.body?.cancel();
      const keyed = await strict('/echo', {
        method: 'POST',
        body: 'twice',
        headers: { 'idempotency-key': 'k-1' },
      });
      expect(keyed.status).toBe(200);
      expect(await keyed.text()).toBe('twice');
      const stats = await Promise.all(cluster.replicas.map((_, i) => cluster.stats(i)));
      const echo = stats.map((s) => s.byMethod['POST /echo'] ?? 0);
      expect(echo[0]).toBe(2); // each POST reached r1 once …
      expect(echo[1]! + echo[2]!).toBe(1); // … and only the keyed one went on
    } finally {
      strict.close();
      await cluster.clearFaults(0);
    }
  });

  it('a stall of this process past the attempt timeout loses no answer and blames no replica', async () => {
    const solo = createFetch({
      endpoints: [{ id: name(0), address: cluster.replicas[0]!.httpUrl }],
      call: { attemptTimeoutMs: 100 },
      detectors: [],
      metrics: false,
    });
    try {
      await (await solo('/hello?name=ada')).text(); // connected
      await cluster.setFaults(0, { latencyMs: 50 });
      const before = solo.pool.snapshot().endpoints[0]!.counts;
      const response = solo('/hello?name=ada');
      // The request is out after 20 ms and the answer comes at about 50 ms, while this process
      // is stalled for 400 ms; the attempt timer, due at 100 ms, fires 300 ms late, first.
      await stallThisProcess();
      const answered = await response;
      expect(answered.status).toBe(200);
      expect(answered.headers.get('x-replica')).toBe(name(0));
      await answered.text();
      const after = solo.pool.snapshot().endpoints[0]!.counts;
      expect(after.attempts - before.attempts).toBe(1);
      expect(after.failures - before.failures).toBe(0);
    } finally {
      solo.close();
      await cluster.clearFaults(0);
    }
  });

  it('stops every replica process', async () => {
    api.close();
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
