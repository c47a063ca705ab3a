/**
 * A real DNS server in the test process, for what dnsmasq will not do on request: truncated UDP
 * answers, wrong ids, garbage, malformed records, exact TTLs, SERVFAIL, silence. It listens on
 * 127.0.0.1, UDP and TCP on the same port (chosen by the system), and answers each query with
 * what the test's handler returns. Not a mock of the client: the client under test talks to it
 * over real sockets.
 *
 * ```ts
 * const server = await startTestDnsServer((q) => ({
 *   answers: [{ type: 'A', name: q.name, ttl: 5, data: '10.0.0.1' }],
 * }));
 * try {
 *   // dnsSource({ hostname: 'x.test', port: 80, family: 4, servers: [server.address] }) …
 * } finally {
 *   await server.close();
 * }
 * ```
 */
import { Buffer } from 'node:buffer';
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import * as packet from 'dns-packet';
import type { Answer, Question } from 'dns-packet';

/** A query as the server received it. */
export interface ReceivedQuery {
  readonly transport: 'UDP' | 'TCP';
  readonly id: number;
  readonly name: string;
  readonly type: string;
  /** Whether it carried an EDNS(0) OPT record. */
  readonly edns: boolean;
}

/** A response to build: header fields and records (a Buffer is a raw record, sent as is). */
export interface Reply {
  /** RCODE. Default 0 (NOERROR). */
  readonly rcode?: number;
  /** Sets TC. */
  readonly truncated?: boolean;
  /** Default: the query's id. */
  readonly id?: number;
  /** Default: the query's question; `[]` for none. */
  readonly questions?: readonly Question[];
  readonly answers?: readonly (Answer | Buffer)[];
  readonly authorities?: readonly (Answer | Buffer)[];
  readonly additionals?: readonly (Answer | Buffer)[];
}

/**
 * What to send back: a reply, raw bytes, several of them (each its own UDP datagram, or TCP
 * message), or nothing (`null`: no answer at all).
 */
export type Response = Reply | Buffer | readonly (Reply | Buffer)[] | null;

export type Handler = (query: ReceivedQuery) => Response;

export interface TestDnsServer {
  readonly port: number;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  /** Every query received, in order. */
  readonly queries: ReceivedQuery[];
  /** Replaces the handler. */
  handle(handler: Handler): void;
  /** Resolves when `count` queries in all have arrived (polling, up to `timeoutMs`). */
  waitForQueries(count: number, timeoutMs?: number): Promise<void>;
  /** Closes both sockets and every TCP connection. */
  close(): Promise<void>;
}

interface Encoder {
  readonly answer: { encode(record: Answer): Buffer };
  readonly name: { encode(name: string): Buffer };
}
const parts = packet as unknown as Encoder;

/** A record with any type code and data: for malformed records. */
export function rawRecord(name: string, typeCode: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(typeCode, 0);
  fixed.writeUInt16BE(1, 2); // IN
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([parts.name.encode(name), fixed, rdata]);
}

/** Encodes a reply to `query` as a DNS message. */
export function encodeReply(query: ReceivedQuery, reply: Reply): Buffer {
  const flags =
    0x0100 | // RD, copied
    0x0080 | // RA
    (reply.truncated ? 0x0200 : 0) |
    ((reply.rcode ?? 0) & 0xf);
  const questions = reply.questions ?? [{ name: query.name, type: query.type, class: 'IN' }];
  const head = packet.encode({
    type: 'response',
    id: reply.id ?? query.id,
    flags,
    questions: questions as Question[],
  });
  const sections = [reply.answers ?? [], reply.authorities ?? [], reply.additionals ?? []];
  sections.forEach((records, i) => head.writeUInt16BE(records.length, 6 + 2 * i));
  const records = sections.flat().map((r) => (Buffer.isBuffer(r) ? r : parts.answer.encode(r)));
  return Buffer.concat([head, ...records]);
}

function received(message: Buffer, transport: 'UDP' | 'TCP'): ReceivedQuery {
  const decoded = packet.decode(message);
  const question = decoded.questions?.[0];
  return {
    transport,
    id: decoded.id ?? 0,
    name: question?.name ?? '',
    type: question?.type ?? '',
    edns: (decoded.additionals ?? []).some((r) => r.type === 'OPT'),
  };
}

function messages(query: ReceivedQuery, response: Response): Buffer[] {
  if (response === null) return [];
  const list = Array.isArray(response) ? response : [response];
  return list.map((r: Reply | Buffer) => (Buffer.isBuffer(r) ? r : encodeReply(query, r)));
}

function listenUdp(port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the server on a free port of 127.0.0.1, UDP and TCP. */
export async function startTestDnsServer(handler: Handler): Promise<TestDnsServer> {
  let current = handler;
  const queries: ReceivedQuery[] = [];
  const connections = new Set<Socket>();
  const tcp = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        const query = received(message, 'TCP');
        queries.push(query);
        for (const out of messages(query, current(query))) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        }
      }
    });
  });
  // UDP on a free port, then TCP on the same one (retried if TCP's is taken).
  let udp: UdpSocket | undefined;
  for (let attempt = 0; !udp; attempt++) {
    const candidate = await listenUdp(0);
    try {
      await listenTcp(tcp, candidate.address().port);
      udp = candidate;
    } catch (error) {
      candidate.close();
      if (attempt >= 10) throw error;
    }
  }
  const udpSocket = udp;
  udpSocket.on('message', (message, from) => {
    let query: ReceivedQuery;
    try {
      query = received(message, 'UDP');
    } catch {
      return;
    }
    queries.push(query);
    for (const out of messages(query, current(query))) {
      udpSocket.send(out, from.port, from.address);
    }
  });
  const port = udpSocket.address().port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    queries,
    handle(next) {
      current = next;
    },
    async waitForQueries(count, timeoutMs = 5_000) {
      const end = Date.now() + timeoutMs;
      while (queries.length < count) {
        if (Date.now() > end) {
          throw new Error(`${queries.length} of ${count} queries within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udpSocket.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
      // A turn of the event loop more, for Node to release the handles.
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}
