/**
 * A small stub resolver (RFC 1035 §7): one question at a time to configured recursive servers,
 * over UDP, and again over TCP when the UDP answer is truncated (RFC 7766 §5). Servers are asked
 * in turn until one gives an answer; NXDOMAIN and an empty answer are answers, not failures.
 *
 * Every exchange has its own socket, its own random id (from `node:crypto`: the id and the
 * socket's random port are what stand between a resolver and a spoofed answer, RFC 5452 §9.2,
 * so they do not come from the source's injectable `Random`), its own timer on the source's
 * clock, and listens to the caller's `AbortSignal`; whichever way it ends, the socket is closed
 * and the timer cancelled.
 */
import { Buffer } from 'node:buffer';
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Clock, Timer } from '@detour/core';
import { DetourError } from '@detour/core';
import {
  canonicalName,
  decodeResponse,
  encodeQuery,
  peekHeader,
  rcodeName,
  rcodes,
} from './dns-message.js';
import type { DnsResponse, QueryType } from './dns-message.js';
import type { DnsServer } from './dns-servers.js';

/** Where and how long a `DnsClient` asks. */
export interface DnsClientOptions {
  /** Asked in this order; the next one only when the one before failed. Not empty. */
  readonly servers: readonly DnsServer[];
  /** The wait for each exchange with a server (the UDP query, and the TCP one after TC), ms. */
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/** An answer: NOERROR (with or without records) or NXDOMAIN, and the server that gave it. */
export interface DnsAnswer {
  readonly server: DnsServer;
  readonly response: DnsResponse;
}

/** How one server failed a query. */
export interface DnsServerFailure {
  readonly server: DnsServer;
  /** Set when the server answered with an error code. */
  readonly rcode: number | undefined;
  readonly reason: string;
}

/**
 * Every server failed a query (SERVFAIL, REFUSED, timeouts, unreadable answers…), code
 * `DETOUR_DNS_QUERY`. A DNS source's `error` event carries it as its `DiscoveryError`'s `cause`.
 */
export class DnsQueryError extends DetourError {
  /** How each server failed, in the order they were asked. */
  readonly failures: readonly DnsServerFailure[];

  constructor(name: string, type: QueryType, failures: readonly DnsServerFailure[]) {
    const each = failures.map((f) => `${f.server.label} ${f.reason}`).join('; ');
    super('DETOUR_DNS_QUERY', `DNS ${type} query for ${name} failed: ${each}`);
    this.name = 'DnsQueryError';
    this.failures = failures;
  }
}

/** The answer of one exchange, or why a datagram was ignored (a string). */
type Check = (message: Buffer) => DnsResponse | string;

/** Asks DNS servers questions. Holds nothing between queries. */
export class DnsClient {
  readonly #options: DnsClientOptions;

  constructor(options: DnsClientOptions) {
    this.#options = options;
  }

  /**
   * Asks each server in turn until one answers NOERROR or NXDOMAIN.
   * @throws DnsQueryError when none does; `signal.reason` when the signal aborts.
   */
  async query(name: string, type: QueryType, signal: AbortSignal): Promise<DnsAnswer> {
    const failures: DnsServerFailure[] = [];
    for (const server of this.#options.servers) {
      signal.throwIfAborted();
      let response: DnsResponse;
      try {
        response = await this.#ask(server, name, type, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        failures.push({ server, rcode: undefined, reason: (error as Error).message });
        continue;
      }
      if (response.rcode === rcodes.NOERROR || response.rcode === rcodes.NXDOMAIN) {
        return { server, response };
      }
      failures.push({
        server,
        rcode: response.rcode,
        reason: `answered ${rcodeName(response.rcode)}`,
      });
    }
    throw new DnsQueryError(name, type, failures);
  }

  /** One server: UDP with EDNS(0); without it after FORMERR (RFC 6891 §7); TCP after TC. */
  async #ask(
    server: DnsServer,
    name: string,
    type: QueryType,
    signal: AbortSignal,
  ): Promise<DnsResponse> {
    let edns = true;
    for (;;) {
      const id = randomInt(0x10000);
      let response = await this.#exchange('UDP', server, id, name, type, edns, signal);
      if (response.truncated) {
        const tcpId = randomInt(0x10000);
        response = await this.#exchange('TCP', server, tcpId, name, type, edns, signal);
      }
      if (response.rcode === rcodes.FORMERR && edns) {
        edns = false;
        continue;
      }
      return response;
    }
  }

  #exchange(
    transport: 'UDP' | 'TCP',
    server: DnsServer,
    id: number,
    name: string,
    type: QueryType,
    edns: boolean,
    signal: AbortSignal,
  ): Promise<DnsResponse> {
    const exchange: Exchange = {
      server,
      query: encodeQuery(id, name, type, edns),
      check: checker(id, name, type),
      timeoutMs: this.#options.timeoutMs,
      clock: this.#options.clock,
      signal,
    };
    return transport === 'UDP' ? udpExchange(exchange) : tcpExchange(exchange);
  }
}

/**
 * Accepts a datagram only if it answers this query (RFC 5452 §9.1): a response, with the query's
 * id, opcode QUERY, and the same question. An error answer may leave the question out.
 */
function checker(id: number, name: string, type: QueryType): Check {
  const wanted = canonicalName(name);
  return (message) => {
    let header: ReturnType<typeof peekHeader>;
    try {
      header = peekHeader(message);
    } catch (error) {
      return (error as Error).message;
    }
    if (!header.isResponse) return 'a query, not a response';
    if (header.id !== id) return `a response with id ${header.id}, not ${id}`;
    let response: DnsResponse;
    try {
      response = decodeResponse(message);
    } catch (error) {
      return `an unreadable ${message.length}-byte response (${(error as Error).message})`;
    }
    if (response.opcode !== 0) return `a response with opcode ${response.opcode}`;
    const question = response.questions[0];
    if (
      response.questions.length === 0 &&
      (response.rcode !== rcodes.NOERROR || response.truncated)
    ) {
      return response;
    }
    if (
      response.questions.length !== 1 ||
      canonicalName(question!.name) !== wanted ||
      question!.type !== type ||
      (question!.class ?? 'IN') !== 'IN'
    ) {
      const asked = response.questions.map((q) => `${q.type} ${q.name}`).join(', ');
      return `a response to another question (${asked || 'none'})`;
    }
    return response;
  };
}

/** The abort reason, an `AbortError` `DOMException` unless the caller gave another (as `sleep` of core). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason as Error;
}

function describeNetError(error: NodeJS.ErrnoException, transport: string): string {
  if (error.code === 'ECONNREFUSED') return `refused the ${transport} query (ECONNREFUSED)`;
  return `failed over ${transport}: ${error.code ?? error.message}`;
}

/** One query to one server, over one transport. */
interface Exchange {
  readonly server: DnsServer;
  readonly query: Buffer;
  readonly check: Check;
  /** The wait for the answer, ms. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/** How a transport ends its exchange: with the answer, or with why it failed. */
interface Settle {
  /** Whether the exchange has ended. */
  settled(): boolean;
  ok(response: DnsResponse): void;
  fail(reason: Error): void;
}

/** A transport's side of an exchange: its socket, opened by `open` in `runExchange`. */
interface Transport {
  /** Closes the socket. */
  close(): void;
  /** Why the exchange failed when the time ran out. */
  timedOut(): string;
}

/**
 * Runs one exchange: rejects at once when the signal is already aborted; otherwise `open` opens
 * the transport's socket, which settles the exchange through `done`, as do the signal and the
 * timer. It settles once; the socket is closed, the timer cancelled and the abort listener
 * removed as it does.
 */
function runExchange(
  { timeoutMs, clock, signal }: Exchange,
  open: (done: Settle) => Transport,
): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    let settled = false;
    const end = (): boolean => {
      if (settled) return false;
      settled = true;
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
      transport.close();
      return true;
    };
    const done: Settle = {
      settled: () => settled,
      ok: (response) => {
        if (end()) resolve(response);
      },
      fail: (reason) => {
        if (end()) reject(reason);
      },
    };
    const onAbort = (): void => done.fail(abortReason(signal));
    const transport = open(done);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer: Timer = clock.setTimeout(
      () => done.fail(new Error(transport.timedOut())),
      timeoutMs,
    );
  });
}

/** One query over UDP on a connected socket (so only the server's datagrams arrive). */
function udpExchange(exchange: Exchange): Promise<DnsResponse> {
  const { server, query, check, timeoutMs } = exchange;
  return runExchange(exchange, (done) => {
    const socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    let ignored = 0;
    let firstIgnored = '';
    socket.on('error', (error) => done.fail(new Error(describeNetError(error, 'UDP'))));
    socket.on('message', (message) => {
      const result = check(message);
      if (typeof result !== 'string') {
        done.ok(result);
        return;
      }
      // Not an answer to this query: ignored, as a resolver must (RFC 5452 §9.1), but told.
      ignored++;
      firstIgnored ||= result;
    });
    socket.connect(server.port, server.host, () => {
      if (done.settled()) return;
      socket.send(query, (error) => {
        if (error) done.fail(new Error(describeNetError(error, 'UDP')));
      });
    });
    return {
      close: () => socket.close(),
      timedOut: () => {
        const why = ignored === 0 ? '' : ` (ignored ${ignored} datagram(s): ${firstIgnored})`;
        return `gave no answer over UDP within ${timeoutMs} ms${why}`;
      },
    };
  });
}

/** One query over TCP, with the two-byte length prefix of RFC 1035 §4.2.2. */
function tcpExchange(exchange: Exchange): Promise<DnsResponse> {
  const { server, query, check, timeoutMs } = exchange;
  return runExchange(exchange, (done) => {
    const socket: Socket = connect({ host: server.host, port: server.port, family: server.family });
    let received = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('error', (error) => done.fail(new Error(describeNetError(error, 'TCP'))));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const result = check(received.subarray(2, 2 + length));
      if (typeof result === 'string') done.fail(new Error(`sent over TCP ${result}`));
      else done.ok(result);
    });
    socket.on('close', () =>
      done.fail(new Error('closed the TCP connection before answering in full')),
    );
    return {
      close: () => socket.destroy(),
      timedOut: () => `gave no answer over TCP within ${timeoutMs} ms`,
    };
  });
}
