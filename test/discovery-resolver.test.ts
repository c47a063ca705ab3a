/**
 * A discovery source behind a plain grpc-js channel: `fileSource` feeds a pool, the pool is served
 * as `detour:///greeter` by `registerDetourResolver`, and a generated client with grpc-js's own
 * round_robin follows the file as replicas are added and removed. The same source object plugs in
 * here as it does into `createGrpcFailover` and `createFetch` (test/discovery-dns.test.ts,
 * test/discovery-etcd.test.ts).
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from '@detour/core';
import type { Pool } from '@detour/core';
import { fileSource } from '@detour/discovery';
import type { FileSource } from '@detour/discovery';
import { registerDetourResolver } from '@detour/grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import type { GreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import { waitFor } from './support/chaos-helpers.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';

let dir: string;
let path: string;
let cluster: Cluster;
let source: FileSource;
let pool: Pool;
let unregister: () => void;
let client: GreeterClient;

async function publish(indexes: readonly number[]): Promise<void> {
  const endpoints = indexes.map((i) => cluster.replicas[i]!.grpcAddress);
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify({ endpoints }));
  await rename(temporary, path);
}

function sayHello(): Promise<string> {
  return new Promise((resolve, reject) => {
    client.sayHello({ name: 'file' }, { deadline: Date.now() + 2_000 }, (error, reply) => {
      if (error) reject(error);
      else resolve(/from (\S+)$/.exec(reply!.message)![1]!);
    });
  });
}

/** Which replicas answer `n` calls in a row. */
async function answering(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await sayHello());
  return seen;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'detour-resolver-'));
  path = join(dir, 'greeter.json');
  cluster = await startCluster({ replicas: 3 });
  await publish([0, 1]);
  source = fileSource({ path, metrics: false });
  pool = createPool({ source, metrics: false });
  await source.ready();
  unregister = registerDetourResolver('greeter-from-file', pool);
  client = createGreeterClient('detour:///greeter-from-file', {
    channelOptions: {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    },
  });
}, 30_000);

afterAll(async () => {
  client?.close();
  unregister?.();
  pool?.close();
  source?.close();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a file source behind the grpc-js resolver', () => {
  it('sends to the replicas the file lists, and follows the file as it changes', async () => {
    expect(await answering(12)).toEqual(new Set(['r1', 'r2']));

    await publish([1, 2]); // r3 joins, r1 leaves
    await waitFor(
      'the channel follows the file',
      async () => {
        const seen = await answering(12);
        return seen.has('r3') && !seen.has('r1');
      },
      10_000,
      pool,
    );
    expect(await answering(12)).toEqual(new Set(['r2', 'r3']));
  });

  it('keeps the last endpoints when the file breaks', async () => {
    await writeFile(path, '{"endpoints": [');
    await waitFor('the source fails', () => source.health().state === 'failing', 10_000, pool);
    expect(pool.members().map((r) => r.endpoint.address)).toHaveLength(2);
    expect(await answering(12)).toEqual(new Set(['r2', 'r3']));
  });
});
