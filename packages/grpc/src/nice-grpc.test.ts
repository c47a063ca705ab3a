import * as grpc from '@grpc/grpc-js';
import * as other from '@grpc/grpc-js-oldest';
import { createPool, DetourConfigError } from '@detour/core';
import type { CallPolicy, Pool } from '@detour/core';
import {
  ClientError,
  createChannel,
  createClient,
  createClientFactory,
  Metadata,
  Status,
  waitForChannelReady,
} from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import type { DeadlineOptions } from 'nice-grpc-client-middleware-deadline';
import { retryMiddleware } from 'nice-grpc-client-middleware-retry';
import type { RetryOptions } from 'nice-grpc-client-middleware-retry';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotencyHintHeader } from './channel/call-hints.js';
import { createGrpcFailover } from './failover.js';
import type { GrpcFailover } from './failover.js';
import type { IdempotentMethods } from './failover-options.js';
import { detourNiceGrpc } from './nice-grpc.js';
import type { DetourNiceGrpc, DetourNiceGrpcCallOptions } from './nice-grpc.js';
import {
  NiceGreeterDefinition,
  niceGreeterGrpcJsService,
  refusedAddress,
  startNiceReplica,
} from './test-support/nice-greeter.js';
import type { HelloReply, NiceReplica } from './test-support/nice-greeter.js';

let replicas: NiceReplica[] = [];
let failovers: GrpcFailover[] = [];
let pools: Pool[] = [];

afterEach(async () => {
  for (const failover of failovers) failover.close();
  for (const pool of pools) pool.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  replicas = [];
  failovers = [];
  pools = [];
});

async function start(...names: string[]): Promise<NiceReplica[]> {
  const started = await Promise.all(names.map((name) => startNiceReplica(name)));
  replicas.push(...started);
  return started;
}

interface SetUpOptions {
  readonly call?: CallPolicy;
  readonly idempotentMethods?: IdempotentMethods;
}

/** A failover on its own round-robin pool (no detectors: nothing is ejected mid-test). */
function setUp(
  endpoints: readonly string[],
  options: SetUpOptions = {},
): { failover: GrpcFailover; nice: DetourNiceGrpc } {
  const pool = createPool({
    endpoints,
    selector: 'round-robin',
    detectors: [],
    metrics: false,
    budget: false,
    ...(options.call === undefined ? {} : { call: options.call }),
  });
  pools.push(pool);
  const failover = createGrpcFailover({
    pool,
    ...(options.idempotentMethods === undefined
      ? {}
      : { idempotentMethods: options.idempotentMethods }),
  });
  failovers.push(failover);
  return { failover, nice: detourNiceGrpc(failover) };
}

function greeter(nice: DetourNiceGrpc) {
  return createClientFactory().use(nice.middleware).create(NiceGreeterDefinition, nice.channel);
}

/** The settled outcome of a call: its reply, or the error it threw. */
async function outcome<T>(promise: Promise<T>): Promise<T | Error> {
  try {
    return await promise;
  } catch (error) {
    return error as Error;
  }
}

function sum(...values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function callsOf(method: string, ...of: NiceReplica[]): number {
  return sum(...of.map((replica) => replica.calls.get(method) ?? 0));
}

describe('detourNiceGrpc: nice-grpc clients on the failover channel', () => {
  it('serves createClient() with a typed channel; calls succeed and spread across endpoints', async () => {
    const [a, b, c] = await start('a', 'b', 'c');
    const { nice } = setUp([a!.address, b!.address, c!.address]);
    // No middleware, no cast: the channel is typed as grpc-js's Channel class.
    const client = createClient(NiceGreeterDefinition, nice.channel);
    const servers = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const reply = await client.sayHello({ name: `n${i}` });
      expect(reply.message).toBe(`SayHello n${i}`);
      servers.add(reply.server);
    }
    expect([...servers].sort()).toEqual(['a', 'b', 'c']);
    expect([a!.total, b!.total, c!.total]).toEqual([3, 3, 3]);
  });

  it('works through the middleware for unary, server-streaming and bidi calls', async () => {
    const [a, b] = await start('a', 'b');
    const { nice } = setUp([a!.address, b!.address]);
    const client = greeter(nice);
    expect((await client.createGreeting({ name: 'x' })).message).toBe('CreateGreeting x');
    const streamed: string[] = [];
    for await (const reply of client.listGreetings({ name: 'y' })) streamed.push(reply.message);
    expect(streamed).toEqual(['y #0', 'y #1', 'y #2']);
    async function* requests() {
      yield { name: 'p' };
      await new Promise((resolve) => setTimeout(resolve, 10)); // the stream stays open a while
      yield { name: 'q' };
    }
    const chatted: string[] = [];
    for await (const reply of client.chat(requests())) chatted.push(reply.message);
    expect(chatted).toEqual(['Chat p', 'Chat q']);
  });

  it('a unary attempt carries the call’s deadline to the server and is cancelled at its attempt timeout', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'hang';
    const { nice } = setUp([a!.address, b!.address], {
      call: { attemptTimeoutMs: 200, deadlineMs: 5000 },
    });
    const before = Date.now();
    const cancelled = a!.nextCancel();
    // Round-robin: a is tried first by one of two calls at least (retries take turns too).
    for (const name of ['x', 'y'])
      expect((await greeter(nice).sayHello({ name })).server).toBe('b');
    expect(a!.total).toBeGreaterThan(0);
    await cancelled; // a's attempt, cut by detour's timer
    const tookMs = Date.now() - before;
    expect(tookMs).toBeLessThan(4000);
    // Both attempts were sent the call's deadline, as gRPC's own retries do, not the attempt's.
    expect(a!.deadlines[0]).toBeGreaterThan(before + 4000);
    expect(b!.deadlines[0]).toBeGreaterThan(before + 4000);
    expect(b!.deadlines[0]).toBeLessThanOrEqual(before + tookMs + 5000);
  });

  it('works with waitForChannelReady and closes the failover with channel.close()', async () => {
    const [a] = await start('a');
    const { failover, nice } = setUp([a!.address]);
    await waitForChannelReady(nice.channel, new Date(Date.now() + 1000));
    nice.channel.close();
    expect(failover.closed).toBe(true);
  });

  it('rejects something that is not a failover', () => {
    expect(() => detourNiceGrpc({} as GrpcFailover)).toThrow(DetourConfigError);
    expect(() => detourNiceGrpc(null as unknown as GrpcFailover)).toThrow(/createGrpcFailover/);
    // A nice-grpc channel of its own is not a detour channel.
    const channel = createChannel('127.0.0.1:1');
    expect(() => detourNiceGrpc({ channel } as unknown as GrpcFailover)).toThrow(DetourConfigError);
    channel.close();
  });
});

describe('detourNiceGrpc: idempotency', () => {
  it('fails an IDEMPOTENT method over from a server answering UNAVAILABLE', async () => {
    const [a, b, c] = await start('a', 'b', 'c');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address, c!.address]);
    const client = greeter(nice);
    const replies: HelloReply[] = [];
    for (let i = 0; i < 6; i++) replies.push(await client.sayHello({ name: `n${i}` }));
    expect(replies.every((r) => r.server !== 'a')).toBe(true);
    expect(a!.calls.get('SayHello')).toBeGreaterThan(0);
    // Each call that met a went on with one more attempt.
    expect(replies.filter((r) => r.previousAttempts === '1')).toHaveLength(a!.total);
  });

  it('fails a NO_SIDE_EFFECTS method over too', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address]);
    const client = greeter(nice);
    for (let i = 0; i < 4; i++) expect((await client.getGreeting({ name: 'x' })).server).toBe('b');
    expect(a!.total).toBeGreaterThan(0);
  });

  it('does not retry a method without idempotencyLevel once a server processed it', async () => {
    const [a, b, c] = await start('a', 'b', 'c');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address, c!.address]);
    const client = greeter(nice);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await outcome(client.createGreeting({ name: 'x' })));
    const failures = results.filter((r) => r instanceof ClientError);
    expect(failures.length).toBe(2);
    for (const failure of failures) {
      expect(failure).toMatchObject({ code: Status.UNAVAILABLE, details: 'a is unavailable' });
    }
    // One attempt per call: the server counters add up to the calls made.
    expect(callsOf('CreateGreeting', a!, b!, c!)).toBe(6);
    expect(a!.total).toBe(2);
  });

  it('retries a method without idempotencyLevel whose connection was refused', async () => {
    const dead = await refusedAddress();
    const [b] = await start('b');
    const { nice } = setUp([dead, b!.address]);
    const client = greeter(nice);
    const replies: HelloReply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await client.createGreeting({ name: `n${i}` }));
    expect(replies.every((r) => r.server === 'b')).toBe(true);
    expect(b!.calls.get('CreateGreeting')).toBe(4);
    expect(replies.some((r) => r.previousAttempts === '1')).toBe(true);
  });

  it('takes detourIdempotent per call over the definition, both ways', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address]);
    const client = greeter(nice);
    for (let i = 0; i < 4; i++) {
      const reply = await client.createGreeting({ name: 'x' }, { detourIdempotent: true });
      expect(reply.server).toBe('b');
    }
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(await outcome(client.sayHello({ name: 'x' }, { detourIdempotent: false })));
    }
    expect(results.filter((r) => r instanceof ClientError)).toHaveLength(2);
    expect(callsOf('SayHello', a!, b!)).toBe(4);
  });

  it('makes a server stream idempotent per call: it fails over before its first message', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address]);
    const client = greeter(nice);
    for (let i = 0; i < 2; i++) {
      const servers: string[] = [];
      for await (const reply of client.listGreetings({ name: 'x' }, { detourIdempotent: true })) {
        servers.push(reply.server);
      }
      expect(servers).toEqual(['b', 'b', 'b']);
    }
    expect(a!.calls.get('ListGreetings')).toBeGreaterThan(0);
  });

  it('never sends its header to a server, and ignores one it did not make', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const { nice } = setUp([a!.address, b!.address]);
    const client = greeter(nice);
    // As a gateway that copies its incoming metadata would send it: ignored, and removed.
    const forged = Metadata({ [idempotencyHintHeader]: 'yes;forged', 'x-keep': 'kept' });
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(await outcome(client.createGreeting({ name: 'x' }, { metadata: forged })));
    }
    expect(results.filter((r) => r instanceof ClientError)).toHaveLength(2);
    await client.sayHello({ name: 'x' }, { metadata: Metadata({ 'x-keep': 'kept' }) });
    expect(forged.get(idempotencyHintHeader)).toBe('yes;forged'); // the caller's own is untouched
    for (const metadata of [...a!.metadata, ...b!.metadata]) {
      expect(metadata.get(idempotencyHintHeader)).toEqual([]);
      expect(metadata.get('x-keep')).toEqual(['kept']);
    }
  });

  it('leaves grpc-js definitions (no method options) to idempotentMethods', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const sayHelloPath = '/detour.test.NiceGreeter/SayHello';
    const { nice } = setUp([a!.address, b!.address], { idempotentMethods: [sayHelloPath] });
    const client = createClientFactory()
      .use(nice.middleware)
      .create(niceGreeterGrpcJsService, nice.channel);
    for (let i = 0; i < 4; i++) {
      const reply = await client.SayHello({ name: 'x' });
      expect(reply.server).toBe('b');
    }
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome(client.CreateGreeting({ name: 'x' })));
    expect(results.filter((r) => r instanceof ClientError)).toHaveLength(2);
  });

  it('passes the next middleware the options without detourIdempotent, and leaves the caller’s alone', async () => {
    const [a] = await start('a');
    const { nice } = setUp([a!.address]);
    const seen: Record<PropertyKey, unknown>[] = [];
    // The middleware used first is the inner one: the recorder sees what detour's passes on.
    const client = createClientFactory()
      .use(async function* recorder(call, options) {
        seen.push(options);
        return yield* call.next(call.request, options);
      })
      .use(nice.middleware)
      .create(NiceGreeterDefinition, nice.channel);
    const tag = Symbol('tag');
    const signal = new AbortController().signal;
    const metadata = Metadata({ 'x-keep': 'kept' });
    const given = { detourIdempotent: true, metadata, signal, [tag]: 'kept' };
    await client.createGreeting({ name: 'x' }, given);
    const plainOptions = { signal, [tag]: 'kept' };
    await client.createGreeting({ name: 'x' }, plainOptions);
    await client.sayHello({ name: 'x' }, { detourIdempotent: false, signal });
    const [hinted, plain, hintedOff] = seen;
    expect(Object.hasOwn(hinted!, 'detourIdempotent')).toBe(false);
    expect(hinted!['signal']).toBe(signal);
    expect(hinted![tag]).toBe('kept');
    const passed = hinted!['metadata'] as typeof metadata;
    expect(passed.get('x-keep')).toBe('kept');
    expect(passed.get(idempotencyHintHeader)).toBeDefined();
    expect(plain).toEqual({ signal, [tag]: 'kept' });
    expect(plain![tag]).toBe('kept');
    expect(Object.hasOwn(hintedOff!, 'detourIdempotent')).toBe(false);
    expect((hintedOff!['metadata'] as typeof metadata).get(idempotencyHintHeader)).toBeDefined();
    // The caller's options and metadata are as they were.
    expect(given.detourIdempotent).toBe(true);
    expect(given.metadata).toBe(metadata);
    expect(metadata.get(idempotencyHintHeader)).toBeUndefined();
    expect(a!.total).toBe(3);
  });

  it('rejects a detourIdempotent that is not a boolean', async () => {
    const [a] = await start('a');
    const { nice } = setUp([a!.address]);
    const client = greeter(nice);
    const options = { detourIdempotent: 'yes' } as unknown as DetourNiceGrpcCallOptions;
    await expect(client.sayHello({ name: 'x' }, options)).rejects.toThrow(DetourConfigError);
    expect(a!.total).toBe(0);
  });
});

describe('the channel hints behind the middleware', () => {
  it('lets a grpc-js client set the idempotency header itself (idempotencyHint)', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = 'unavailable';
    const { failover } = setUp([a!.address, b!.address]);
    const Client = grpc.makeGenericClientConstructor(niceGreeterGrpcJsService, 'NiceGreeter');
    const client = new Client('detour:///x', grpc.credentials.createInsecure(), {
      ...failover.clientOptions(),
    });
    const call = (metadata: grpc.Metadata) =>
      new Promise<HelloReply>((resolve, reject) => {
        const method = client.CreateGreeting as (
          request: object,
          metadata: grpc.Metadata,
          callback: (error: Error | null, reply?: HelloReply) => void,
        ) => void;
        method.call(client, { name: 'x' }, metadata, (error, reply) =>
          error ? reject(error) : resolve(reply!),
        );
      });
    for (let i = 0; i < 4; i++) {
      const metadata = new grpc.Metadata();
      metadata.set(idempotencyHintHeader, failover.channel.idempotencyHint(true));
      expect((await call(metadata)).server).toBe('b');
    }
    for (const metadata of [...a!.metadata, ...b!.metadata]) {
      expect(metadata.get(idempotencyHintHeader)).toEqual([]);
    }
    client.close();
  });

  it("gives a client of another @grpc/grpc-js copy statuses with that copy's Metadata", async () => {
    // nice-grpc turns a failed call into a ClientError only if `status.metadata instanceof` its
    // own copy's Metadata; its copy need not be the one detour's channel uses.
    const [a] = await start('a');
    a!.mode = 'unavailable';
    const { failover } = setUp([a!.address]);
    const Client = other.makeGenericClientConstructor(niceGreeterGrpcJsService, 'NiceGreeter');
    const client = new Client('detour:///x', other.credentials.createInsecure(), {
      channelOverride: failover.channel,
    });
    const error = await new Promise<other.ServiceError>((resolve) => {
      const method = client.CreateGreeting as (
        request: object,
        metadata: other.Metadata,
        callback: (error: other.ServiceError | null) => void,
      ) => void;
      method.call(client, { name: 'x' }, new other.Metadata(), (e) => resolve(e!));
    });
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.metadata).toBeInstanceOf(other.Metadata);
    client.close();
  });

  it('describeMethod() rejects a malformed description', () => {
    const { failover } = setUp(['127.0.0.1:1']);
    expect(() =>
      failover.channel.describeMethod({ path: '/a.B/C', requestStream: 'no' } as never),
    ).toThrow(TypeError);
  });
});

describe('detourNiceGrpc with nice-grpc-client-middleware-retry', () => {
  for (const order of ['detour first', 'detour last'] as const) {
    describe(order, () => {
      function client(nice: DetourNiceGrpc) {
        const factory =
          order === 'detour first'
            ? createClientFactory().use(nice.middleware).use(retryMiddleware)
            : createClientFactory().use(retryMiddleware).use(nice.middleware);
        return factory.create(NiceGreeterDefinition, nice.channel);
      }

      it('still fails over within one call; the middleware has nothing to retry', async () => {
        const [a, b] = await start('a', 'b');
        a!.mode = 'unavailable';
        const { nice } = setUp([a!.address, b!.address]);
        let retries = 0;
        const options: RetryOptions = { retryBaseDelayMs: 10, onRetryableError: () => retries++ };
        for (let i = 0; i < 4; i++) {
          expect((await client(nice).sayHello({ name: 'x' }, options)).server).toBe('b');
        }
        expect(retries).toBe(0);
      });

      it('multiplies attempts: each retried call is a new detour call with its own attempts', async () => {
        const [a, b] = await start('a', 'b');
        a!.mode = b!.mode = 'unavailable';
        const { nice } = setUp([a!.address, b!.address], { call: { maxAttempts: 2 } });
        const options: RetryOptions = { retryBaseDelayMs: 10, retryMaxAttempts: 2 };
        const error = await outcome(client(nice).sayHello({ name: 'x' }, options));
        expect(error).toBeInstanceOf(ClientError);
        expect((error as ClientError).code).toBe(Status.UNAVAILABLE);
        expect(a!.total + b!.total).toBe(3 * 2); // 3 calls of the middleware × 2 attempts
      });

      it("with detour's retries off (call: { maxAttempts: 1 }), the middleware's are the only ones", async () => {
        const [a, b] = await start('a', 'b');
        a!.mode = b!.mode = 'unavailable';
        const { nice } = setUp([a!.address, b!.address], { call: { maxAttempts: 1 } });
        const options: RetryOptions = { retryBaseDelayMs: 10, retryMaxAttempts: 2 };
        const error = await outcome(client(nice).sayHello({ name: 'x' }, options));
        expect((error as ClientError).code).toBe(Status.UNAVAILABLE);
        expect(a!.total + b!.total).toBe(3);
        // Round robin: each call of the middleware went to the next endpoint.
        expect([a!.total, b!.total].sort()).toEqual([1, 2]);
      });

      it('keeps detourIdempotent and leaves non-idempotent calls unretried', async () => {
        const [a, b] = await start('a', 'b');
        a!.mode = 'unavailable';
        const { nice } = setUp([a!.address, b!.address]);
        const options: RetryOptions = { retryBaseDelayMs: 10 };
        const results = [];
        for (let i = 0; i < 4; i++) {
          results.push(await outcome(client(nice).createGreeting({ name: 'x' }, options)));
        }
        expect(results.filter((r) => r instanceof ClientError)).toHaveLength(2);
        expect(callsOf('CreateGreeting', a!, b!)).toBe(4);
        const reply = await client(nice).createGreeting(
          { name: 'x' },
          { ...options, detourIdempotent: true },
        );
        expect(reply.server).toBe('b');
      });
    });
  }
});

describe('detourNiceGrpc with nice-grpc-client-middleware-deadline', () => {
  for (const order of ['detour first', 'detour last'] as const) {
    describe(order, () => {
      function client(nice: DetourNiceGrpc) {
        const factory =
          order === 'detour first'
            ? createClientFactory().use(nice.middleware).use(deadlineMiddleware)
            : createClientFactory().use(deadlineMiddleware).use(nice.middleware);
        return factory.create(NiceGreeterDefinition, nice.channel);
      }

      it('still answers', async () => {
        const [a] = await start('a');
        const { nice } = setUp([a!.address]);
        expect((await client(nice).sayHello({ name: 'x' }, { deadline: 2000 })).server).toBe('a');
      });

      it('ends a call on a hanging server with DEADLINE_EXCEEDED at its deadline; the server sees the cancel', async () => {
        const [a] = await start('a');
        a!.mode = 'hang';
        const { nice } = setUp([a!.address]);
        const cancelled = a!.nextCancel();
        const started = Date.now();
        const error = await outcome(client(nice).sayHello({ name: 'x' }, { deadline: 300 }));
        const elapsed = Date.now() - started;
        expect(error).toBeInstanceOf(ClientError);
        expect((error as ClientError).code).toBe(Status.DEADLINE_EXCEEDED);
        expect(elapsed).toBeGreaterThanOrEqual(290);
        expect(elapsed).toBeLessThan(1000);
        await cancelled;
        expect(a!.cancelled).toBe(1);
      });

      it('cancels every attempt in flight (hedged) at the deadline', async () => {
        const [a, b, c] = await start('a', 'b', 'c');
        const { nice } = setUp([a!.address, b!.address, c!.address], {
          call: { maxAttempts: 3, hedge: { delayMs: 50, maxHedges: 2 } },
        });
        // Connect to all three first (round robin): an attempt still connecting at the deadline
        // never reaches its server, which then has no cancel to see. Not idempotent, so not
        // hedged: a slow warm-up call on a loaded machine would hedge and cancel its own.
        for (let i = 0; i < 3; i++) {
          await client(nice).sayHello({ name: 'warm' }, { detourIdempotent: false });
        }
        expect([a!.total, b!.total, c!.total]).toEqual([1, 1, 1]);
        for (const replica of [a!, b!, c!]) replica.mode = 'hang';
        const cancels = [a!, b!, c!].map((replica) => replica.nextCancel());
        const error = await outcome(client(nice).sayHello({ name: 'x' }, { deadline: 300 }));
        expect((error as ClientError).code).toBe(Status.DEADLINE_EXCEEDED);
        await Promise.all(cancels);
        expect([a!.total, b!.total, c!.total]).toEqual([2, 2, 2]);
        expect([a!.cancelled, b!.cancelled, c!.cancelled]).toEqual([1, 1, 1]);
      });
    });
  }
});

describe("detourNiceGrpc with the failover's own deadline", () => {
  it('ends a call at call.deadlineMs with DEADLINE_EXCEEDED, with no deadline middleware', async () => {
    const [a] = await start('a');
    a!.mode = 'hang';
    const { nice } = setUp([a!.address], { call: { deadlineMs: 300 } });
    const cancelled = a!.nextCancel();
    const started = Date.now();
    const error = await outcome(greeter(nice).sayHello({ name: 'x' }));
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(Status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1000);
    await cancelled;
  });
});

describe('detourNiceGrpc with both middlewares', () => {
  const orders = {
    'retry outside deadline': (nice: DetourNiceGrpc) =>
      createClientFactory()
        .use(nice.middleware)
        .use(deadlineMiddleware)
        .use(retryMiddleware)
        .create(NiceGreeterDefinition, nice.channel),
    'deadline outside retry': (nice: DetourNiceGrpc) =>
      createClientFactory()
        .use(nice.middleware)
        .use(retryMiddleware)
        .use(deadlineMiddleware)
        .create(NiceGreeterDefinition, nice.channel),
    'detour outermost': (nice: DetourNiceGrpc) =>
      createClientFactory()
        .use(retryMiddleware)
        .use(deadlineMiddleware)
        .use(nice.middleware)
        .create(NiceGreeterDefinition, nice.channel),
  };
  for (const [name, make] of Object.entries(orders)) {
    it(`${name}: fails over, and ends a hanging call at its deadline`, async () => {
      const [a, b] = await start('a', 'b');
      a!.mode = 'unavailable';
      const { nice } = setUp([a!.address, b!.address]);
      const client = make(nice);
      const options: RetryOptions & DeadlineOptions = { deadline: 2000, retryBaseDelayMs: 10 };
      for (let i = 0; i < 2; i++)
        expect((await client.sayHello({ name: 'x' }, options)).server).toBe('b');
      a!.mode = b!.mode = 'hang';
      const cancels = [a!.nextCancel(), b!.nextCancel()];
      const started = Date.now();
      const error = await outcome(client.sayHello({ name: 'x' }, { ...options, deadline: 300 }));
      expect((error as ClientError).code).toBe(Status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeLessThan(1000);
      await Promise.race(cancels);
    });
  }
});

describe('detourNiceGrpc: cancellation', () => {
  it('an aborted signal cancels every attempt in flight', async () => {
    const [a, b] = await start('a', 'b');
    a!.mode = b!.mode = 'hang';
    const { nice } = setUp([a!.address, b!.address], {
      call: { maxAttempts: 2, hedge: { delayMs: 30 } },
    });
    const client = greeter(nice);
    const controller = new AbortController();
    const cancels = [a!.nextCancel(), b!.nextCancel()];
    const call = outcome(client.sayHello({ name: 'x' }, { signal: controller.signal }));
    // Aborted once both attempts (the first, and the hedge after 30 ms) have reached a replica.
    while (a!.total + b!.total < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const error = await call;
    expect(error).toMatchObject({ name: 'AbortError' });
    await Promise.all(cancels);
    expect([a!.cancelled, b!.cancelled]).toEqual([1, 1]);
  });

  it('an aborted signal cancels attempts through the retry and deadline middlewares', async () => {
    const [a] = await start('a');
    a!.mode = 'hang';
    const { nice } = setUp([a!.address]);
    const client = createClientFactory()
      .use(nice.middleware)
      .use(retryMiddleware)
      .use(deadlineMiddleware)
      .create(NiceGreeterDefinition, nice.channel);
    const controller = new AbortController();
    const cancelled = a!.nextCancel();
    const call = outcome(
      client.sayHello({ name: 'x' }, { signal: controller.signal, deadline: 5000 }),
    );
    setTimeout(() => controller.abort(), 100);
    expect(await call).toMatchObject({ name: 'AbortError' });
    await cancelled;
    expect(a!.total).toBe(1);
  });
});
