import * as grpc from '@grpc/grpc-js';
import { RawClient, callNamed, startNamedServer } from './test-support/named-raw-servers.js';
import { createPool } from '@detour/core';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDetourResolver, toSubchannelAddress } from './resolver.js';

const servers: grpc.Server[] = [];
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const server of servers.splice(0)) server.forceShutdown();
});

describe('toSubchannelAddress', () => {
  it('parses host:port and [v6]:port and rejects the rest', () => {
    expect(toSubchannelAddress('127.0.0.1:50051')).toEqual({ host: '127.0.0.1', port: 50051 });
    expect(toSubchannelAddress('[::1]:443')).toEqual({ host: '::1', port: 443 });
    expect(toSubchannelAddress('no-port')).toBeUndefined();
    expect(toSubchannelAddress('host:99999')).toBeUndefined();
  });
});

describe('registerDetourResolver', () => {
  it('serves a pool as detour:///name to a plain grpc-js channel, and follows membership changes', async () => {
    const addresses = [
      await startNamedServer(servers, 'a'),
      await startNamedServer(servers, 'b'),
      await startNamedServer(servers, 'c'),
    ];
    const pool = createPool({
      endpoints: addresses.map((address, i) => ({ id: 'abc'[i]!, address })),
      metrics: false,
    });
    cleanups.push(registerDetourResolver('who', pool), () => pool.close());
    const client = new RawClient('detour:///who', grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    });
    cleanups.push(() => client.close());

    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(await callNamed(client));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);

    // Discovery drops c: the resolver pushes the new list, and c gets no more calls.
    pool.update({
      type: 'full',
      endpoints: [
        { id: 'a', address: addresses[0]! },
        { id: 'b', address: addresses[1]! },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = new Set<string>();
    for (let i = 0; i < 30; i++) after.add(await callNamed(client));
    expect([...after].sort()).toEqual(['a', 'b']);
  });

  it('fails calls with UNAVAILABLE for a name no pool is registered under', async () => {
    const pool = createPool({ endpoints: ['127.0.0.1:1'], metrics: false });
    cleanups.push(registerDetourResolver('known', pool), () => pool.close());
    const client = new RawClient('detour:///unknown', grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    await expect(callNamed(client)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('rejects bad names and a second pool under the same name', () => {
    const pool = createPool({ endpoints: ['127.0.0.1:1'], metrics: false });
    const other = createPool({ endpoints: ['127.0.0.1:2'], metrics: false });
    cleanups.push(
      registerDetourResolver('taken', pool),
      () => pool.close(),
      () => other.close(),
    );
    expect(() => registerDetourResolver('', pool)).toThrow(/Invalid option name: ""/);
    expect(() => registerDetourResolver('a/b', pool)).toThrow(/"a\/b"/);
    expect(() => registerDetourResolver('taken', other)).toThrow(/already registered/);
  });
});
