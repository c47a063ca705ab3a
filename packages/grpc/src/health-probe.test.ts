import type { Endpoint, Pool, PoolEvents, ProbeResult } from '@detour/core';
import { createPool, DetourConfigError, heartbeat, isDetourError } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { credentials } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GrpcHealthProbe, GrpcHealthProbeOptions } from './health-probe.js';
import { grpcHealthProbe } from './health-probe.js';
import { configError } from './test-support/config-error.js';
import { deadAddress, startGrpcServer } from './test-support/grpc-server.js';
import type { HealthServer, HealthServerOptions } from './test-support/health-server.js';
import { startHealthServer } from './test-support/health-server.js';
import { openResources, waitForResources } from './test-support/open-handles.js';

function endpoint(address: string, id = address): Endpoint {
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

/** Polls `condition` in real time (these tests run against real servers) until it holds. */
async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

// No test may leave a server, channel or stream open.
let baseline: string[] = [];
beforeAll(() => {
  baseline = openResources();
});
afterAll(() => waitForResources(baseline));

async function healthServer(options?: HealthServerOptions): Promise<HealthServer> {
  const server = await startHealthServer(options);
  cleanup.push(() => server.server.forceShutdown());
  return server;
}

function healthProbe(options?: GrpcHealthProbeOptions): GrpcHealthProbe {
  const health = grpcHealthProbe(options);
  cleanup.push(() => health.close());
  return health;
}

function probeOnce(
  health: GrpcHealthProbe,
  target: Endpoint,
  timeoutMs = 2000,
): Promise<ProbeResult> {
  return health.probe(target, AbortSignal.timeout(timeoutMs)) as Promise<ProbeResult>;
}

/** Probes until an answer comes from the Watch (latency 0, no Check sent). */
async function untilAnsweredByWatch(
  health: GrpcHealthProbe,
  target: Endpoint,
): Promise<ProbeResult> {
  let result!: ProbeResult;
  await waitFor(async () => {
    result = await probeOnce(health, target);
    return result.latencyMs === 0;
  });
  return result;
}

describe('grpcHealthProbe', () => {
  it('SERVING is healthy: a Check first, then answers from the Watch without requests', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const target = endpoint(server.address);
    expect(await probeOnce(health, target)).toMatchObject({ healthy: true });
    expect(server.watches()).toBe(1);
    await untilAnsweredByWatch(health, target);
    const checks = server.checks();
    for (let i = 0; i < 5; i++) {
      expect(await probeOnce(health, target)).toEqual({ healthy: true, latencyMs: 0 });
    }
    expect(server.checks()).toBe(checks);
    expect(server.watches()).toBe(1);
  });

  it('NOT_SERVING reaches the probe through the Watch at once, and SERVING again', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const target = endpoint(server.address);
    await untilAnsweredByWatch(health, target);
    const checks = server.checks();

    server.health.setStatus('', 'NOT_SERVING');
    const started = Date.now();
    await waitFor(async () => !(await probeOnce(health, target)).healthy, 1000);
    expect(Date.now() - started).toBeLessThan(500);
    expect(await probeOnce(health, target)).toEqual({
      healthy: false,
      latencyMs: 0,
      code: 'NOT_SERVING',
      message: 'The server is NOT_SERVING',
    });

    server.health.setStatus('', 'SERVING');
    await waitFor(async () => (await probeOnce(health, target)).healthy, 1000);
    expect(server.checks()).toBe(checks);
  });

  it.each([true, false])('the service name matters (useWatch %s)', async (useWatch) => {
    const server = await healthServer({
      statuses: { '': 'SERVING', 'svc.A': 'SERVING', 'svc.B': 'NOT_SERVING' },
    });
    const target = endpoint(server.address);
    const a = healthProbe({ service: 'svc.A', useWatch });
    const b = healthProbe({ service: 'svc.B', useWatch });
    const c = healthProbe({ service: 'svc.C', useWatch });
    for (let round = 0; round < 2; round++) {
      // Round 0 is answered by Check; with useWatch, round 1 by the Watch.
      if (round === 1 && useWatch) {
        await untilAnsweredByWatch(a, target);
        await untilAnsweredByWatch(b, target);
        await untilAnsweredByWatch(c, target);
      }
      expect(await probeOnce(a, target)).toMatchObject({ healthy: true });
      expect(await probeOnce(b, target)).toMatchObject({
        healthy: false,
        code: 'NOT_SERVING',
        message: 'Service "svc.B" is NOT_SERVING',
      });
      expect(await probeOnce(c, target)).toMatchObject({ healthy: false, code: 'SERVICE_UNKNOWN' });
    }
  });

  it('encodes long service names (multi-byte length)', async () => {
    const name = `svc.${'x'.repeat(300)}`;
    const server = await healthServer({ statuses: { [name]: 'NOT_SERVING' } });
    const health = healthProbe({ service: name, useWatch: false });
    expect(await probeOnce(health, endpoint(server.address))).toMatchObject({
      healthy: false,
      code: 'NOT_SERVING',
    });
  });

  it('useWatch false polls with Check on every probe', async () => {
    const server = await healthServer();
    const health = healthProbe({ useWatch: false });
    const target = endpoint(server.address);
    for (let i = 0; i < 3; i++) {
      const result = await probeOnce(health, target);
      expect(result.healthy).toBe(true);
      expect(result.latencyMs).toBeGreaterThan(0);
    }
    server.health.setStatus('', 'NOT_SERVING');
    expect(await probeOnce(health, target)).toMatchObject({ healthy: false, code: 'NOT_SERVING' });
    expect(server.checks()).toBe(4);
    expect(server.watches()).toBe(0);
  });

  it('a server without the health service is healthy (UNIMPLEMENTED, gRFC A17)', async () => {
    const server = await startGrpcServer(() => {});
    cleanup.push(() => server.server.forceShutdown());
    const health = healthProbe();
    for (let i = 0; i < 3; i++) {
      expect(await probeOnce(health, endpoint(server.address))).toMatchObject({
        healthy: true,
        code: 'UNIMPLEMENTED',
      });
    }
  });

  it('a Watch answered with UNIMPLEMENTED falls back to Check for good', async () => {
    const server = await healthServer({ withoutWatch: true });
    const health = healthProbe();
    const target = endpoint(server.address);
    expect(await probeOnce(health, target)).toMatchObject({ healthy: true });
    await waitFor(() => server.watches() === 1);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the UNIMPLEMENTED status arrives
    for (let i = 0; i < 3; i++) expect((await probeOnce(health, target)).healthy).toBe(true);
    server.health.setStatus('', 'NOT_SERVING');
    expect(await probeOnce(health, target)).toMatchObject({ healthy: false, code: 'NOT_SERVING' });
    expect(server.watches()).toBe(1);
    expect(server.checks()).toBe(5);
  });

  it('a port with nothing listening is unhealthy (UNAVAILABLE)', async () => {
    const health = healthProbe();
    const result = await probeOnce(health, endpoint(await deadAddress()));
    expect(result).toMatchObject({ healthy: false, code: 'UNAVAILABLE' });
    expect(result.message).toMatch(/ECONNREFUSED/);
  });

  it('a server that goes away under an open Watch becomes unhealthy', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const target = endpoint(server.address);
    await untilAnsweredByWatch(health, target);
    server.server.forceShutdown();
    await waitFor(async () => !(await probeOnce(health, target)).healthy, 2000);
    expect(await probeOnce(health, target)).toMatchObject({ healthy: false, code: 'UNAVAILABLE' });
  });

  it('a Watch status older than watchMaxAgeMs is confirmed by a Check', async () => {
    const clock = new ManualClock(1000);
    const server = await healthServer();
    const health = healthProbe({ clock, watchMaxAgeMs: 5000 });
    const target = endpoint(server.address);
    await untilAnsweredByWatch(health, target);
    const checks = server.checks();

    clock.advance(5000); // exactly the limit: still answered by the Watch
    expect((await probeOnce(health, target)).latencyMs).toBe(0);
    expect(server.checks()).toBe(checks);

    clock.advance(1);
    expect(await probeOnce(health, target)).toMatchObject({ healthy: true });
    expect(server.checks()).toBe(checks + 1);
    // The Check confirmed the Watch: the next probes are answered by it again.
    expect(await probeOnce(health, target)).toEqual({ healthy: true, latencyMs: 0 });
    clock.advance(4000);
    expect((await probeOnce(health, target)).latencyMs).toBe(0);
    expect(server.checks()).toBe(checks + 1);
    expect(server.watches()).toBe(1);
  });

  it('a suspect endpoint (a call to it timed out) gets a Check, not the Watch’s answer', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const target = endpoint(server.address);
    await untilAnsweredByWatch(health, target);
    const checks = server.checks();
    const suspect = (await health.probe(target, AbortSignal.timeout(2000), {
      suspect: true,
    })) as ProbeResult;
    expect(suspect).toMatchObject({ healthy: true });
    expect(server.checks()).toBe(checks + 1);
    // Not suspect: answered by the Watch again.
    expect(await health.probe(target, AbortSignal.timeout(2000), { suspect: false })).toEqual({
      healthy: true,
      latencyMs: 0,
    });
    expect(server.checks()).toBe(checks + 1);
  });

  it('rejects with the signal’s reason when it aborts, and drops the Watch', async () => {
    const server = await healthServer({ hangChecks: true });
    const health = healthProbe({ watchMaxAgeMs: 0 });
    const target = endpoint(server.address);
    const started = Date.now();
    const signal = AbortSignal.timeout(100);
    const error = await health.probe(target, signal).catch((reason: unknown) => reason);
    expect(error).toBe(signal.reason);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.watches()).toBe(1);
    // The unanswered Check made the Watch suspect: the next probe opens a new one.
    await expect(health.probe(target, AbortSignal.timeout(100))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await waitFor(() => server.watches() === 2);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(health.probe(endpoint(server.address), controller.signal)).rejects.toThrow('gone');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.checks() + server.watches()).toBe(0);
  });

  it('forget() closes one endpoint’s channel and Watch; the next probe starts afresh', async () => {
    const server = await healthServer();
    const health = healthProbe();
    const target = endpoint(server.address, 'a');
    await untilAnsweredByWatch(health, target);
    health.forget('a');
    health.forget('unknown');
    expect(await probeOnce(health, target)).toMatchObject({ healthy: true });
    expect(server.watches()).toBe(2);
  });

  it('follows an endpoint whose address changed', async () => {
    const first = await healthServer();
    const second = await healthServer({ statuses: { '': 'NOT_SERVING' } });
    const health = healthProbe({ useWatch: false });
    expect((await probeOnce(health, endpoint(first.address, 'a'))).healthy).toBe(true);
    expect((await probeOnce(health, endpoint(second.address, 'a'))).healthy).toBe(false);
    expect(second.checks()).toBe(1);
  });

  it('close() ends probes in flight and refuses new ones', async () => {
    const server = await healthServer({ hangChecks: true });
    const health = healthProbe({ useWatch: false });
    const target = endpoint(server.address);
    const pending = health.probe(target, new AbortController().signal);
    await waitFor(() => server.checks() === 1);
    health.close();
    health.close();
    await expect(pending).rejects.toMatchObject({ code: 'DETOUR_PROBE_CLOSED' });
    const after = health.probe(target, new AbortController().signal);
    await expect(after).rejects.toSatisfy(isDetourError);
  });

  it('a channel grpc-js refuses to create rejects the probe instead of throwing', async () => {
    const health = healthProbe({ channelOptions: { 'grpc.service_config': 'not json' } });
    const result = health.probe(endpoint('127.0.0.1:1'), AbortSignal.timeout(1000));
    await expect(result).rejects.toThrow(/JSON/);
  });

  it('close() leaves no open handles', async () => {
    const servers = [await healthServer(), await healthServer({ withoutWatch: true })];
    const dead = await deadAddress();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = openResources();

    const health = grpcHealthProbe();
    const targets = [...servers.map((s) => endpoint(s.address)), endpoint(dead)];
    for (const target of targets) await probeOnce(health, target);
    await untilAnsweredByWatch(health, targets[0]!);
    expect(openResources().length).toBeGreaterThan(before.length);

    health.close();
    await waitForResources(before);
  });
});

describe('grpcHealthProbe options', () => {
  it('defaults apply with no options', () => {
    const health = grpcHealthProbe();
    expect(typeof health.probe).toBe('function');
    health.close();
  });

  it.each([
    [null, 'grpcHealthProbe'],
    ['svc', 'grpcHealthProbe'],
    [[], 'grpcHealthProbe'],
    [{ serviceName: 'x' }, 'grpcHealthProbe.serviceName'],
    [{ service: 1 }, 'grpcHealthProbe.service'],
    [{ credentials: {} }, 'grpcHealthProbe.credentials'],
    [{ credentials: 'insecure' }, 'grpcHealthProbe.credentials'],
    [{ channelOptions: 'x' }, 'grpcHealthProbe.channelOptions'],
    [{ channelOptions: [] }, 'grpcHealthProbe.channelOptions'],
    [{ useWatch: 'yes' }, 'grpcHealthProbe.useWatch'],
    [{ watchMaxAgeMs: -1 }, 'grpcHealthProbe.watchMaxAgeMs'],
    [{ watchMaxAgeMs: Infinity }, 'grpcHealthProbe.watchMaxAgeMs'],
    [{ watchMaxAgeMs: '5000' }, 'grpcHealthProbe.watchMaxAgeMs'],
    [{ clock: {} }, 'grpcHealthProbe.clock'],
    [{ clock: null }, 'grpcHealthProbe.clock'],
  ])('rejects %j at construction', (options, option) => {
    const error = configError(() => grpcHealthProbe(options as never));
    expect(error).toBeInstanceOf(DetourConfigError);
    expect(error.option).toBe(option);
  });

  it('accepts real credentials and channel options', () => {
    const health = grpcHealthProbe({
      credentials: credentials.createInsecure(),
      channelOptions: { 'grpc.keepalive_time_ms': 10_000 },
      watchMaxAgeMs: 0,
      service: '',
      useWatch: false,
    });
    health.close();
  });
});

describe('grpcHealthProbe with the heartbeat detector (real servers, real time)', () => {
  let pool: Pool | undefined;
  afterEach(() => {
    pool?.close();
    pool = undefined;
  });

  it('holds a NOT_SERVING or unreachable endpoint out and releases it once SERVING again', async () => {
    const a = await healthServer();
    const b = await healthServer();
    const dead = await deadAddress();
    const health = healthProbe();
    pool = createPool({
      endpoints: [
        { id: 'a', address: a.address },
        { id: 'b', address: b.address },
        { id: 'dead', address: dead },
      ],
      detectors: [heartbeat({ probe: health.probe, intervalMs: 100, timeoutMs: 200 })],
    });
    const p = pool;
    const ejections: PoolEvents['ejected'][] = [];
    p.on('ejected', (event) => ejections.push(event));

    await waitFor(() => p.get('dead')!.status === 'ejected', 5000);
    expect(p.get('a')!.status).toBe('healthy');

    a.health.setStatus('', 'NOT_SERVING');
    await waitFor(() => p.get('a')!.status === 'ejected', 5000);
    expect(p.get('b')!.status).toBe('healthy');
    expect(ejections.find((e) => e.endpoint.id === 'a')?.fault).toMatchObject({
      kind: 'probe-failed',
      code: 'NOT_SERVING',
    });
    expect(ejections.find((e) => e.endpoint.id === 'dead')?.fault).toMatchObject({
      code: 'UNAVAILABLE',
    });

    a.health.setStatus('', 'SERVING');
    await waitFor(() => p.get('a')!.status !== 'ejected', 5000);
    expect(['probing', 'healthy']).toContain(p.get('a')!.status);
    expect(p.get('dead')!.status).toBe('ejected');
    // Watch did the work: a handful of Checks, not one per 100 ms interval.
    expect(a.checks()).toBeLessThan(5);
  });
});
