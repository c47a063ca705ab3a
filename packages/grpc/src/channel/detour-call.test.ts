import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrpcFailover } from '../failover.js';
import type { GrpcFailover } from '../failover.js';
import type { GrpcFailoverOptions } from '../failover-options.js';
import { chat, collectHellos, sayHello, streamHellos } from '../test-support/failover-client.js';
import { greeterClient, startGreeter } from '../test-support/failover-greeter.js';
import type { GreeterReplica } from '../test-support/failover-greeter.js';

let replicas: GreeterReplica[] = [];
let failovers: GrpcFailover[] = [];
let clients: Client[] = [];

beforeEach(async () => {
  replicas = await Promise.all(['a', 'b'].map((name) => startGreeter(name)));
});

afterEach(async () => {
  for (const client of clients) client.close();
  for (const failover of failovers) failover.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  clients = [];
  failovers = [];
});

/** A client whose first attempt goes to replica a, its retry to b. */
function setUp(
  options: Partial<GrpcFailoverOptions> = {},
  withShapes = true,
): { failover: GrpcFailover; client: Client } {
  const failover = createGrpcFailover({
    endpoints: replicas.map((replica, i) => ({ address: replica.address, priority: i })),
    selector: 'priority-groups',
    detectors: [],
    metrics: false,
    idempotentMethods: ['/helloworld.Greeter/*'],
    ...options,
  });
  failovers.push(failover);
  const Greeter = greeterClient();
  const client = new Greeter(
    'detour:///greeter',
    grpc.credentials.createInsecure(),
    withShapes ? failover.clientOptions() : { channelOverride: failover.channel },
  );
  clients.push(client);
  return { failover, client };
}

describe.each([
  ['method shapes known', true],
  ['channelOverride only', false],
])('DetourCall, %s', (_, withShapes) => {
  describe('server streaming', () => {
    it('streams every reply', async () => {
      const { client } = setUp({}, withShapes);
      const outcome = await streamHellos(client, { name: 's', count: 4 });
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => r.message)).toEqual([
        'Hello s #0',
        'Hello s #1',
        'Hello s #2',
        'Hello s #3',
      ]);
    });

    it('fails over before the first message', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.mode = 'unavailable';
      const outcome = await streamHellos(client, { name: 's', count: 3 });
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => r.server)).toEqual(['b', 'b', 'b']);
      expect(outcome.replies[0]!.previous_attempts).toBe('1');
    });

    it('does not fail over after the first message: the failure ends the call', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.mode = 'fail-after-first';
      const outcome = await streamHellos(client, { name: 's', count: 3 });
      expect(outcome.replies.map((r) => r.server)).toEqual(['a']);
      expect(outcome.error?.code).toBe(status.UNAVAILABLE);
      expect(outcome.error?.details).toBe('a is unavailable');
      expect(replicas[1]!.calls).toBe(0);
    });

    it('times only the first message: a stream may outlast the attempt timeout', async () => {
      const { client } = setUp({ call: { attemptTimeoutMs: 150 } }, withShapes);
      // Connected first, so that the 150 ms time only the first message (60 ms) and not also a
      // connection being set up on a loaded machine (a fresh-clone run failed over to b).
      await sayHello(client, { name: 'warm' });
      replicas[0]!.streamDelayMs = 60;
      const outcome = await streamHellos(client, { name: 'slow', count: 5 }, { deadlineMs: 3000 });
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => r.server)).toEqual(['a', 'a', 'a', 'a', 'a']);
    });

    it('fails over from a stream that never sends its first message, at the attempt timeout', async () => {
      const { client } = setUp({ call: { attemptTimeoutMs: 150 } }, withShapes);
      replicas[0]!.mode = 'hang';
      const started = performance.now();
      const outcome = await streamHellos(client, { name: 'h', count: 2 }, { deadlineMs: 3000 });
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => r.server)).toEqual(['b', 'b']);
      expect(performance.now() - started).toBeLessThan(1000);
      await expect.poll(() => replicas[0]!.cancelled).toBe(1);
    });

    it('cancels mid-stream: the client sees CANCELLED, the server sees the cancellation', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.streamDelayMs = 30;
      const outcome = await streamHellos(client, { name: 'c', count: 50 }, {}, (reply, stream) => {
        if (reply.message.endsWith('#1')) stream.cancel();
      });
      expect(outcome.error?.code).toBe(status.CANCELLED);
      expect(outcome.replies.length).toBeLessThan(50);
      await expect.poll(() => replicas[0]!.cancelled).toBe(1);
    });

    it('surfaces DEADLINE_EXCEEDED mid-stream', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.streamDelayMs = 50;
      const outcome = await streamHellos(client, { name: 'd', count: 50 }, { deadlineMs: 300 });
      expect(outcome.error?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(outcome.replies.length).toBeGreaterThan(0);
    });
  });

  describe('client streaming', () => {
    it('replays the buffered request on another endpoint', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.mode = 'unavailable';
      const reply = await collectHellos(client, ['x', 'y', 'z']);
      expect(reply.message).toBe('Hello x,y,z');
      expect(reply.server).toBe('b');
      expect(reply.previous_attempts).toBe('1');
    });

    it('commits a request larger than the replay buffer: one attempt, never retried', async () => {
      const { client, failover } = setUp({ replayBufferBytes: 16 }, withShapes);
      const names = ['first-name', 'second-name', 'third-name'];
      expect((await collectHellos(client, names)).message).toBe(`Hello ${names.join(',')}`);
      replicas[0]!.mode = 'unavailable';
      const error = await collectHellos(client, names).catch((e: ServiceError) => e);
      expect((error as ServiceError).code).toBe(status.UNAVAILABLE);
      expect(replicas[1]!.calls).toBe(0);
      const a = failover.pool.snapshot().endpoints.find((e) => e.address === replicas[0]!.address);
      expect(a?.counts.failures).toBe(1);
    });
  });

  describe('deadline', () => {
    // With the method's shape known, a client stream starts no attempt before it is ended, so
    // only the call's own timer can end it; without, it starts one at once (it may be a bidi
    // stream), which the deadline ends (whether it reached a server by then or not).
    it('ends a request stream left open at its deadline with DEADLINE_EXCEEDED', async () => {
      const { client } = setUp({}, withShapes);
      type Collect = (
        metadata: grpc.Metadata,
        options: grpc.CallOptions,
        callback: (error: ServiceError | null) => void,
      ) => grpc.ClientWritableStream<{ name: string }>;
      const collect = (client as unknown as { CollectHellos: Collect }).CollectHellos.bind(client);
      const started = performance.now();
      const error = await new Promise<ServiceError | null>((resolve) => {
        const stream = collect(new grpc.Metadata(), { deadline: Date.now() + 200 }, resolve);
        stream.write({ name: 'open' }); // never ended: no attempt can start
      });
      expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
      expect(performance.now() - started).toBeLessThan(2_000);
      if (withShapes) expect(replicas[0]!.calls + replicas[1]!.calls).toBe(0);
    });
  });

  describe('bidi streaming', () => {
    it('exchanges messages one by one', async () => {
      const { client } = setUp({}, withShapes);
      const outcome = await chat(client, ['p', 'q', 'r']);
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => r.message)).toEqual(['Hello p', 'Hello q', 'Hello r']);
    });

    it('fails over before the first response, replaying what was sent', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.mode = 'unavailable';
      const outcome = await chat(client, ['p', 'q']);
      expect(outcome.error).toBeUndefined();
      expect(outcome.replies.map((r) => `${r.server}:${r.message}`)).toEqual([
        'b:Hello p',
        'b:Hello q',
      ]);
    });

    it('commits a stream whose messages outgrow the replay buffer', async () => {
      const { client } = setUp({ replayBufferBytes: 8 }, withShapes);
      const names = ['a-long-name', 'another-long-name'];
      const ok = await chat(client, names);
      expect(ok.replies.map((r) => r.message)).toEqual([
        'Hello a-long-name',
        'Hello another-long-name',
      ]);
      replicas[0]!.mode = 'unavailable';
      const outcome = await chat(client, names);
      expect(outcome.error?.code).toBe(status.UNAVAILABLE);
      expect(replicas[1]!.calls).toBe(0);
    });

    it('does not fail over after the first response', async () => {
      const { client } = setUp({}, withShapes);
      replicas[0]!.mode = 'fail-after-first';
      const outcome = await chat(client, ['p', 'q', 'r']);
      expect(outcome.replies.map((r) => r.server)).toEqual(['a']);
      expect(outcome.error?.code).toBe(status.UNAVAILABLE);
      expect(replicas[1]!.calls).toBe(0);
    });
  });
});
