import { Buffer } from 'node:buffer';
import * as packet from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  canonicalName,
  decodeResponse,
  describeRecord,
  encodeQuery,
  peekHeader,
  rcodeName,
} from './dns-message.js';
import { encodeReply, rawRecord } from './test-support/dns-test-server.js';
import type { ReceivedQuery } from './test-support/dns-test-server.js';

const query: ReceivedQuery = { transport: 'UDP', id: 4242, name: 'x.test', type: 'A', edns: false };

describe('encodeQuery', () => {
  it('asks one recursive question, with EDNS(0) when told', () => {
    const decoded = packet.decode(encodeQuery(7, 'x.test', 'SRV', true));
    expect(decoded).toMatchObject({
      id: 7,
      type: 'query',
      flag_rd: true,
      questions: [{ name: 'x.test', type: 'SRV', class: 'IN' }],
    });
    expect(decoded.additionals).toEqual([
      expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 }),
    ]);
    expect(packet.decode(encodeQuery(8, 'x.test', 'A', false)).additionals).toEqual([]);
  });
});

describe('decodeResponse', () => {
  it('reads the header, the question and every section', () => {
    const message = encodeReply(query, {
      rcode: 0,
      answers: [
        { type: 'CNAME', name: 'x.test', ttl: 30, data: 'y.test' },
        { type: 'A', name: 'y.test', ttl: 5, data: '10.0.0.1' },
      ],
      authorities: [
        {
          type: 'SOA',
          name: 'test',
          ttl: 60,
          data: { mname: 'ns.test', rname: 'admin.test', minimum: 10 },
        },
      ],
      additionals: [{ type: 'AAAA', name: 'y.test', ttl: 5, data: 'fd00::1' }],
    });
    const response = decodeResponse(message);
    expect(response).toMatchObject({
      id: 4242,
      isResponse: true,
      opcode: 0,
      truncated: false,
      rcode: 0,
      questions: [{ name: 'x.test', type: 'A' }],
      malformed: [],
    });
    expect(response.answers.map((r) => [r.type, r.name, r.ttl, r.data])).toEqual([
      ['CNAME', 'x.test', 30, 'y.test'],
      ['A', 'y.test', 5, '10.0.0.1'],
    ]);
    expect(response.authorities[0]!.type).toBe('SOA');
    expect(response.additionals[0]!.data).toBe('fd00::1');
  });

  it('leaves out a record whose data does not fit its type, and reads the ones after it', () => {
    const message = encodeReply(query, {
      answers: [
        rawRecord('x.test', 1, 5, Buffer.from([10, 0, 0])), // A with 3 bytes
        rawRecord('x.test', 28, 5, Buffer.alloc(4)), // AAAA with 4 bytes
        rawRecord('s.test', 33, 5, Buffer.from([0, 1, 0, 2])), // SRV cut short
        { type: 'A', name: 'x.test', ttl: 5, data: '10.0.0.2' },
      ],
    });
    const response = decodeResponse(message);
    expect(response.answers.map((r) => r.data)).toEqual(['10.0.0.2']);
    expect(response.malformed.map((m) => [m.name, m.type, m.reason])).toEqual([
      ['x.test', 'A', '3 bytes of data where A has 4'],
      ['x.test', 'AAAA', '4 bytes of data where AAAA has 16'],
      ['s.test', 'SRV', expect.stringContaining('cannot decode its data')],
    ]);
    expect(describeRecord(response.malformed[0]!)).toBe('x.test. 5 IN A \\# 3 0a0000');
  });

  it('takes a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const message = encodeReply(query, {
      answers: [rawRecord('x.test', 1, 0x8000_0001, Buffer.from([10, 0, 0, 1]))],
    });
    expect(decodeResponse(message).answers[0]!.ttl).toBe(0);
  });

  it('reads a truncated response up to its question only', () => {
    const full = encodeReply(query, {
      truncated: true,
      answers: [{ type: 'A', name: 'x.test', ttl: 5, data: '10.0.0.1' }],
    });
    const cut = full.subarray(0, full.length - 3);
    expect(decodeResponse(cut)).toMatchObject({ truncated: true, answers: [], malformed: [] });
    expect(peekHeader(cut)).toEqual({ id: 4242, isResponse: true, truncated: true });
  });

  it('throws when the framing is broken', () => {
    const full = encodeReply(query, {
      answers: [{ type: 'A', name: 'x.test', ttl: 5, data: '10.0.0.1' }],
    });
    expect(() => decodeResponse(full.subarray(0, 8))).toThrow('shorter than a DNS header');
    expect(() => decodeResponse(full.subarray(0, full.length - 2))).toThrow('runs past');
    const lying = Buffer.from(full);
    lying.writeUInt16BE(3, 6); // three answers announced, one sent
    expect(() => decodeResponse(lying)).toThrow();
  });
});

describe('names and descriptions', () => {
  it('compares names in lower case without the trailing dot', () => {
    expect(canonicalName('Greeter.Default.SVC.')).toBe('greeter.default.svc');
    expect(canonicalName('.')).toBe('.');
  });

  it('names rcodes', () => {
    expect(rcodeName(2)).toBe('SERVFAIL');
    expect(rcodeName(5)).toBe('REFUSED');
    expect(rcodeName(13)).toBe('RCODE 13');
  });

  it('describes records in zone-file style', () => {
    const response = decodeResponse(
      encodeReply(query, {
        answers: [
          {
            type: 'SRV',
            name: '_grpc._tcp.x.test',
            ttl: 5,
            data: { priority: 1, weight: 2, port: 0, target: 'r1.x.test' },
          },
        ],
      }),
    );
    expect(describeRecord(response.answers[0]!)).toBe(
      '_grpc._tcp.x.test. 5 IN SRV 1 2 0 r1.x.test.',
    );
  });
});
