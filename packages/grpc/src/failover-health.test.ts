/**
 * `createGrpcFailover()`'s `healthCheck`: the heartbeat on `grpc.health.v1` that the failover
 * adds to its own pool, against real in-process servers whose health service counts what it is
 * asked and which Watch streams the client cancels.
 */
import * as grpc from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { createPool } from '@detour/core';
import type { EndpointSnapshot, PoolEvents } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcFailover } from './failover.js';
import type { GrpcFailover } from './failover.js';
import type { GrpcFailoverOptions } from './failover-options.js';
import { sayHello } from './test-support/failover-client.js';
import { greeterClient, startGreeter } from './test-support/failover-greeter.js';
import type { GreeterReplica } from './test-support/failover-greeter.js';
import { makeTestPki } from './test-support/failover-tls.js';
import type { TestPki } from './test-support/failover-tls.js';
import { openResources, waitForResources } from './test-support/open-handles.js';

const sayHelloPath = '/helloworld.Greeter/SayHello';

type Status = 'SERVING' | 'NOT_SERVING';

/** A hand-written `grpc.health.v1.Health` for `''` that counts its calls. */
interface Health {
  status: Status;
  checks: number;
  watches: number;
  /** Watch streams the client cancelled. */
  cancelledWatches: number;
  /** Watch streams still open. */
  readonly open: Set<grpc.ServerWritableStream<unknown, unknown>>;
  set(status: Status): void;
}

function addHealth(server: grpc.Server): Health {
  const health: Health = {
    status: 'SERVING',
    checks: 0,
    watches: 0,
    cancelledWatches: 0,
    open: new Set(),
    set(status) {
      health.status = status;
      for (const call of health.open) call.write({ status });
    },
  };
  // Added after bind: grpc-js looks handlers up per call.
  server.addService(healthService, {
    check(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
      health.checks++;
      callback(null, { status: health.status });
    },
    watch(call: grpc.ServerWritableStream<unknown, unknown>) {
      health.watches++;
      health.open.add(call);
      call.on('cancelled', () => {
        if (health.open.delete(call)) health.cancelledWatches++;
      });
      call.write({ status: health.status });
    },
  });
  return health;
}

let replicas: GreeterReplica[] = [];
let health: Health[] = [];
let failovers: GrpcFailover[] = [];
let clients: Client[] = [];

// No test may leave a server, channel or stream open.
let baseline: string[] = [];
beforeAll(() => {
  baseline = openResources();
});
afterAll(() => waitForResources(baseline));

afterEach(async () => {
  for (const client of clients) client.close();
  for (const failover of failovers) failover.close();
  await Promise.all(replicas.map((replica) => replica.stop()));
  replicas = [];
  health = [];
  clients = [];
  failovers = [];
});

async function startReplicas(
  names: readonly string[] = ['a', 'b', 'c'],
  credentials?: grpc.ServerCredentials,
): Promise<void> {
  replicas = await Promise.all(names.map((name) => startGreeter(name, credentials)));
  health = replicas.map((replica) => addHealth(replica.server));
}

function setUp(options: Partial<GrpcFailoverOptions>): { failover: GrpcFailover; client: Client } {
  const failover = createGrpcFailover({
    endpoints: replicas.map((replica) => replica.address),
    metrics: false,
    ...options,
  });
  failovers.push(failover);
  const Greeter = greeterClient();
  const client = new Greeter('detour:///x', grpc.credentials.createInsecure(), {
    ...failover.clientOptions(),
  });
  clients.push(client);
  return { failover, client };
}

function endpointOf(failover: GrpcFailover, i: number): EndpointSnapshot {
  const address = replicas[i]!.address;
  return failover.pool.snapshot().endpoints.find((e) => e.address === address)!;
}

/** Records the pool's events of one kind. */
function record<E extends 'ejected' | 'probe-result'>(
  failover: GrpcFailover,
  event: E,
): PoolEvents[E][] {
  const seen: PoolEvents[E][] = [];
  failover.pool.on(event, (payload) => void seen.push(payload));
  return seen;
}

/** Real time passes: the servers are real. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const fast = { intervalMs: 50, timeoutMs: 200 } as const;

describe('createGrpcFailover: healthCheck', () => {
  it('is on by default: holds an endpoint that reports NOT_SERVING, releases it on SERVING', async () => {
    await startReplicas();
    const { failover, client } = setUp({ healthCheck: fast, idempotentMethods: [sayHelloPath] });
    const ejected = record(failover, 'ejected');
    // Every endpoint gets a Watch without any call being made.
    await expect.poll(() => health.map((h) => h.watches > 0)).toEqual([true, true, true]);

    health[1]!.set('NOT_SERVING');
    await expect.poll(() => endpointOf(failover, 1).heldBy).toEqual(['heartbeat']);
    expect(endpointOf(failover, 1).status).toBe('ejected');
    expect(ejected.map((e) => [e.endpoint.address, e.detector, e.fault.code])).toEqual([
      [replicas[1]!.address, 'heartbeat', 'NOT_SERVING'],
    ]);
    const before = replicas[1]!.calls;
    for (let i = 0; i < 12; i++)
      expect((await sayHello(client, { name: 'h' })).server).not.toBe('b');
    expect(replicas[1]!.calls).toBe(before);

    health[1]!.set('SERVING');
    await expect.poll(() => endpointOf(failover, 1).heldBy).toEqual([]);
    expect(endpointOf(failover, 1).status).not.toBe('ejected');
    await expect
      .poll(async () => {
        await sayHello(client, { name: 'back' });
        return replicas[1]!.calls;
      })
      .toBeGreaterThan(before);
  });

  it('comes after the default detectors, which still eject on failed calls', async () => {
    await startReplicas();
    const { failover, client } = setUp({
      healthCheck: fast,
      selector: 'round-robin',
      idempotentMethods: [sayHelloPath],
    });
    const ejected = record(failover, 'ejected');
    replicas[1]!.mode = 'unavailable'; // still SERVING to the health service
    for (let i = 0; i < 18; i++)
      expect((await sayHello(client, { name: 'p' })).server).not.toBe('b');
    expect(ejected.length).toBeGreaterThan(0);
    for (const e of ejected) {
      expect(['consecutive-failures', 'outlier-detection', 'latency-outlier']).toContain(
        e.detector,
      );
    }
    expect(endpointOf(failover, 1).heldBy).toEqual([]);
  });

  it('comes after the detectors given: with detectors [] only the heartbeat ejects', async () => {
    await startReplicas();
    const { failover, client } = setUp({
      healthCheck: fast,
      detectors: [],
      selector: 'round-robin',
      idempotentMethods: [sayHelloPath],
    });
    const ejected = record(failover, 'ejected');
    replicas[1]!.mode = 'unavailable';
    for (let i = 0; i < 18; i++) await sayHello(client, { name: 'q' });
    expect(ejected).toEqual([]);
    health[1]!.set('NOT_SERVING');
    await expect.poll(() => ejected.map((e) => e.detector)).toEqual(['heartbeat']);
  });

  it('asks about the configured service', async () => {
    await startReplicas(['a']);
    const asked: string[] = [];
    // A second Health registration is not possible; read the requests from a wrapping server.
    const server = new grpc.Server();
    server.addService(healthService, {
      check(
        call: grpc.ServerUnaryCall<{ service: string }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) {
        asked.push(call.request.service);
        callback(null, { status: 'SERVING' });
      },
      watch(call: grpc.ServerWritableStream<{ service: string }, unknown>) {
        asked.push(call.request.service);
        call.write({ status: 'SERVING' });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    try {
      const { failover } = setUp({
        endpoints: [`127.0.0.1:${port}`],
        healthCheck: { ...fast, service: 'helloworld.Greeter' },
      });
      const results = record(failover, 'probe-result');
      await expect.poll(() => results.length).toBeGreaterThanOrEqual(2);
      expect(new Set(asked)).toEqual(new Set(['helloworld.Greeter']));
      expect(results.every((r) => r.result.healthy && r.detector === 'heartbeat')).toBe(true);
      failover.close();
    } finally {
      server.forceShutdown();
    }
  });

  it('treats a server without the health service as healthy (UNIMPLEMENTED, gRFC A17)', async () => {
    replicas = [await startGreeter('bare')];
    const { failover, client } = setUp({ healthCheck: fast });
    const results = record(failover, 'probe-result');
    await expect.poll(() => results.length).toBeGreaterThanOrEqual(3);
    expect(results.every((r) => r.result.healthy && r.result.code === 'UNIMPLEMENTED')).toBe(true);
    expect(endpointOf(failover, 0).status).toBe('healthy');
    expect((await sayHello(client, { name: 'x' })).server).toBe('bare');
  });

  it('holds every endpoint for a service the servers do not know; the pool then panics', async () => {
    replicas = await Promise.all(['a', 'b'].map((n) => startGreeter(n)));
    for (const replica of replicas) {
      new HealthImplementation({ '': 'SERVING' }).addToServer(replica.server);
    }
    const { failover, client } = setUp({
      healthCheck: { ...fast, service: 'no.Such' },
      idempotentMethods: [sayHelloPath],
    });
    await expect
      .poll(() => failover.pool.snapshot().endpoints.map((e) => e.heldBy))
      .toEqual([['heartbeat'], ['heartbeat']]);
    expect(endpointOf(failover, 0).faults.at(-1)?.code).toBe('SERVICE_UNKNOWN');
    expect(failover.pool.panic).toBe(true);
    expect(['a', 'b']).toContain((await sayHello(client, { name: 'panic' })).server);
  });

  it('holds an endpoint whose port refuses connections, with the probe error', async () => {
    await startReplicas(['a', 'b']);
    const { failover } = setUp({ healthCheck: fast });
    await replicas[1]!.stop();
    await expect
      .poll(() => endpointOf(failover, 1).heldBy, { timeout: 3000 })
      .toEqual(['heartbeat']);
    expect(endpointOf(failover, 1).faults.at(-1)).toMatchObject({
      kind: 'probe-failed',
      code: 'UNAVAILABLE',
    });
    expect(endpointOf(failover, 0).heldBy).toEqual([]);
  });

  describe('probes over channels like the endpoint channels', () => {
    let pki: TestPki;
    beforeAll(() => {
      pki = makeTestPki();
    });

    async function startTls(): Promise<void> {
      await startReplicas(
        ['t'],
        grpc.ServerCredentials.createSsl(
          null,
          [{ cert_chain: pki.serverCert, private_key: pki.serverKey }],
          false,
        ),
      );
    }

    it('with the failover credentials (TLS)', async () => {
      await startTls();
      const { failover, client } = setUp({
        healthCheck: fast,
        credentials: grpc.credentials.createSsl(pki.caCert),
      });
      const results = record(failover, 'probe-result');
      await expect.poll(() => results.length).toBeGreaterThanOrEqual(3);
      expect(results.every((r) => r.result.healthy)).toBe(true);
      expect(health[0]!.watches).toBeGreaterThan(0);
      expect((await sayHello(client, { name: 'tls' })).server).toBe('t');
    });

    it('so a probe without them fails against a TLS server', async () => {
      await startTls();
      const { failover } = setUp({ healthCheck: fast }); // insecure
      const results = record(failover, 'probe-result');
      await expect.poll(() => results.length).toBeGreaterThanOrEqual(2);
      expect(results.every((r) => !r.result.healthy)).toBe(true);
      await expect.poll(() => endpointOf(failover, 0).heldBy).toEqual(['heartbeat']);
      expect(health[0]!.watches + health[0]!.checks).toBe(0);
    });

    it('with the failover channelOptions', async () => {
      await startReplicas(['o']);
      // A HealthCheckResponse (2 bytes) is over this limit: the option reached the probe.
      const { failover } = setUp({
        healthCheck: fast,
        channelOptions: { 'grpc.max_receive_message_length': 1 },
      });
      const results = record(failover, 'probe-result');
      await expect.poll(() => results.length).toBeGreaterThanOrEqual(2);
      expect(results.every((r) => r.result.code === 'RESOURCE_EXHAUSTED')).toBe(true);
    });
  });

  describe('is not added', () => {
    /** Lets the pool's timers run far past the first probe, then gives the network time. */
    async function runProbes(clock: ManualClock): Promise<void> {
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        await sleep(20);
      }
      await sleep(200);
    }

    it('with healthCheck: false (the same clock sends probes when on)', async () => {
      await startReplicas(['a', 'b']);
      const on = new ManualClock();
      setUp({ endpoints: [replicas[0]!.address], clock: on });
      const off = new ManualClock();
      setUp({ endpoints: [replicas[1]!.address], clock: off, healthCheck: false });
      await runProbes(on);
      await runProbes(off);
      expect(health[0]!.watches).toBeGreaterThan(0);
      expect(health[0]!.checks).toBeGreaterThan(0);
      expect(health[1]!.watches + health[1]!.checks).toBe(0);
    });

    it('to a pool given as pool (healthCheck: false is accepted with it)', async () => {
      await startReplicas(['a']);
      const clock = new ManualClock();
      const pool = createPool({ endpoints: [replicas[0]!.address], clock, metrics: false });
      try {
        const failover = createGrpcFailover({ pool });
        failovers.push(failover);
        failovers.push(createGrpcFailover({ pool, healthCheck: false }));
        await runProbes(clock);
        expect(health[0]!.watches + health[0]!.checks).toBe(0);
      } finally {
        pool.close();
      }
    });
  });

  describe('lifetime', () => {
    it('forgets an endpoint that leaves the pool: its Watch is cancelled', async () => {
      await startReplicas(['a', 'b']);
      const { failover } = setUp({ healthCheck: fast });
      await expect.poll(() => health.map((h) => h.open.size)).toEqual([1, 1]);
      failover.pool.update({ type: 'full', endpoints: [replicas[0]!.address] });
      await expect.poll(() => health[1]!.cancelledWatches).toBe(1);
      await sleep(200); // several intervals: b is not probed again
      expect(health[1]!.open.size).toBe(0);
      expect(health[1]!.watches).toBe(1);
      expect(health[0]!.open.size).toBe(1);
    });

    it('closes the probe with the failover: every Watch ends, no socket is left', async () => {
      const before = openResources();
      await startReplicas(['a', 'b']);
      const { failover } = setUp({ healthCheck: fast });
      await expect.poll(() => health.map((h) => h.open.size)).toEqual([1, 1]);
      failover.close();
      await expect.poll(() => health.map((h) => h.cancelledWatches)).toEqual([1, 1]);
      await Promise.all(replicas.map((replica) => replica.stop()));
      await waitForResources(before);
    });
  });
});
