/**
 * The benchmark's HTTP peers of detour (bench/clients/http-peers.ts, bench/clients/nginx.ts)
 * against three real replica processes: healthy, with one replica answering 503 to everything,
 * with one replica killed, and with every replica too slow for the deadline; then `close()`
 * releases them (nginx's processes gone, its temp dir removed). Calls run one after the other
 * with a 2 s deadline: success means the client routed around the fault within it.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNaive, undiciBalancedRetry } from '../bench/clients/http-peers.js';
import { nginxProxy } from '../bench/clients/nginx.js';
import type { NginxBenchClient } from '../bench/clients/nginx.js';
import type { BenchClient, BenchReplica, CallResult } from '../bench/harness/types.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';

const deadlineMs = 2_000;
const callsPerCheck = 30;

let cluster: Cluster;
let nginx: NginxBenchClient;
const clients = new Map<string, BenchClient>();

beforeAll(async () => {
  cluster = await startCluster({ replicas: 3 });
  const replicas: BenchReplica[] = cluster.replicas.map((r) => ({
    name: r.name,
    grpcAddress: r.grpcAddress,
    httpUrl: r.httpUrl,
  }));
  nginx = await nginxProxy(replicas);
  for (const client of [await fetchNaive(replicas), await undiciBalancedRetry(replicas), nginx]) {
    clients.set(client.name, client);
  }
});

afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.close()));
  await cluster?.stop();
});

const names = ['fetch-naive', 'undici-balanced-retry', 'nginx'] as const;

/** `calls` calls in a row; how many each replica answered, and every failure. */
async function run(
  name: string,
  calls = callsPerCheck,
  deadline = deadlineMs,
): Promise<{ answered: Record<string, number>; failures: string[] }> {
  const client = clients.get(name)!;
  const answered: Record<string, number> = {};
  const failures: string[] = [];
  for (let i = 0; i < calls; i++) {
    const result: CallResult = await client.send(deadline);
    if ('replica' in result) answered[result.replica] = (answered[result.replica] ?? 0) + 1;
    else failures.push(result.code);
  }
  return { answered, failures };
}

describe('healthy replicas', () => {
  it.each(names)('%s: every call succeeds, on all three replicas', async (name) => {
    const { answered, failures } = await run(name);
    expect(failures).toEqual([]);
    expect(Object.keys(answered).sort()).toEqual(['r1', 'r2', 'r3']);
  });
});

describe('r1 answers 503 to everything', () => {
  beforeAll(async () => {
    await cluster.setFaults(0, { errorRate: 1 });
  });
  afterAll(async () => {
    await cluster.clearFaults(0);
  });

  it.each(names)('%s: every call succeeds elsewhere', async (name) => {
    const { answered, failures } = await run(name);
    expect(failures).toEqual([]);
    expect(Object.keys(answered).sort()).toEqual(['r2', 'r3']);
  });
});

describe('r1 killed', () => {
  beforeAll(async () => {
    await cluster.kill(0);
  });

  it.each(names)('%s: every call succeeds elsewhere', async (name) => {
    const { answered, failures } = await run(name);
    expect(failures).toEqual([]);
    expect(Object.keys(answered).sort()).toEqual(['r2', 'r3']);
  });
});

describe('every live replica slower than the deadline', () => {
  beforeAll(async () => {
    await Promise.all([
      cluster.setFaults(1, { latencyMs: 1_500 }),
      cluster.setFaults(2, { latencyMs: 1_500 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([cluster.clearFaults(1), cluster.clearFaults(2)]);
  });

  it.each(names)('%s: the call ends by its deadline with TimeoutError', async (name) => {
    const started = performance.now();
    const result = await clients.get(name)!.send(200);
    expect(result).toEqual({ code: 'TimeoutError' });
    expect(performance.now() - started).toBeLessThan(700);
  });
});

describe('close()', () => {
  it.each(names)('%s: releases everything', async (name) => {
    await clients.get(name)!.close();
    clients.delete(name);
  });

  it('nginx: its processes are gone, its port refuses, its temp dir is removed', async () => {
    await nginx.close();
    expect(isRunning(nginx.pid)).toBe(false);
    // The worker shared the master's process group (nginx runs detached, as group leader).
    expect(isRunning(-nginx.pid)).toBe(false);
    expect(existsSync(nginx.prefix)).toBe(false);
    await expect(connectTo(nginx.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

/** Whether a process (or, for a negative pid, a process group) exists. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

function connectTo(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
