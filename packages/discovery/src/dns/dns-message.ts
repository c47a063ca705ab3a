/**
 * DNS messages on the wire (RFC 1035 §4), through `dns-packet`: queries to send, and responses
 * read record by record so that one malformed record is reported and left out instead of
 * spoiling the whole answer.
 *
 * `dns-packet`'s whole-message `decode()` trusts each record's data to be as long as its type
 * needs: an A record whose RDLENGTH is not 4 shifts every record after it. Here each record is
 * framed by its own RDLENGTH first and decoded within those bytes only, so a bad record costs
 * itself and nothing else. A message whose framing itself is broken (a name or a record running
 * past the end) cannot be read at all, and `decodeResponse` throws.
 */
import { Buffer } from 'node:buffer';
import * as packet from 'dns-packet';
import type { Answer, OptAnswer, Question, RecordClass, RecordType } from 'dns-packet';

/** The record types a DNS source asks for. */
export type QueryType = 'A' | 'AAAA' | 'SRV';

/** A resource record that decoded within its RDLENGTH (never an OPT pseudo-record). */
export type DnsRecord = Exclude<Answer, OptAnswer> & {
  readonly ttl: number;
  readonly class: RecordClass;
};

/** A resource record whose data does not fit its type, kept for the `skipped` event. */
export interface MalformedRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  /** The record's data, as sent. */
  readonly rdata: Buffer;
  readonly reason: string;
}

/** A decoded response. Records are in message order; section names as in RFC 1035 §4.1. */
export interface DnsResponse {
  readonly id: number;
  /** QR: set in responses. */
  readonly isResponse: boolean;
  readonly opcode: number;
  /** TC: the answer did not fit in the UDP datagram; ask again over TCP. */
  readonly truncated: boolean;
  /** RCODE (RFC 1035 §4.1.1, RFC 6895 §2.3): 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED… */
  readonly rcode: number;
  readonly questions: readonly Question[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
  /** Records of any section that were left out, with why. */
  readonly malformed: readonly MalformedRecord[];
}

/** RCODE values (RFC 6895 §2.3) that a DNS source treats specially. */
export const rcodes = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const rcodeNames = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

/** `SERVFAIL`, `REFUSED`…, or `RCODE 12` for codes without a name. */
export function rcodeName(rcode: number): string {
  return rcodeNames[rcode] ?? `RCODE ${rcode}`;
}

/**
 * The UDP payload size advertised with EDNS(0) (RFC 6891), bytes: 1232, the size DNS Flag Day
 * 2020 recommends, which fits an IPv6 packet without fragmentation.
 */
export const ednsUdpPayloadBytes = 1232;

/** Encodes a recursive query for one question, with an EDNS(0) OPT record when `edns`. */
export function encodeQuery(id: number, name: string, type: QueryType, edns: boolean): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: ednsUdpPayloadBytes,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
}

type Decoder<T> = ((buf: Buffer, offset: number) => T) & { bytes: number };

/** The parts of `dns-packet` that decode one piece at a time (exported, but not in its types). */
interface PacketParts {
  readonly name: { readonly decode: Decoder<string> };
  readonly question: { readonly decode: Decoder<Question> };
  readonly answer: { readonly decode: Decoder<Answer> };
}

const parts = packet as unknown as PacketParts;

const headerBytes = 12;

/** Reads the 12-byte header (RFC 1035 §4.1.1). */
function readHeader(buf: Buffer): {
  id: number;
  flags: number;
  counts: [number, number, number, number];
} {
  if (buf.length < headerBytes) {
    throw new Error(`a ${buf.length}-byte message is shorter than a DNS header`);
  }
  return {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    counts: [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)],
  };
}

/** Reads only the id and the flags, for a quick look before the full decode. */
export function peekHeader(buf: Buffer): { id: number; isResponse: boolean; truncated: boolean } {
  const { id, flags } = readHeader(buf);
  return { id, isResponse: (flags & 0x8000) !== 0, truncated: (flags & 0x0200) !== 0 };
}

/**
 * Decodes a response. A truncated one (TC) is read only up to its questions: its records may be
 * cut anywhere, and it is asked again over TCP anyway.
 * @throws Error when the message's framing is broken (it cannot be read).
 */
export function decodeResponse(buf: Buffer): DnsResponse {
  const { id, flags, counts } = readHeader(buf);
  const [qdCount, anCount, nsCount, arCount] = counts;
  const truncated = (flags & 0x0200) !== 0;
  let offset = headerBytes;
  const questions: Question[] = [];
  for (let i = 0; i < qdCount; i++) {
    questions.push(parts.question.decode(buf, offset));
    offset += parts.question.decode.bytes;
  }
  if (offset > buf.length) throw new Error('the question section runs past the message');
  const malformed: MalformedRecord[] = [];
  const sections: DnsRecord[][] = [[], [], []];
  if (!truncated) {
    [anCount, nsCount, arCount].forEach((count, section) => {
      for (let i = 0; i < count; i++) {
        offset = readRecord(buf, offset, sections[section]!, malformed);
      }
    });
  }
  return {
    id,
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated,
    rcode: flags & 0xf,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
    malformed,
  };
}

/** Names of the type codes a source reads (RFC 1035 §3.2.2, RFC 3596, RFC 2782). */
const typeNames: Record<number, string> = { 1: 'A', 5: 'CNAME', 6: 'SOA', 28: 'AAAA', 33: 'SRV' };

/** RDATA lengths fixed by the record type. */
const fixedLength: Partial<Record<RecordType, number>> = { A: 4, AAAA: 16 };

/**
 * Frames the record at `offset` by its RDLENGTH, decodes it within those bytes, and files it in
 * `into` or `malformed`. Returns the offset of the next record.
 */
function readRecord(
  buf: Buffer,
  offset: number,
  into: DnsRecord[],
  malformed: MalformedRecord[],
): number {
  const name = parts.name.decode(buf, offset);
  const fixed = offset + parts.name.decode.bytes;
  if (fixed + 10 > buf.length) throw new Error(`the record of ${name} runs past the message`);
  const typeCode = buf.readUInt16BE(fixed);
  const ttl = buf.readUInt32BE(fixed + 4);
  const rdataStart = fixed + 10;
  const end = rdataStart + buf.readUInt16BE(fixed + 8);
  if (end > buf.length) throw new Error(`the data of ${name} runs past the message`);
  const rdata = buf.subarray(rdataStart, end);
  const bad = (type: string, reason: string): number => {
    malformed.push({ name, type, ttl: normalTtl(ttl), rdata: Buffer.from(rdata), reason });
    return end;
  };
  let record: Answer;
  try {
    // Bounded to this record: reading past its data throws instead of reading the next one.
    record = parts.answer.decode(buf.subarray(0, end), offset);
  } catch (error) {
    return bad(
      typeNames[typeCode] ?? `TYPE${typeCode}`,
      `cannot decode its data: ${(error as Error).message}`,
    );
  }
  if (record.type === 'OPT') return end;
  const expected = fixedLength[record.type];
  if (expected !== undefined && rdata.length !== expected) {
    return bad(record.type, `${rdata.length} bytes of data where ${record.type} has ${expected}`);
  }
  if (parts.answer.decode.bytes !== end - offset) {
    return bad(record.type, `its data does not match its length of ${rdata.length} bytes`);
  }
  into.push({ ...record, ttl: normalTtl(record.ttl ?? 0), class: record.class ?? 'IN' });
  return end;
}

/** RFC 2181 §8: a TTL with the most significant bit set is taken as zero. */
function normalTtl(ttl: number): number {
  return ttl > 0x7fff_ffff ? 0 : ttl;
}

/** A name as compared: lower case (RFC 4343), without the trailing dot. */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') && lower.length > 1 ? lower.slice(0, -1) : lower;
}

/** A record in zone-file style, for `skipped` events: `name. TTL IN TYPE data`. */
export function describeRecord(record: DnsRecord | MalformedRecord): string {
  const owner = record.name === '.' ? '.' : `${record.name}.`;
  if ('reason' in record) {
    const hex = record.rdata.toString('hex');
    return `${owner} ${record.ttl} IN ${record.type} \\# ${record.rdata.length}${hex ? ` ${hex}` : ''}`;
  }
  return `${owner} ${record.ttl} ${record.class} ${record.type} ${describeData(record)}`;
}

function describeData(record: DnsRecord): string {
  switch (record.type) {
    case 'SRV': {
      const { priority = 0, weight = 0, port, target } = record.data;
      return `${priority} ${weight} ${port} ${target === '.' ? '.' : `${target}.`}`;
    }
    case 'CNAME':
      return `${record.data}.`;
    default:
      return typeof record.data === 'string' ? record.data : JSON.stringify(record.data);
  }
}
