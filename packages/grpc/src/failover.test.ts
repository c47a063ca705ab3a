import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrpcFailover } from './failover.js';
import type { GrpcFailover } from './failover.js';
import type { GrpcFailoverOptions } from './failover-options.js';
import { sayHello } from './test-support/failover-client.js';
import { deadAddress, greeterClient, startGreeter } from './test-support/failover-greeter.js';
import type { GreeterReplica } from './test-support/failover-greeter.js';
import { grpcJsBefore } from './test-support/grpc-js-version.js';

const sayHelloPath = '/helloworld.Greeter/SayHello';

let replicas: GreeterReplica[] = [];
let failovers: GrpcFailover[] = [];
let clients: Client[] = [];

beforeEach(async () => {
  replicas = await Promise.all(['a', 'b', 'c'].map((name) => startGreeter(name)));
});

afterEach(async () => {
  for (const client of clients) client.close();
  for (const failover of failovers) failover.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  clients = [];
  failovers = [];
});

function setUp(options: GrpcFailoverOptions): { failover: GrpcFailover; client: Client } {
  const failover = createGrpcFailover({ metrics: false, ...options });
  failovers.push(failover);
  const Greeter = greeterClient();
  const client = new Greeter(
    'detour:///greeter',
    grpc.credentials.createInsecure(),
    failover.clientOptions(),
  );
  clients.push(client);
  return { failover, client };
}

function addresses(): string[] {
  return replicas.map((replica) => replica.address);
}

function failuresOf(failover: GrpcFailover, address: string): number {
  const endpoint = failover.pool.snapshot().endpoints.find((e) => e.address === address);
  return endpoint?.counts.failures ?? 0;
}

describe('createGrpcFailover: unary calls', () => {
  it('answers through a generated client and spreads calls across the endpoints', async () => {
    const { client } = setUp({ endpoints: addresses(), selector: 'round-robin' });
    const servers = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const reply = await sayHello(client, { name: `n${i}` });
      expect(reply.message).toBe(`Hello n${i}`);
      servers.add(reply.server);
    }
    expect([...servers].sort()).toEqual(['a', 'b', 'c']);
    expect(replicas.map((r) => r.calls)).toEqual([3, 3, 3]);
  });

  it('ignores the client target and credentials: the channel override decides', async () => {
    const failover = createGrpcFailover({ endpoints: addresses(), metrics: false });
    failovers.push(failover);
    const Greeter = greeterClient();
    // TLS credentials and a target nothing resolves: grpc-js uses neither.
    const client = new Greeter(
      'dns:///nowhere.invalid:1',
      grpc.credentials.createSsl(),
      failover.clientOptions(),
    );
    clients.push(client);
    expect((await sayHello(client, { name: 'x' })).message).toBe('Hello x');
    expect(client.getChannel().getTarget()).toBe('detour:///default');
  });

  it('works with only channelOverride (no method shapes known)', async () => {
    const failover = createGrpcFailover({
      endpoints: addresses(),
      metrics: false,
      idempotentMethods: [sayHelloPath],
      detectors: [],
    });
    failovers.push(failover);
    const Greeter = greeterClient();
    const client = new Greeter('detour:///x', grpc.credentials.createInsecure(), {
      channelOverride: failover.channel,
    });
    clients.push(client);
    replicas[0]!.mode = 'unavailable';
    for (let i = 0; i < 6; i++)
      expect((await sayHello(client, { name: 'y' })).message).toBe('Hello y');
  });

  it('fails over from an endpoint answering UNAVAILABLE; the failed attempt is in the pool stats', async () => {
    const { failover, client } = setUp({
      endpoints: addresses(),
      selector: 'round-robin',
      idempotentMethods: [sayHelloPath],
      detectors: [],
    });
    replicas[1]!.mode = 'unavailable';
    for (let i = 0; i < 9; i++) {
      const reply = await sayHello(client, { name: 'z' });
      expect(reply.server).not.toBe('b');
    }
    expect(replicas[1]!.calls).toBeGreaterThan(0);
    expect(failuresOf(failover, replicas[1]!.address)).toBe(replicas[1]!.calls);
    expect(failuresOf(failover, replicas[0]!.address)).toBe(0);
  });

  it('keeps every idempotent call succeeding when one server is shut down', async () => {
    const { client } = setUp({
      endpoints: addresses(),
      idempotentMethods: ['/helloworld.Greeter/*'],
    });
    for (let i = 0; i < 6; i++) await sayHello(client, { name: 'warm' });
    replicas[2]!.server.forceShutdown();
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sayHello(client, { name: `k${i}` })),
    );
    expect(replies.every((reply) => reply.server !== 'c')).toBe(true);
  });

  it('does not retry a non-idempotent call that a server processed and answered UNAVAILABLE', async () => {
    const { client } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
    });
    replicas[0]!.mode = 'unavailable';
    const error = await sayHello(client, { name: 'once' }).catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(status.UNAVAILABLE);
    expect((error as ServiceError).details).toBe('a is unavailable');
    expect(replicas[0]!.calls).toBe(1);
    expect(replicas[1]!.calls).toBe(0);
  });

  it('retries a non-idempotent call whose connection was refused (transparent retry)', async () => {
    const dead = await deadAddress();
    const { failover, client } = setUp({
      endpoints: [
        { address: dead, priority: 0 },
        { address: replicas[0]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
    });
    const reply = await sayHello(client, { name: 'refused' });
    expect(reply.server).toBe('a');
    expect(reply.previous_attempts).toBe('1');
    expect(failuresOf(failover, dead)).toBe(1);
    expect(replicas[0]!.calls).toBe(1);
  });

  it('cuts an attempt to a server that never answers at its attempt timeout and fails over', async () => {
    const { failover, client } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      idempotentMethods: [sayHelloPath],
      call: { attemptTimeoutMs: 200 },
    });
    // Connect to both replicas first, so that only the timeout is timed: the second warm-up
    // call fails over to b (a fresh connection under a loaded machine can take 200 ms).
    await sayHello(client, { name: 'warm' });
    replicas[0]!.mode = 'unavailable';
    expect((await sayHello(client, { name: 'warm b' })).server).toBe('b');
    replicas[0]!.mode = 'hang';
    const started = performance.now();
    const reply = await sayHello(client, { name: 'slow' }, { deadlineMs: 2000 });
    const elapsed = performance.now() - started;
    expect(reply.server).toBe('b');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(700);
    const endpoint = failover.pool
      .snapshot()
      .endpoints.find((e) => e.address === replicas[0]!.address);
    expect(endpoint?.faults.at(-1)?.kind).toBe('timeout');
    await expect.poll(() => replicas[0]!.cancelled).toBe(1);
  });

  it('cuts an attempt still waiting for its connection at the attempt timeout (no connect timeout in grpc-js)', async () => {
    // Accepts TCP connections and never speaks HTTP/2: the channel stays CONNECTING.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const { client } = setUp({
        endpoints: [
          { address: `127.0.0.1:${port}`, priority: 0 },
          { address: replicas[0]!.address, priority: 1 },
        ],
        selector: 'priority-groups',
        detectors: [],
        idempotentMethods: [sayHelloPath],
        call: { attemptTimeoutMs: 200 },
      });
      const started = performance.now();
      const reply = await sayHello(client, { name: 'connect' }, { deadlineMs: 3000 });
      expect(reply.server).toBe('a');
      expect(performance.now() - started).toBeLessThan(800);
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('retries a non-idempotent call still waiting for its connection at the attempt timeout (never sent)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const { failover, client } = setUp({
        endpoints: [
          { address: `127.0.0.1:${port}`, priority: 0 },
          { address: replicas[0]!.address, priority: 1 },
        ],
        selector: 'priority-groups',
        detectors: [],
        call: { attemptTimeoutMs: 200 },
      });
      const result = await sayHello(client, { name: 'connect' }, { deadlineMs: 3000 }).catch(
        (e: ServiceError) => e,
      );
      expect(failuresOf(failover, `127.0.0.1:${port}`)).toBe(1);
      if (grpcJsBefore(13)) {
        // grpc-js before 1.13 calls a transport ready once TCP connects and writes the request
        // into the socket, so it may have been sent (a frozen server's kernel accepts too): the
        // non-idempotent call is not retried.
        expect((result as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
        expect(replicas[0]!.calls).toBe(0);
        return;
      }
      // Since 1.13 it waits for the server's HTTP/2 SETTINGS: nothing was sent.
      const reply = result as Awaited<ReturnType<typeof sayHello>>;
      expect(reply.server).toBe('a');
      expect(reply.previous_attempts).toBe('1');
      expect(replicas[0]!.calls).toBe(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('does not retry a non-idempotent call that reached a server which then hung past the attempt timeout', async () => {
    const { client } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      call: { attemptTimeoutMs: 200 },
    });
    await sayHello(client, { name: 'warm' }); // connected: the next request is sent at once
    replicas[0]!.mode = 'hang';
    const error = await sayHello(client, { name: 'hung' }, { deadlineMs: 2000 }).catch(
      (e: ServiceError) => e,
    );
    expect((error as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    expect(replicas[0]!.calls).toBe(2);
    expect(replicas[1]!.calls).toBe(0);
  });

  it('surfaces DEADLINE_EXCEEDED when the client deadline is shorter than every attempt', async () => {
    const { client } = setUp({
      endpoints: addresses(),
      idempotentMethods: [sayHelloPath],
      detectors: [],
    });
    for (const replica of replicas) replica.mode = 'hang';
    const started = performance.now();
    const error = await sayHello(client, { name: 'late' }, { deadlineMs: 150 }).catch(
      (e: ServiceError) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(600);
    // The server saw the attempt end (cancelled or its own deadline).
    await expect.poll(() => replicas.reduce((n, r) => n + r.cancelled, 0)).toBeGreaterThan(0);
  });

  it('cancels: the client sees CANCELLED and the server sees the attempt cancelled', async () => {
    const { failover, client } = setUp({ endpoints: [replicas[0]!.address], detectors: [] });
    replicas[0]!.mode = 'hang';
    let cancel: (() => void) | undefined;
    const pending = sayHello(client, { name: 'bye' }, {}, (call) => (cancel = () => call.cancel()));
    await expect.poll(() => replicas[0]!.calls).toBe(1);
    cancel!();
    const error = await pending.catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(status.CANCELLED);
    await expect.poll(() => replicas[0]!.cancelled).toBe(1);
    expect(failover.pool.snapshot().endpoints[0]!.inflight).toBe(0);
    expect(failuresOf(failover, replicas[0]!.address)).toBe(0);
  });

  it('sends the original metadata on every attempt, with grpc-previous-rpc-attempts on retries', async () => {
    const { client } = setUp({
      endpoints: replicas.map((r, i) => ({ address: r.address, priority: i })),
      selector: 'priority-groups',
      detectors: [],
      idempotentMethods: [sayHelloPath],
    });
    replicas[0]!.mode = 'unavailable';
    replicas[1]!.mode = 'unavailable';
    const metadata = new Metadata();
    metadata.set('x-echo', 'original');
    const reply = await sayHello(client, { name: 'm' }, { metadata });
    expect(reply.server).toBe('c');
    expect(reply.echo).toBe('original');
    expect(reply.previous_attempts).toBe('2');
    expect(replicas[0]!.metadata[0]!.get('x-echo')).toEqual(['original']);
    expect(replicas[0]!.metadata[0]!.get('grpc-previous-rpc-attempts')).toEqual([]);
    expect(replicas[1]!.metadata[0]!.get('grpc-previous-rpc-attempts')).toEqual(['1']);
    expect(replicas[1]!.metadata[0]!.get('x-echo')).toEqual(['original']);
    // The caller's is untouched: the first attempt is started with it (grpc-js copies it).
    expect(metadata.toJSON()).toEqual({ 'x-echo': ['original'] });
  });

  it('surfaces the last attempt status when every attempt fails', async () => {
    const { client } = setUp({
      endpoints: addresses(),
      idempotentMethods: [sayHelloPath],
      detectors: [],
    });
    for (const replica of replicas) replica.mode = 'unavailable';
    const error = await sayHello(client, { name: 'none' }).catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(status.UNAVAILABLE);
    expect((error as ServiceError).details).toMatch(/^[abc] is unavailable$/);
    expect(replicas.reduce((n, r) => n + r.calls, 0)).toBe(3); // maxAttempts 3, one per endpoint
  });
});

describe('createGrpcFailover: policies', () => {
  it('hedges a slow idempotent call to another endpoint when call.hedge is set', async () => {
    const { client } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      idempotentMethods: [sayHelloPath],
      call: { hedge: { delayMs: 50 } },
    });
    await sayHello(client, { name: 'warm' });
    replicas[0]!.mode = 'hang';
    const started = performance.now();
    const reply = await sayHello(client, { name: 'hedged' }, { deadlineMs: 2000 });
    expect(reply.server).toBe('b');
    expect(performance.now() - started).toBeLessThan(500);
    await expect.poll(() => replicas[0]!.cancelled).toBe(1); // the loser is cancelled
  });

  it('surfaces UNAVAILABLE when the pool has no endpoint', async () => {
    const { failover, client } = setUp({ endpoints: addresses() });
    failover.pool.update({ type: 'full', endpoints: [] });
    const error = await sayHello(client, { name: 'nobody' }).catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(status.UNAVAILABLE);
    expect((error as ServiceError).details).toMatch(/no-endpoint/);
  });

  it('stops retrying when the retry budget is spent, with the last attempt status', async () => {
    const { client } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      idempotentMethods: [sayHelloPath],
      budget: { kind: 'token-bucket', maxTokens: 1, tokenRatio: 0.1 },
    });
    replicas[0]!.mode = 'unavailable';
    const error = await sayHello(client, { name: 'broke' }).catch((e: ServiceError) => e);
    expect((error as ServiceError).code).toBe(status.UNAVAILABLE);
    expect((error as ServiceError).details).toBe('a is unavailable');
    expect(replicas[1]!.calls).toBe(0);
  });

  it('runs under client interceptors, which see one call whatever the attempts', async () => {
    const { failover } = setUp({
      endpoints: [
        { address: replicas[0]!.address, priority: 0 },
        { address: replicas[1]!.address, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      idempotentMethods: [sayHelloPath],
    });
    let intercepted = 0;
    const interceptor: grpc.Interceptor = (options, nextCall) => {
      intercepted++;
      return new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set('x-echo', 'intercepted');
          next(metadata, listener);
        },
      });
    };
    const Greeter = greeterClient();
    const client = new Greeter('detour:///x', grpc.credentials.createInsecure(), {
      ...failover.clientOptions(),
      interceptors: [interceptor],
    });
    clients.push(client);
    replicas[0]!.mode = 'unavailable';
    const reply = await sayHello(client, { name: 'i' });
    expect(reply.echo).toBe('intercepted');
    expect(reply.server).toBe('b');
    expect(intercepted).toBe(1);
  });

  it('propagates the deadline and cancellation of a parent server call', async () => {
    const { client } = setUp({ endpoints: [replicas[0]!.address], detectors: [] });
    replicas[0]!.mode = 'hang';
    // A front server whose handler calls the hanging replica through detour, as a child call.
    const front = new grpc.Server();
    let childError: ServiceError | undefined;
    front.addService(greeterClient().service, {
      SayHello(call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) {
        (
          client as unknown as {
            SayHello(r: object, m: Metadata, o: object, cb: (e: ServiceError | null) => void): void;
          }
        ).SayHello({ name: 'child' }, new Metadata(), { parent: call }, (error) => {
          childError = error ?? undefined;
          callback(error);
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      front.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    const Greeter = greeterClient();
    const outer = new Greeter(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const started = performance.now();
      const error = await sayHello(outer, { name: 'outer' }, { deadlineMs: 200 }).catch(
        (e: ServiceError) => e,
      );
      expect((error as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
      await expect.poll(() => childError?.code).toBeDefined();
      expect([status.DEADLINE_EXCEEDED, status.CANCELLED]).toContain(childError!.code);
      expect(performance.now() - started).toBeLessThan(1000);
      await expect.poll(() => replicas[0]!.cancelled).toBe(1);
    } finally {
      outer.close();
      front.forceShutdown();
    }
  });

  it('throws DetourConfigError for bad pool options', () => {
    expect(() => createGrpcFailover({ endpoints: [] })).toThrow(/endpoints/);
  });
});

describe('GrpcFailover.close', () => {
  it('closes every channel and the pool and leaves no handle behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length;
    const { failover, client } = setUp({ endpoints: addresses(), selector: 'round-robin' });
    for (let i = 0; i < 6; i++) await sayHello(client, { name: 'c' });
    expect(process.getActiveResourcesInfo().length).toBeGreaterThan(before);
    failover.close();
    expect(failover.pool.closed).toBe(true);
    expect(failover.channel.getConnectivityState(false)).toBe(grpc.connectivityState.SHUTDOWN);
    await expect(sayHello(client, { name: 'after' })).rejects.toThrow(/shut down/);
    await expect
      .poll(() => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length)
      .toBeLessThanOrEqual(before);
  });

  it('ends calls in flight with UNAVAILABLE', async () => {
    const { failover, client } = setUp({ endpoints: [replicas[0]!.address] });
    replicas[0]!.mode = 'hang';
    const pending = sayHello(client, { name: 'cut' }).catch((e: ServiceError) => e);
    await expect.poll(() => replicas[0]!.calls).toBe(1);
    failover.close();
    expect(((await pending) as ServiceError).code).toBe(status.UNAVAILABLE);
    await expect.poll(() => replicas[0]!.cancelled).toBe(1);
  });

  it('is what client.close() does, and does not close a pool it was given', async () => {
    const owner = createGrpcFailover({ endpoints: addresses(), metrics: false });
    failovers.push(owner);
    const failover = createGrpcFailover({ pool: owner.pool });
    failovers.push(failover);
    const Greeter = greeterClient();
    const client = new Greeter(
      'detour:///x',
      grpc.credentials.createInsecure(),
      failover.clientOptions(),
    );
    await sayHello(client, { name: 'p' });
    client.close();
    expect(failover.closed).toBe(true);
    expect(owner.pool.closed).toBe(false);
  });
});
