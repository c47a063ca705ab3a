/**
 * `registerEndpoint()` against a real etcd (`test-support/etcd-server.ts`): the key and its
 * lease, close(), a registering process that is SIGKILLed, etcd down for longer than the TTL,
 * a short etcd restart, etcd down at start, options and clean-up.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DetourConfigError, constantBackoff } from '@detour/core';
import { DiscoveryError } from '../source.js';
import { startEtcdServer } from '../test-support/etcd-server.js';
import type { EtcdServer } from '../test-support/etcd-server.js';
import { openResources, waitForNoLeaks } from '../test-support/open-resources.js';
import { waitFor } from '../test-support/wait-for.js';
import { etcdSource } from './etcd-source.js';
import { registerEndpoint } from './register-endpoint.js';
import type {
  RegisterEndpointOptions,
  Registration,
  RegistrationEvents,
} from './register-endpoint.js';

let etcd: EtcdServer;
/** The test's own client, for reading keys. */
let reader: Etcd3;
let serviceCount = 0;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  etcd = await startEtcdServer();
  reader = new Etcd3({ hosts: etcd.url });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (!etcd.running) await etcd.start();
});

afterAll(async () => {
  reader?.close();
  await etcd?.dispose();
});

function newService(): string {
  return `reg${++serviceCount}`;
}

/** The key's value and lease as etcd has them now, or undefined without the key. */
async function stored(key: string): Promise<{ value: string; lease: string } | undefined> {
  const response = await reader.kv.range({ key: Buffer.from(key) });
  const kv = response.kvs[0];
  return kv && { value: kv.value.toString(), lease: kv.lease };
}

async function register(
  options: Partial<RegisterEndpointOptions> & { service: string; address: string },
): Promise<Registration> {
  const registration = await registerEndpoint({
    hosts: etcd.url,
    backoff: constantBackoff({ delayMs: 200 }),
    ...options,
  });
  cleanups.push(() => registration.close());
  return registration;
}

function record<K extends keyof RegistrationEvents>(
  registration: Registration,
  event: K,
): RegistrationEvents[K][] {
  const seen: RegistrationEvents[K][] = [];
  registration.on(event, (payload) => seen.push(payload));
  return seen;
}

describe('registerEndpoint', () => {
  it("writes gRPC-Go's value under a lease; close() removes the key at once", async () => {
    const service = newService();
    const registration = await register({ service, address: '10.0.0.1:50051' });
    expect(registration.key).toBe(`${service}/10.0.0.1:50051`);
    expect(registration.state).toBe('registered');
    expect(await stored(registration.key)).toEqual({
      value: '{"Addr":"10.0.0.1:50051","Metadata":null}',
      lease: registration.leaseId,
    });
    const ttl = await reader.leaseClient.leaseTimeToLive({ ID: registration.leaseId });
    expect(ttl.grantedTTL).toBe('10');

    const closing = registration.close();
    expect(registration.close()).toBe(closing);
    await closing;
    expect(registration.state).toBe('closed');
    expect(registration.leaseId).toBeUndefined();
    expect(await stored(registration.key)).toBeUndefined();
  });

  it('takes a key and metadata that an etcdSource reads back', async () => {
    const service = newService();
    const registration = await register({
      service,
      address: '10.0.0.2:50051',
      key: `${service}/replica-7`,
      metadata: { weight: 4, zone: 'eu-1a', version: '1.2.0' },
      ttlSeconds: 5,
    });
    expect((await stored(`${service}/replica-7`))?.value).toBe(
      '{"Addr":"10.0.0.2:50051","Metadata":{"weight":4,"zone":"eu-1a","version":"1.2.0"}}',
    );
    const source = etcdSource({ hosts: etcd.url, service, metrics: false });
    cleanups.push(() => source.close());
    source.subscribe({ next: () => undefined });
    expect(await source.ready()).toEqual([
      {
        id: '10.0.0.2:50051',
        address: '10.0.0.2:50051',
        weight: 4,
        zone: 'eu-1a',
        metadata: {
          etcdKey: registration.key,
          etcdMetadata: { weight: 4, zone: 'eu-1a', version: '1.2.0' },
        },
      },
    ]);
  });

  it('lets the key of a SIGKILLed replica process expire with its lease', async () => {
    const service = newService();
    const key = `${service}/127.0.0.1:7001`;
    const child = await spawnRegistrant({ service, address: '127.0.0.1:7001', ttlSeconds: 2 });
    expect(await stored(key)).toBeDefined();
    child.kill('SIGKILL');
    await waitFor('the key expired', async () => (await stored(key)) === undefined, 15_000);
  }, 30_000);

  it('re-registers under a new lease when etcd was down for longer than the TTL', async () => {
    const service = newService();
    const registration = await register({ service, address: 'h:1', ttlSeconds: 2 });
    const lost = record(registration, 'lost');
    const errors = record(registration, 'error');
    const registered = record(registration, 'registered');
    const firstLease = registration.leaseId!;

    await etcd.stop();
    await waitFor('lost', () => lost.length === 1, 10_000);
    expect(lost[0]).toMatchObject({ key: registration.key, leaseId: firstLease });
    expect(lost[0]!.error).toBeInstanceOf(DiscoveryError);
    expect(lost[0]!.error.message).toMatch(/lease \d+ lost: no keepalive answered/);
    expect(registration.state).toBe('lost');
    expect(registration.leaseId).toBeUndefined();
    await waitFor('failed tries', () =>
      errors.some((e) => /registering failed/.test(e.error.message)),
    );

    await etcd.start();
    // etcd3's circuit breaker keeps a failed host closed for 5 s: allow for it.
    await waitFor('registered again', () => registered.length === 1, 20_000);
    const secondLease = registration.leaseId!;
    expect(registered[0]).toEqual({ key: registration.key, leaseId: secondLease });
    expect(secondLease).not.toBe(firstLease);
    expect(registration.state).toBe('registered');
    expect((await stored(registration.key))?.lease).toBe(secondLease);
    // The lost lease (etcd revives leases when it restarts) is revoked, not left to expire.
    await waitFor('the lost lease revoked', async () => {
      const old = await reader.leaseClient.leaseTimeToLive({ ID: firstLease });
      return old.TTL === '-1';
    });
    await expectKeptAlive(secondLease);
    expect(lost).toHaveLength(1);
  }, 40_000);

  it('keeps its lease through an etcd restart shorter than the TTL', async () => {
    const service = newService();
    const registration = await register({ service, address: 'h:1', ttlSeconds: 5 });
    const lost = record(registration, 'lost');
    const leaseId = registration.leaseId!;
    await etcd.restart();
    await expectKeptAlive(leaseId);
    expect(lost).toEqual([]);
    expect(registration.leaseId).toBe(leaseId);
    expect((await stored(registration.key))?.lease).toBe(leaseId);
  }, 30_000);
});

/**
 * Waits until etcd shows the lease refreshed: its remaining TTL goes up, or it outlives its TTL
 * (etcd reports whole seconds, so a 2 s lease refreshed every 0.67 s may read 1 s throughout).
 */
async function expectKeptAlive(leaseId: string): Promise<void> {
  let lowest = Infinity;
  const started = Date.now();
  await waitFor(
    `lease ${leaseId} kept alive`,
    async () => {
      const { TTL, grantedTTL } = await reader.leaseClient.leaseTimeToLive({ ID: leaseId });
      const ttl = Number(TTL);
      if (ttl < 0) throw new Error(`lease ${leaseId} expired`);
      const refreshed = ttl > lowest || Date.now() - started > Number(grantedTTL) * 1_000 + 500;
      lowest = Math.min(lowest, ttl);
      return refreshed;
    },
    15_000,
  );
}

describe('registerEndpoint: etcd down at start', () => {
  it('rejects after startTimeoutMs, having released everything', async () => {
    await etcd.stop();
    const baseline = openResources();
    const registering = registerEndpoint({
      hosts: etcd.url,
      service: newService(),
      address: 'h:1',
      startTimeoutMs: 1_000,
      backoff: constantBackoff({ delayMs: 100 }),
    });
    await expect(registering).rejects.toThrow(
      /could not register within 1000 ms: .*(UNAVAILABLE|circuit breaker)/,
    );
    await expect(registering).rejects.toBeInstanceOf(DiscoveryError);
    await waitForNoLeaks(baseline);
  });

  it('keeps trying within startTimeoutMs, and resolves once etcd is up', async () => {
    await etcd.stop();
    const service = newService();
    const registering = registerEndpoint({
      hosts: etcd.url,
      service,
      address: 'h:1',
      startTimeoutMs: 25_000,
      backoff: constantBackoff({ delayMs: 200 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await etcd.start();
    const registration = await registering;
    cleanups.push(() => registration.close());
    expect((await stored(`${service}/h:1`))?.lease).toBe(registration.leaseId);
  }, 40_000);

  it('rejects with the reason when the signal aborts', async () => {
    await etcd.stop();
    const controller = new AbortController();
    const registering = registerEndpoint({
      hosts: etcd.url,
      service: newService(),
      address: 'h:1',
      startTimeoutMs: Infinity,
      signal: controller.signal,
    });
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 300);
    await expect(registering).rejects.toBe(reason);
    await expect(
      registerEndpoint({
        hosts: etcd.url,
        service: 's',
        address: 'h:1',
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
  });
});

describe('registerEndpoint: life cycle and options', () => {
  it("leaves no handle or timer behind after close(), and does not close the caller's client", async () => {
    const baseline = openResources();
    const owned = await registerEndpoint({
      hosts: etcd.url,
      service: newService(),
      address: 'h:1',
    });
    await owned.close();
    await waitForNoLeaks(baseline);

    const client = new Etcd3({ hosts: etcd.url });
    try {
      const service = newService();
      const borrowed = await registerEndpoint({ client, service, address: 'h:2', ttlSeconds: 2 });
      await borrowed.close();
      expect(await stored(`${service}/h:2`)).toBeUndefined();
      await expect(client.get('anything').string()).resolves.toBeNull();
    } finally {
      client.close();
    }
  });

  it('closes without etcd within requestTimeoutMs, releasing everything', async () => {
    const baseline = openResources();
    const registration = await registerEndpoint({
      hosts: etcd.url,
      service: newService(),
      address: 'h:1',
      requestTimeoutMs: 500,
    });
    await etcd.stop();
    await registration.close();
    expect(registration.state).toBe('closed');
    await waitForNoLeaks(baseline);
  });

  const valid = { hosts: 'http://127.0.0.1:2379', service: 'greeter', address: 'h:1' };
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no address', { ...valid, address: undefined }, /Invalid option address: undefined/],
    [
      'a ttlSeconds of 1',
      { ...valid, ttlSeconds: 1 },
      /Invalid option ttlSeconds: 1 must be an integer >= 2/,
    ],
    ['a fractional ttlSeconds', { ...valid, ttlSeconds: 2.5 }, /Invalid option ttlSeconds: 2.5/],
    [
      'a key outside the service',
      { ...valid, key: 'other/h:1' },
      /Invalid option key: "other\/h:1" must start with "greeter\/"/,
    ],
    ['a key that is only the prefix', { ...valid, key: 'greeter/' }, /Invalid option key/],
    [
      'metadata that is not JSON',
      { ...valid, metadata: circular },
      /Invalid option metadata: .* must be JSON/,
    ],
    ['a zero startTimeoutMs', { ...valid, startTimeoutMs: 0 }, /Invalid option startTimeoutMs: 0/],
    ['a signal that is not an AbortSignal', { ...valid, signal: {} }, /Invalid option signal/],
    ['a bad clock', { ...valid, clock: {} }, /Invalid option clock/],
    ['an unknown option', { ...valid, ttl: 10 }, /Invalid option ttl: 10 is not a known option/],
    [
      'no hosts',
      { service: 'greeter', address: 'h:1' },
      /Invalid option hosts: undefined is required/,
    ],
    ['a service ending in /', { ...valid, service: 'greeter/' }, /Invalid option service/],
  ])('throws at once on %s', (_what, options, error) => {
    expect(() => registerEndpoint(options as unknown as RegisterEndpointOptions)).toThrow(
      DetourConfigError,
    );
    expect(() => registerEndpoint(options as unknown as RegisterEndpointOptions)).toThrow(error);
  });
});

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const registerModule = new URL('./register-endpoint.ts', import.meta.url).href;
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A replica process that registers with `registerEndpoint()` and stays up; resolves once it is
 * registered. It exits when its stdin (a pipe from this process) closes, so it never outlives
 * the test.
 */
async function spawnRegistrant(
  options: Pick<RegisterEndpointOptions, 'service' | 'address' | 'ttlSeconds'>,
): Promise<ChildProcess> {
  const code = `
    process.stdin.on('end', () => process.exit(0)).resume();
    const { registerEndpoint } = await import(${JSON.stringify(registerModule)});
    await registerEndpoint(${JSON.stringify({ hosts: etcd.url, ...options })});
    console.log('registered');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, '--input-type=module', '-e', code],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not registered in 20 s:\n${stderr}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before registering:\n${stderr}`));
    });
    createInterface({ input: child.stdout }).once('line', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}
