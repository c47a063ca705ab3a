import * as grpc from '@grpc/grpc-js';
import { Metadata, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { normalizeEndpoint } from '@detour/core';
import type { Endpoint } from '@detour/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '../failover.js';
import type { GrpcFailover } from '../failover.js';
import { sayHello } from '../test-support/failover-client.js';
import { greeterClient, startGreeter } from '../test-support/failover-greeter.js';
import type { GreeterReplica } from '../test-support/failover-greeter.js';
import { grpcJsBefore } from '../test-support/grpc-js-version.js';
import { makeTestPki } from '../test-support/failover-tls.js';
import { EndpointChannels } from './endpoint-channels.js';
import { grpcTimeout, notedChannels } from './endpoint-subchannel.js';

function endpoint(id: string, address: string): Endpoint {
  return normalizeEndpoint({ id, address }, 'endpoint');
}

/** grpc-js 1.14 gives subchannels a channel of their own; 1.10 (`grpc-js-oldest`) does not. */
const shortcut = !grpcJsBefore(14);

async function ready(channel: grpc.Channel): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const state = channel.getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return;
    await new Promise<void>((resolve, reject) =>
      channel.watchConnectivityState(state, deadline, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
}

/**
 * Calls started on the endpoint channels whose target names one of `addresses`, by channelz
 * (grpc-js counts every call a channel starts; a call straight on a subchannel is not one).
 */
async function channelCalls(addresses: readonly string[]): Promise<number> {
  const handlers = grpc.getChannelzHandlers() as unknown as {
    GetTopChannels(
      call: { request: { start_channel_id: number; max_results: number } },
      callback: (
        error: unknown,
        reply: { channel: { data: { target: string; calls_started: number } }[] },
      ) => void,
    ): void;
  };
  const reply = await new Promise<{
    channel: { data: { target: string; calls_started: number } }[];
  }>((resolve, reject) =>
    handlers.GetTopChannels({ request: { start_channel_id: 0, max_results: 1000 } }, (e, r) =>
      e ? reject(new Error('channelz GetTopChannels failed', { cause: e })) : resolve(r),
    ),
  );
  let started = 0;
  for (const { data } of reply.channel) {
    // grpc-js 1.14 names the target `dns:<address>`, 1.10 `<address>`.
    if (addresses.some((a) => data.target === a || data.target === `dns:${a}`)) {
      started += Number(data.calls_started);
    }
  }
  return started;
}

describe('grpcTimeout', () => {
  it('writes the smallest unit that keeps the number under 10^8, rounded up, as grpc-js does', () => {
    expect(grpcTimeout(300)).toBe('300m');
    expect(grpcTimeout(299.2)).toBe('300m');
    expect(grpcTimeout(0)).toBe('0m');
    expect(grpcTimeout(-5)).toBe('0m');
    expect(grpcTimeout(99_999_999)).toBe('99999999m');
    expect(grpcTimeout(100_000_000)).toBe('100000S');
    expect(grpcTimeout(1e11 + 1)).toBe('1666667M');
    expect(grpcTimeout(Number.MAX_SAFE_INTEGER)).toBe('99999999H'); // grpc-js throws here
  });
});

describe('EndpointChannels.direct', () => {
  let replica: GreeterReplica;
  beforeEach(async () => {
    replica = await startGreeter('a');
  });
  afterEach(async () => {
    await replica.stop();
  });

  it('gives the READY connection’s own channel (grpc-js ≥ 1.14), none before, none once closed', async () => {
    const channels = new EndpointChannels(credentials.createInsecure(), {});
    const e = endpoint('a', replica.address);
    const before = notedChannels();
    const channel = channels.get(e);
    expect(channels.direct(e)).toBeUndefined(); // not connected yet
    await ready(channel);
    const direct = channels.direct(e);
    if (shortcut) {
      expect(direct).toBeDefined();
      expect(direct).not.toBe(channel);
      expect(notedChannels()).toBe(before + 1);
    } else {
      expect(direct).toBeUndefined();
      expect(notedChannels()).toBe(before);
    }
    channels.close();
    expect(channels.direct(e)).toBeUndefined();
    expect(notedChannels()).toBe(before);
  });

  it('is never taken with a service config or default authority of the caller’s', async () => {
    for (const options of [
      { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] }) },
      { 'grpc.default_authority': 'greeter.example' },
    ]) {
      const channels = new EndpointChannels(credentials.createInsecure(), options);
      const e = endpoint('a', replica.address);
      await ready(channels.get(e));
      expect(channels.direct(e)).toBeUndefined();
      channels.close();
    }
  });
});

describe('unary attempts on the direct path', () => {
  let replicas: GreeterReplica[] = [];
  let failover: GrpcFailover | undefined;
  let client: Client | undefined;
  beforeEach(async () => {
    replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name)));
  });
  afterEach(async () => {
    client?.close();
    failover?.close();
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('tell the server the deadline, leave the caller’s metadata alone, and retry elsewhere', async () => {
    failover = createGrpcFailover({
      endpoints: replicas.map((r) => r.address),
      metrics: false,
      healthCheck: false,
      detectors: [],
      selector: 'round-robin',
      call: { attemptTimeoutMs: 2_000 },
      idempotentMethods: ['/helloworld.Greeter/SayHello'],
    });
    const Greeter = greeterClient();
    client = new Greeter(
      'detour:///greeter',
      credentials.createInsecure(),
      failover.clientOptions(),
    );
    // Connect both endpoints, so that the calls below find them READY.
    for (let i = 0; i < 4; i++) await sayHello(client, { name: 'warm' });
    const metadata = new Metadata();
    metadata.set('x-echo', 'original');
    for (const r of replicas) r.deadlines.length = 0;
    const startedBefore = await channelCalls(replicas.map((r) => r.address));
    const sentAt = Date.now();
    const reply = await sayHello(client, { name: 'd' }, { metadata, deadlineMs: 1_500 });
    // grpc-js ≥ 1.14: the attempt went straight on the connection, not through the channel.
    expect((await channelCalls(replicas.map((r) => r.address))) - startedBefore).toBe(
      shortcut ? 0 : 1,
    );
    expect(reply.echo).toBe('original');
    const seen = replicas.flatMap((r) => r.deadlines);
    expect(seen).toHaveLength(1);
    // The server's deadline is the call's, give or take the time the call took to get there.
    expect(seen[0]! - (sentAt + 1_500)).toBeGreaterThan(-200);
    expect(seen[0]! - (sentAt + 1_500)).toBeLessThan(50);
    expect(metadata.toJSON()).toEqual({ 'x-echo': ['original'] });

    // A failed direct attempt is retried on the other endpoint, saying it is a retry.
    replicas[0]!.mode = 'unavailable';
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await sayHello(client, { name: 'r' }));
    expect(replies.map((r) => r.server)).toEqual(['b', 'b', 'b', 'b']);
    expect(replies.some((r) => r.previous_attempts === '1')).toBe(true);
  });
});

describe('a direct attempt whose connection closes before its stream is made', () => {
  let replicas: GreeterReplica[] = [];
  let failover: GrpcFailover | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    client?.close();
    failover?.close();
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('is not sent: even a call that is not idempotent goes to the next endpoint', async () => {
    const pki = makeTestPki();
    const serverCredentials = ServerCredentials.createSsl(
      null,
      [{ cert_chain: pki.serverCert, private_key: pki.serverKey }],
      false,
    );
    replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name, serverCredentials)));
    // Call credentials that take a while; once armed, replica a's server goes away meanwhile,
    // so the connection the attempt was about to use closes before its stream is made.
    let armed = false;
    const slowToken = credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new Metadata();
      metadata.set('authorization', 'Bearer slow');
      if (!armed) {
        callback(null, metadata);
        return;
      }
      armed = false;
      replicas[0]!.server.forceShutdown();
      setTimeout(() => callback(null, metadata), 100);
    });
    failover = createGrpcFailover({
      endpoints: replicas.map((r, i) => ({ address: r.address, priority: i })),
      selector: 'priority-groups',
      detectors: [],
      healthCheck: false,
      metrics: false,
      credentials: credentials.combineChannelCredentials(
        credentials.createSsl(pki.caCert),
        slowToken,
      ),
      idempotentMethods: [],
    });
    const Greeter = greeterClient();
    client = new Greeter('detour:///tls', credentials.createInsecure(), failover.clientOptions());
    expect((await sayHello(client, { name: 'warm' })).server).toBe('a');
    armed = true;
    const reply = await sayHello(client, { name: 'n' });
    expect(reply.server).toBe('b');
    expect(reply.previous_attempts).toBe('1');
    expect(replicas[0]!.calls).toBe(1); // the warm-up only
  });
});
