import * as grpc from '@grpc/grpc-js';
import { RawClient, callNamed, startNamedServer } from './test-support/named-raw-servers.js';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDetourBalancer } from './balancer.js';

const servers: grpc.Server[] = [];
const clients: grpc.Client[] = [];

function client(addresses: string[], config: object = {}): grpc.Client {
  registerDetourBalancer();
  const c = new RawClient(`ipv4:${addresses.join(',')}`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ detour: config }] }),
  });
  clients.push(c);
  return c;
}

async function tally(
  c: grpc.Client,
  n: number,
): Promise<{ answers: Record<string, number>; failures: number }> {
  const answers: Record<string, number> = {};
  let failures = 0;
  for (let i = 0; i < n; i++) {
    try {
      const who = await callNamed(c);
      answers[who] = (answers[who] ?? 0) + 1;
    } catch {
      failures++;
    }
  }
  return { answers, failures };
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const server of servers.splice(0)) server.forceShutdown();
});

describe('the detour load-balancing policy', () => {
  it('balances a plain grpc-js channel over every backend', async () => {
    const c = client(
      [
        await startNamedServer(servers, 'a'),
        await startNamedServer(servers, 'b'),
        await startNamedServer(servers, 'c'),
      ],
      {
        selector: 'round-robin',
      },
    );
    const { answers, failures } = await tally(c, 60);
    expect(failures).toBe(0);
    expect(Object.keys(answers).sort()).toEqual(['a', 'b', 'c']);
  });

  it('ejects a backend that answers UNAVAILABLE after consecutive failures', async () => {
    const c = client(
      [
        await startNamedServer(servers, 'a'),
        await startNamedServer(servers, 'b'),
        await startNamedServer(servers, 'bad', { fail: true }),
      ],
      {
        selector: 'round-robin',
        consecutiveFailures: 3,
      },
    );
    const first = await tally(c, 30);
    expect(first.failures).toBeGreaterThanOrEqual(3); // no retries in a plain channel: the first failures surface
    expect(first.failures).toBeLessThanOrEqual(4);
    const after = await tally(c, 60);
    expect(after.failures).toBe(0);
    expect(after.answers.bad).toBeUndefined();
  });

  it('moves traffic away from a slow backend (P2C peak-EWMA, no ORCA)', async () => {
    const c = client([
      await startNamedServer(servers, 'a'),
      await startNamedServer(servers, 'b'),
      await startNamedServer(servers, 'slow', { delayMs: 40 }),
    ]);
    await tally(c, 30); // learn latencies
    const { answers, failures } = await tally(c, 100);
    expect(failures).toBe(0);
    expect(answers.slow ?? 0).toBeLessThan(10);
  });

  it('rejects an invalid policy configuration with a DetourConfigError naming the option', () => {
    registerDetourBalancer();
    const parse = (config: object): unknown =>
      grpc.experimental.parseLoadBalancingConfig({ detour: config });
    expect(() => parse({ selector: 'fastest' })).toThrow(
      /loadBalancingConfig\.detour\.selector: "fastest"/,
    );
    expect(() => parse({ retries: 2 })).toThrow(
      /loadBalancingConfig\.detour\.retries: 2 is not a known option/,
    );
    expect(() => parse({ consecutiveFailures: -1 })).toThrow(/consecutiveFailures: -1/);
    expect(parse({ selector: 'least-request' })).toBeDefined();
  });
});
