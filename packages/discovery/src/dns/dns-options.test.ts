import { getServers } from 'node:dns';
import { DetourConfigError } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { describe, expect, it } from 'vitest';
import { dnsSource } from './dns-source.js';
import type { DnsSourceOptions } from './dns-options.js';
import { isDomainName } from './dns-options.js';

/** The error `dnsSource(options)` throws; fails if it throws none or another. */
function configError(options: unknown): DetourConfigError {
  try {
    dnsSource(options as DnsSourceOptions);
  } catch (error) {
    if (error instanceof DetourConfigError) return error;
    throw error;
  }
  throw new Error('expected a DetourConfigError');
}

const host = { hostname: 'greeter.test', port: 50051, servers: ['127.0.0.1'] } as const;

describe('dnsSource options', () => {
  it('fills in defaults and names the source after what it asks', () => {
    const a = dnsSource({ hostname: 'greeter.default.svc.cluster.local.', port: 50051 });
    expect(a.name).toBe('dns:greeter.default.svc.cluster.local:50051');
    expect(a.query).toEqual({
      kind: 'hostname',
      hostname: 'greeter.default.svc.cluster.local',
      port: 50051,
    });
    expect(a.family).toBe('any');
    expect(a.servers.map((s) => s.host)).toEqual(
      getServers().map((s) => s.replace(/^\[|\](:\d+)?$|:\d+$/g, '')),
    );
    const b = dnsSource({ srv: '_grpc._tcp.greeter.service.consul', servers: ['[::1]:5353'] });
    expect(b.name).toBe('dns:_grpc._tcp.greeter.service.consul');
    expect(b.query).toEqual({ kind: 'srv', srv: '_grpc._tcp.greeter.service.consul' });
    expect(b.servers).toEqual([{ host: '::1', port: 5353, family: 6, label: '[::1]:5353' }]);
    expect(dnsSource({ ...host, name: 'greeter', family: 6 }).name).toBe('greeter');
  });

  it('takes every documented option', () => {
    const source = dnsSource({
      ...host,
      family: 4,
      timeoutMs: 500,
      toAddress: ({ host: h, port }) => `http://${h}:${port}`,
      intervalMs: 10_000,
      minIntervalMs: 100,
      maxIntervalMs: 20_000,
      allowEmpty: true,
      metrics: false,
      clock: new ManualClock(),
      random: { next: () => 0.5 },
      name: 'x',
    });
    expect(source.family).toBe(4);
    source.close();
  });

  it.each<[string, unknown, string, string]>([
    ['a misspelt option', { ...host, timeoutMS: 5 }, 'timeoutMS', 'is not a known option'],
    ['no options', undefined, 'options', 'must be an object'],
    [
      'neither hostname nor srv',
      { port: 1, servers: ['127.0.0.1'] },
      'hostname',
      'or srv is required',
    ],
    ['hostname and srv', { ...host, srv: '_x._tcp.test' }, 'srv', 'cannot be given with hostname'],
    ['port with srv', { srv: '_x._tcp.test', port: 80 }, 'port', 'SRV records carry ports'],
    ['hostname without port', { hostname: 'x.test' }, 'port', 'is required with hostname'],
    ['port 0', { ...host, port: 0 }, 'port', 'an integer from 1 to 65535'],
    ['port 65536', { ...host, port: 65_536 }, 'port', 'an integer from 1 to 65535'],
    ['a fractional port', { ...host, port: 80.5 }, 'port', 'an integer from 1 to 65535'],
    ['an empty hostname', { ...host, hostname: '' }, 'hostname', 'must be a non-empty string'],
    ['an IP as hostname', { ...host, hostname: '10.0.0.1' }, 'hostname', 'is an IP address'],
    ['a bad hostname', { ...host, hostname: 'a b.test' }, 'hostname', 'must be a domain name'],
    ['a long label', { ...host, hostname: `${'a'.repeat(64)}.test` }, 'hostname', 'domain name'],
    ['a bad srv', { srv: '_x._tcp..test' }, 'srv', 'must be a domain name'],
    ['family 5', { ...host, family: 5 }, 'family', "must be 4, 6 or 'any'"],
    ["family '4'", { ...host, family: '4' }, 'family', "must be 4, 6 or 'any'"],
    ['empty servers', { ...host, servers: [] }, 'servers', 'must be a non-empty array'],
    ['servers as a string', { ...host, servers: '127.0.0.1' }, 'servers', 'non-empty array'],
    ['a server name', { ...host, servers: ['127.0.0.1', 'ns1.test'] }, 'servers[1]', 'IP address'],
    ['timeoutMs 0', { ...host, timeoutMs: 0 }, 'timeoutMs', 'must be a finite number > 0'],
    ['timeoutMs Infinity', { ...host, timeoutMs: Infinity }, 'timeoutMs', 'finite number > 0'],
    ['toAddress not a function', { ...host, toAddress: 'x' }, 'toAddress', 'must be a function'],
    ['intervalMs -1', { ...host, intervalMs: -1 }, 'intervalMs', 'must be a finite number > 0'],
    ['minIntervalMs NaN', { ...host, minIntervalMs: NaN }, 'minIntervalMs', 'finite number'],
    [
      'max < min',
      { ...host, minIntervalMs: 5_000, maxIntervalMs: 1_000 },
      'maxIntervalMs',
      'at least',
    ],
    ['allowEmpty "yes"', { ...host, allowEmpty: 'yes' }, 'allowEmpty', 'must be true or false'],
    ['an empty name', { ...host, name: '' }, 'name', 'must be a non-empty string'],
    ['a bad clock', { ...host, clock: {} }, 'clock', 'must be a Clock'],
    ['a bad backoff', { ...host, backoff: 5 }, 'backoff', 'must be a Backoff'],
    ['a bad metrics', { ...host, metrics: { meterNam: 'x' } }, 'metrics.meterNam', 'known option'],
  ])('rejects %s', (_what, options, option, message) => {
    const error = configError(options);
    expect(error.option).toBe(option);
    expect(error.message).toContain(message);
  });
});

describe('isDomainName', () => {
  it.each([
    ['greeter.default.svc.cluster.local', true],
    ['greeter.default.svc.cluster.local.', true],
    ['_grpc._tcp.greeter.service.consul', true],
    ['10-0-0-1.greeter.default.svc.cluster.local', true],
    ['localhost', true],
    ['.', false],
    ['', false],
    ['a..b', false],
    ['-a.test', false],
    ['a_b c', false],
    [`${'a'.repeat(63)}.test`, true],
    [`${'a'.repeat(64)}.test`, false],
    ['a.'.repeat(126) + 'a', true], // 253 characters
    ['a.'.repeat(127) + 'a', false], // 255
  ])('%#: %s is %s', (name, valid) => {
    expect(isDomainName(name)).toBe(valid);
  });
});
