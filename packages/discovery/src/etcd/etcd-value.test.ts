import { describe, expect, it } from 'vitest';
import { DetourConfigError } from '@detour/core';
import { formatEtcdValue, parseEtcdRecord, servicePrefix } from './etcd-value.js';

describe('parseEtcdRecord (gRPC-Go naming values)', () => {
  it('reads endpoints.Endpoint: Addr is the address and id, the key and Metadata are carried', () => {
    expect(
      parseEtcdRecord('greeter/a', '{"Addr":"10.0.0.1:50051","Metadata":{"weight":2,"v":"1.4"}}'),
    ).toEqual({
      kind: 'endpoint',
      endpoint: {
        id: '10.0.0.1:50051',
        address: '10.0.0.1:50051',
        weight: 2,
        metadata: { etcdKey: 'greeter/a', etcdMetadata: { weight: 2, v: '1.4' } },
      },
    });
  });

  it('reads the Update that endpoints.Manager writes ("Op":0) and a Metadata that is not an object', () => {
    expect(parseEtcdRecord('g/x', '{"Op":0,"Addr":"h:1","Metadata":"blue"}')).toEqual({
      kind: 'endpoint',
      endpoint: {
        id: 'h:1',
        address: 'h:1',
        metadata: { etcdKey: 'g/x', etcdMetadata: 'blue' },
      },
    });
    expect(parseEtcdRecord('g/x', '{"Op":0,"Addr":"h:1","Metadata":null}')).toEqual({
      kind: 'endpoint',
      endpoint: { id: 'h:1', address: 'h:1', metadata: { etcdKey: 'g/x' } },
    });
  });

  it('treats an old naming.Update with "Op":1 as no endpoint', () => {
    expect(parseEtcdRecord('g/x', '{"Op":1,"Addr":"h:1"}')).toEqual({ kind: 'deleted' });
  });

  it('lifts every detour field out of an object Metadata', () => {
    const record = parseEtcdRecord(
      'g/x',
      JSON.stringify({
        Addr: 'h:1',
        Metadata: { weight: 3, priority: 1, group: 'backup', zone: 'eu-1a', capacity: 4 },
      }),
    );
    expect(record).toMatchObject({
      kind: 'endpoint',
      endpoint: { weight: 3, priority: 1, group: 'backup', zone: 'eu-1a', capacity: 4 },
    });
  });

  it('matches field names without case, as Go encoding/json does', () => {
    expect(parseEtcdRecord('g/x', '{"addr":"h:1","metadata":{"weight":5}}')).toMatchObject({
      kind: 'endpoint',
      endpoint: { address: 'h:1', weight: 5 },
    });
  });

  it.each([
    ['not JSON', 'garbage', /not JSON: "garbage"/],
    ['a JSON array', '["h:1"]', /not a JSON object/],
    ['no Addr', '{"Metadata":{}}', /no "Addr"/],
    ['an empty Addr', '{"Addr":""}', /"Addr" must be a non-empty string/],
    ['a number Addr', '{"Addr":50051}', /"Addr" must be a non-empty string, not 50051/],
    ['an unknown Op', '{"Op":2,"Addr":"h:1"}', /"Op" must be 0 \(add\) or 1 \(delete\), not 2/],
    ['a weight of 0', '{"Addr":"h:1","Metadata":{"weight":0}}', /Metadata\.weight/],
    ['a fractional priority', '{"Addr":"h:1","Metadata":{"priority":1.5}}', /Metadata\.priority/],
    ['an empty zone', '{"Addr":"h:1","Metadata":{"zone":""}}', /Metadata\.zone/],
  ])('skips a value with %s, saying why', (_what, value, reason) => {
    const record = parseEtcdRecord('g/x', value);
    expect(record.kind).toBe('skipped');
    expect(record.kind === 'skipped' && record.reason).toMatch(reason);
  });

  it('quotes at most 80 characters of a bad value', () => {
    const record = parseEtcdRecord('g/x', 'x'.repeat(500));
    expect(record.kind === 'skipped' && record.reason.length).toBeLessThan(120);
  });
});

describe('formatEtcdValue', () => {
  it('writes what gRPC-Go marshals endpoints.Endpoint to, and reads back', () => {
    expect(formatEtcdValue('h:1', undefined)).toBe('{"Addr":"h:1","Metadata":null}');
    const value = formatEtcdValue('h:1', { weight: 2 });
    expect(value).toBe('{"Addr":"h:1","Metadata":{"weight":2}}');
    expect(parseEtcdRecord('g/h:1', value)).toMatchObject({
      kind: 'endpoint',
      endpoint: { address: 'h:1', weight: 2 },
    });
  });
});

describe('servicePrefix', () => {
  it('is the service and a slash; slashes inside are allowed', () => {
    expect(servicePrefix('greeter')).toBe('greeter/');
    expect(servicePrefix('prod/greeter')).toBe('prod/greeter/');
  });

  it.each([[''], ['greeter/'], [undefined], [42]])('rejects %j', (service) => {
    expect(() => servicePrefix(service)).toThrow(DetourConfigError);
    expect(() => servicePrefix(service)).toThrow(/service/);
  });
});
