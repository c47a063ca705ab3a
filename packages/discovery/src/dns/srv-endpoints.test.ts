import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostPortAddress } from './dns-options.js';
import { srvEndpoints, srvZeroWeight } from './srv-endpoints.js';
import type { SrvTarget } from './srv-endpoints.js';

function target(
  priority: number,
  weight: number,
  port: number,
  hosts: string[],
  name = `t${port}.test`,
): SrvTarget {
  return {
    priority,
    weight,
    port,
    target: name,
    addresses: hosts.map((host) => ({ host, family: host.includes(':') ? 6 : 4 })),
  };
}

function summary(targets: SrvTarget[]): [string, number, number, string | undefined][] {
  return srvEndpoints(targets, hostPortAddress).endpoints.map((e) => [
    e.address,
    e.priority!,
    e.weight!,
    e.group,
  ]);
}

describe('srvEndpoints', () => {
  it('maps distinct SRV priorities, in ascending order, to groups 0, 1, 2', () => {
    expect(
      summary([
        target(20, 5, 3, ['10.0.0.3']),
        target(10, 5, 1, ['10.0.0.1']),
        target(65535, 5, 4, ['10.0.0.4']),
        target(10, 5, 2, ['10.0.0.2']),
      ]),
    ).toEqual([
      ['10.0.0.1:1', 0, 5, 'srv-10'],
      ['10.0.0.2:2', 0, 5, 'srv-10'],
      ['10.0.0.3:3', 1, 5, 'srv-20'],
      ['10.0.0.4:4', 2, 5, 'srv-65535'],
    ]);
  });

  it('keeps SRV weights, gives weight 0 a very small share, and equal shares when all are 0', () => {
    expect(
      summary([
        target(0, 60, 1, ['10.0.0.1']),
        target(0, 0, 2, ['10.0.0.2']),
        target(1, 0, 3, ['10.0.0.3']),
        target(1, 0, 4, ['10.0.0.4']),
      ]),
    ).toEqual([
      ['10.0.0.1:1', 0, 60, 'srv-0'],
      ['10.0.0.2:2', 0, srvZeroWeight, 'srv-0'],
      ['10.0.0.3:3', 1, 1, 'srv-1'],
      ['10.0.0.4:4', 1, 1, 'srv-1'],
    ]);
  });

  it('splits a record’s weight among its target’s addresses', () => {
    expect(
      summary([target(0, 10, 80, ['10.0.0.1', 'fd00::1']), target(0, 5, 81, ['10.0.0.9'])]),
    ).toEqual([
      ['10.0.0.1:80', 0, 5, 'srv-0'],
      ['10.0.0.9:81', 0, 5, 'srv-0'],
      ['[fd00::1]:80', 0, 5, 'srv-0'],
    ]);
  });

  it('makes one endpoint per address and port: lowest priority, weights of that priority added', () => {
    const endpoints = srvEndpoints(
      [
        target(5, 10, 80, ['10.0.0.1'], 'a.test'),
        target(5, 30, 80, ['10.0.0.1'], 'b.test'),
        target(9, 50, 80, ['10.0.0.1'], 'c.test'),
        target(9, 50, 81, ['10.0.0.1'], 'c.test'),
      ],
      hostPortAddress,
    ).endpoints;
    expect(endpoints).toEqual([
      {
        address: '10.0.0.1:80',
        weight: 40,
        priority: 0,
        group: 'srv-5',
        metadata: {
          target: 'a.test',
          host: '10.0.0.1',
          port: 80,
          family: 4,
          srvPriority: 5,
          srvWeight: 10,
        },
      },
      expect.objectContaining({ address: '10.0.0.1:81', weight: 50, priority: 1 }),
    ]);
  });

  it('passes each address to toAddress, and skips what it cannot make', () => {
    const seen: unknown[] = [];
    const result = srvEndpoints(
      [target(0, 1, 8080, ['10.0.0.1', '10.0.0.2', 'fd00::3'], 'web.test')],
      (t) => {
        seen.push(t);
        if (t.host === '10.0.0.2') throw new Error('no');
        if (t.family === 6) return '';
        return `http://${t.host}:${t.port}`;
      },
    );
    expect(seen).toEqual([
      { host: '10.0.0.1', port: 8080, family: 4, name: 'web.test' },
      { host: '10.0.0.2', port: 8080, family: 4, name: 'web.test' },
      { host: 'fd00::3', port: 8080, family: 6, name: 'web.test' },
    ]);
    expect(result.endpoints.map((e) => e.address)).toEqual(['http://10.0.0.1:8080']);
    expect(result.skipped).toEqual([
      { record: 'web.test A 10.0.0.2, port 8080', reason: 'toAddress threw: no' },
      {
        record: 'web.test AAAA fd00::3, port 8080',
        reason: 'toAddress returned "", not an address',
      },
    ]);
  });

  it('properties: groups follow SRV priority order; shares within a group follow RFC 2782', () => {
    const record = fc.record({
      priority: fc.integer({ min: 0, max: 5 }),
      weight: fc.integer({ min: 0, max: 20 }),
      port: fc.integer({ min: 1, max: 65_535 }),
      hosts: fc.uniqueArray(fc.integer({ min: 1, max: 254 }), { minLength: 1, maxLength: 3 }),
    });
    // Distinct ports: no two records share an address and port, so nothing merges.
    const records = fc.uniqueArray(record, {
      minLength: 1,
      maxLength: 12,
      selector: (r) => r.port,
    });
    fc.assert(
      fc.property(records, (list) => {
        const targets = list.map((r) =>
          target(
            r.priority,
            r.weight,
            r.port,
            r.hosts.map((h) => `10.0.0.${h}`),
          ),
        );
        const { endpoints, skipped } = srvEndpoints(targets, hostPortAddress);
        expect(skipped).toEqual([]);
        const priorities = [...new Set(list.map((r) => r.priority))].sort((a, b) => a - b);
        for (const t of targets) {
          const allZero = targets.every((o) => o.priority !== t.priority || o.weight === 0);
          const share = allZero ? 1 : t.weight === 0 ? srvZeroWeight : t.weight;
          const mine = endpoints.filter((e) => e.address.endsWith(`:${t.port}`));
          expect(mine).toHaveLength(t.addresses.length);
          for (const e of mine) {
            expect(e.priority).toBe(priorities.indexOf(t.priority));
            expect(e.group).toBe(`srv-${t.priority}`);
            expect(e.weight).toBeGreaterThan(0);
          }
          const total = mine.reduce((sum, e) => sum + e.weight!, 0);
          expect(total).toBeCloseTo(share, 9);
        }
      }),
    );
  });
});
