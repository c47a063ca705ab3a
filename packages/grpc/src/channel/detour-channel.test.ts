import * as grpc from '@grpc/grpc-js';
import { connectivityState as State, credentials } from '@grpc/grpc-js';
import { manualDetector } from '@detour/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '../failover.js';
import type { GrpcFailover } from '../failover.js';
import { greeterClient, startGreeter } from '../test-support/failover-greeter.js';

let failovers: GrpcFailover[] = [];

afterEach(() => {
  for (const failover of failovers) failover.close();
  failovers = [];
});

function make(): { failover: GrpcFailover; manual: ReturnType<typeof manualDetector> } {
  const manual = manualDetector();
  const failover = createGrpcFailover({
    name: 'greeter',
    endpoints: ['127.0.0.1:1', '127.0.0.1:2'],
    detectors: [manual],
    metrics: false,
  });
  failovers.push(failover);
  return { failover, manual };
}

describe('DetourChannel', () => {
  it('gives one view per method path and shape, whatever the definition object (grpc-js makes one per call)', () => {
    const { failover } = make();
    const channel = failover.channel;
    const unary = { path: '/a.S/M', requestStream: false, responseStream: false };
    const view = channel.forMethod(unary);
    expect(channel.forMethod(unary)).toBe(view);
    expect(channel.forMethod({ ...unary })).toBe(view);
    const streaming = channel.forMethod({ ...unary, responseStream: true });
    expect(streaming).not.toBe(view);
    expect(channel.forMethod({ ...unary, responseStream: true })).toBe(streaming);
    expect(channel.forMethod({ ...unary, path: '/a.S/N' })).not.toBe(view);
    channel.shutdown();
    expect(channel.forMethod(unary)).not.toBe(view); // views are dropped at shutdown
  });

  it('names its target detour:///<name> and has a channelz reference', () => {
    const { failover } = make();
    expect(failover.channel.getTarget()).toBe('detour:///greeter');
    expect(failover.channel.getChannelzRef()).toMatchObject({
      kind: 'channel',
      name: 'detour:///greeter',
    });
  });

  it('is READY while any endpoint is eligible, TRANSIENT_FAILURE when none is, SHUTDOWN when closed', () => {
    const { failover, manual } = make();
    const channel = failover.channel;
    expect(channel.getConnectivityState(false)).toBe(State.READY);
    manual.hold('127.0.0.1:1');
    expect(channel.getConnectivityState(false)).toBe(State.READY);
    manual.hold('127.0.0.1:2');
    expect(channel.getConnectivityState(false)).toBe(State.TRANSIENT_FAILURE);
    manual.release('127.0.0.1:2'); // probing is eligible
    expect(channel.getConnectivityState(false)).toBe(State.READY);
    failover.close();
    expect(channel.getConnectivityState(false)).toBe(State.SHUTDOWN);
  });

  it('calls a watcher back when the state changes, and at its deadline otherwise', async () => {
    const { failover, manual } = make();
    const channel = failover.channel;
    const changed = new Promise<Error | undefined>((resolve) =>
      channel.watchConnectivityState(State.READY, Infinity, resolve),
    );
    manual.hold('127.0.0.1:1');
    manual.hold('127.0.0.1:2');
    expect(await changed).toBeUndefined();
    const timedOut = await new Promise<Error | undefined>((resolve) =>
      channel.watchConnectivityState(State.TRANSIENT_FAILURE, Date.now() + 30, resolve),
    );
    expect(timedOut?.message).toMatch(/Deadline passed/);
    const stale = await new Promise<Error | undefined>((resolve) =>
      channel.watchConnectivityState(State.IDLE, Infinity, resolve),
    );
    expect(stale).toBeUndefined(); // already different: called back at once
    const shutdown = new Promise<Error | undefined>((resolve) =>
      channel.watchConnectivityState(State.TRANSIENT_FAILURE, Infinity, resolve),
    );
    failover.close();
    expect(await shutdown).toBeUndefined();
    expect(() => channel.watchConnectivityState(State.SHUTDOWN, Infinity, () => undefined)).toThrow(
      /shut down/,
    );
  });

  it('lets client.waitForReady() connect every endpoint', async () => {
    const replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name)));
    const failover = createGrpcFailover({
      endpoints: replicas.map((r) => r.address),
      metrics: false,
    });
    const Greeter = greeterClient();
    const client = new Greeter(
      'detour:///x',
      credentials.createInsecure(),
      failover.clientOptions(),
    );
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + 2000, (error) => (error ? reject(error) : resolve())),
      );
      await expect
        .poll(() => grpc.getClientChannel(client).getConnectivityState(false))
        .toBe(State.READY);
    } finally {
      client.close();
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });

  it('refuses calls once closed, as a closed grpc-js channel does', () => {
    const { failover } = make();
    failover.close();
    expect(() => failover.channel.createCall('/a/b', Infinity, undefined, null, undefined)).toThrow(
      /shut down/,
    );
  });
});
