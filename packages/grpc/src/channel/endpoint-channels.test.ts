import * as grpc from '@grpc/grpc-js';
import { grpcJsBefore } from '../test-support/grpc-js-version.js';
import { Metadata, ServerCredentials, credentials, status } from '@grpc/grpc-js';
import type { CallCredentials, ChannelCredentials, Client, ServiceError } from '@grpc/grpc-js';
import type { Endpoint } from '@detour/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '../failover.js';
import type { GrpcFailover } from '../failover.js';
import { sayHello } from '../test-support/failover-client.js';
import { greeterClient, startGreeter } from '../test-support/failover-greeter.js';
import type { GreeterReplica } from '../test-support/failover-greeter.js';
import { makeTestPki } from '../test-support/failover-tls.js';
import type { TestPki } from '../test-support/failover-tls.js';
import { EndpointChannels } from './endpoint-channels.js';

function endpoint(id: string, address: string): Endpoint {
  return {
    id,
    address,
    weight: 1,
    capacity: 1,
    priority: 0,
    group: 'p0',
    zone: undefined,
    metadata: {},
  };
}

describe('EndpointChannels', () => {
  it('makes one channel per endpoint, lazily, and a new one when the address changes', () => {
    const channels = new EndpointChannels(credentials.createInsecure(), {});
    expect(channels.size).toBe(0);
    const a = channels.get(endpoint('a', '127.0.0.1:1'));
    expect(channels.get(endpoint('a', '127.0.0.1:1'))).toBe(a);
    expect(a.getTarget()).toBe('dns:127.0.0.1:1');
    const moved = channels.get(endpoint('a', '127.0.0.1:2'));
    expect(moved).not.toBe(a);
    expect(a.getConnectivityState(false)).toBe(grpc.connectivityState.SHUTDOWN);
    channels.remove('a');
    expect(moved.getConnectivityState(false)).toBe(grpc.connectivityState.SHUTDOWN);
    expect(channels.peek('a')).toBeUndefined();
    channels.get(endpoint('b', '127.0.0.1:3'));
    channels.close();
    expect(channels.size).toBe(0);
    expect(() => channels.get(endpoint('c', '127.0.0.1:4'))).toThrow(/shut down/);
  });
});

describe('endpoint channels with TLS and credentials', () => {
  let pki: TestPki;
  let replicas: GreeterReplica[] = [];
  let failovers: GrpcFailover[] = [];
  let clients: Client[] = [];

  beforeAll(() => {
    pki = makeTestPki();
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    for (const failover of failovers) failover.close();
    await Promise.all(replicas.map((replica) => replica.stop()));
    replicas = [];
    clients = [];
    failovers = [];
  });

  async function startTls(mutual: boolean): Promise<void> {
    const serverCredentials = ServerCredentials.createSsl(
      mutual ? pki.caCert : null,
      [{ cert_chain: pki.serverCert, private_key: pki.serverKey }],
      mutual,
    );
    replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name, serverCredentials)));
  }

  function clientFor(channelCredentials: ChannelCredentials): Client {
    const failover = createGrpcFailover({
      endpoints: replicas.map((replica, i) => ({ address: replica.address, priority: i })),
      selector: 'priority-groups',
      detectors: [],
      metrics: false,
      credentials: channelCredentials,
      idempotentMethods: ['/helloworld.Greeter/SayHello'],
    });
    failovers.push(failover);
    const Greeter = greeterClient();
    const client = new Greeter(
      'detour:///tls',
      credentials.createInsecure(),
      failover.clientOptions(),
    );
    clients.push(client);
    return client;
  }

  function bearer(token: string): CallCredentials {
    return credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      callback(null, metadata);
    });
  }

  it('calls TLS endpoints and fails over between them', async () => {
    await startTls(false);
    const client = clientFor(credentials.createSsl(pki.caCert));
    expect((await sayHello(client, { name: 't' })).server).toBe('a');
    replicas[0]!.mode = 'unavailable';
    const reply = await sayHello(client, { name: 't' });
    expect(reply.server).toBe('b');
    expect(reply.previous_attempts).toBe('1');
  });

  it('presents the client certificate under mutual TLS', async () => {
    await startTls(true);
    const client = clientFor(credentials.createSsl(pki.caCert, pki.clientKey, pki.clientCert));
    expect((await sayHello(client, { name: 'm' })).message).toBe('Hello m');
    const anonymous = clientFor(credentials.createSsl(pki.caCert));
    const error = await sayHello(anonymous, { name: 'm' }).catch((e: ServiceError) => e);
    // Before 1.13, grpc-js marks a TLS 1.3 connection ready before the server's settings arrive,
    // so the server's rejection of the missing certificate kills the call as INTERNAL
    // ("certificate required"); from 1.13 it is UNAVAILABLE "No connection established".
    expect((error as ServiceError).code).toBe(
      grpcJsBefore(13) ? status.INTERNAL : status.UNAVAILABLE,
    );
  });

  it('sends call credentials combined into the channel credentials on every attempt', async () => {
    await startTls(false);
    const client = clientFor(
      credentials.combineChannelCredentials(credentials.createSsl(pki.caCert), bearer('channel')),
    );
    replicas[0]!.mode = 'unavailable';
    const reply = await sayHello(client, { name: 'c' });
    expect(reply.server).toBe('b');
    expect(reply.authorization).toBe('Bearer channel');
    expect(replicas[0]!.metadata[0]!.get('authorization')).toEqual(['Bearer channel']);
  });

  it('sends per-call credentials (CallOptions.credentials) on every attempt', async () => {
    await startTls(false);
    const client = clientFor(credentials.createSsl(pki.caCert));
    replicas[0]!.mode = 'unavailable';
    const reply = await sayHello(client, { name: 'p' }, { credentials: bearer('call') });
    expect(reply.authorization).toBe('Bearer call');
    expect(replicas[0]!.metadata[0]!.get('authorization')).toEqual(['Bearer call']);
  });
});

describe('endpoint channels and membership', () => {
  it('keeps calling through endpoint updates', async () => {
    const replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name)));
    const failover = createGrpcFailover({ endpoints: [replicas[0]!.address], metrics: false });
    const Greeter = greeterClient();
    const client = new Greeter(
      'detour:///x',
      credentials.createInsecure(),
      failover.clientOptions(),
    );
    try {
      expect((await sayHello(client, { name: 'u' })).server).toBe('a');
      failover.pool.update({ type: 'full', endpoints: [replicas[1]!.address] });
      expect((await sayHello(client, { name: 'u' })).server).toBe('b');
      expect(failover.pool.members().map((r) => r.endpoint.address)).toEqual([
        replicas[1]!.address,
      ]);
    } finally {
      client.close();
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });
});
