/**
 * A steady stream of unary SayHello calls through one greeter client (or of any calls made by a
 * `send` function, such as `GET /hello` through a fetch), for the chaos tests: a call starts
 * every 20–50 ms whether or not the earlier ones have ended, each with its own deadline, and
 * every call's outcome is kept (which replica answered, or the error).
 *
 * ```ts
 * const traffic = new UnaryTraffic(client);
 * traffic.start();
 * const mark = traffic.mark();
 * // … break something …
 * expect(traffic.failures(mark)).toEqual([]);
 * await traffic.stop();
 * ```
 */
import type { GreeterClient } from '../../examples/greeter-cluster/greeter-client.js';
import { grpc } from '../../examples/greeter-cluster/grpc-js.js';

/** One finished call. */
export interface CallRecord {
  /** Start order, from 0. */
  readonly seq: number;
  /** `performance.now()` at start and at the end. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** The replica named in the reply text (`Hello <name> from <replica>`), when it succeeded. */
  readonly replica: string | undefined;
  /** The `x-replica` response header, when headers came. */
  readonly header: string | undefined;
  /** The status the client saw (a gRPC code, an HTTP status or an error code), when it failed. */
  readonly error: { readonly code: number | string; readonly details: string } | undefined;
}

/** What one call of a `send` function ended with. */
export type SendResult =
  | { readonly replica: string; readonly header: string | undefined }
  | { readonly error: { readonly code: number | string; readonly details: string } };

/** Makes call number `seq` with a deadline of `deadlineMs`; never rejects. */
export type Send = (seq: number, deadlineMs: number) => Promise<SendResult>;

export interface UnaryTrafficOptions {
  /** Gaps between call starts, ms, used in turn. Default 20, 35, 50, 25, 45, 30, 40. */
  readonly gapsMs?: readonly number[];
  /** Each call's deadline, ms from its start. Default 2000. */
  readonly deadlineMs?: number;
}

const replyPattern = /^Hello \S+ from (\S+)$/;

export class UnaryTraffic {
  readonly #send: Send;
  readonly #gaps: readonly number[];
  readonly #deadlineMs: number;
  readonly #records: CallRecord[] = [];
  readonly #inflight = new Set<Promise<void>>();
  #started = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(client: GreeterClient | Send, options: UnaryTrafficOptions = {}) {
    this.#send = typeof client === 'function' ? client : sayHelloSender(client);
    this.#gaps = options.gapsMs ?? [20, 35, 50, 25, 45, 30, 40];
    this.#deadlineMs = options.deadlineMs ?? 2_000;
  }

  /** Starts sending; a no-op while running. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#next();
  }

  /** Stops sending and waits for the calls in flight to end. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await Promise.all(this.#inflight);
  }

  /** The sequence number of the next call: pass it to `since`, `failures`, `share`. */
  mark(): number {
    return this.#started;
  }

  /** Calls started so far. */
  get started(): number {
    return this.#started;
  }

  /** How long starting `count` calls takes at the planned gaps, ms (timers late by load add more). */
  plannedMs(count: number): number {
    let ms = 0;
    for (let i = 0; i < count; i++) ms += this.#gaps[i % this.#gaps.length]!;
    return ms;
  }

  /** Calls in flight. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Finished calls that started at or after `mark`, in start order. */
  since(mark = 0): CallRecord[] {
    return this.#records.filter((r) => r.seq >= mark).sort((a, b) => a.seq - b.seq);
  }

  /** Failed calls that started at or after `mark`. */
  failures(mark = 0): CallRecord[] {
    return this.since(mark).filter((r) => r.error !== undefined);
  }

  /** Successful calls since `mark` answered by `replica`. */
  answeredBy(replica: string, mark = 0): number {
    return this.since(mark).filter((r) => r.replica === replica).length;
  }

  /** The share (0–1) of the last `count` finished calls since `mark` that `replica` answered. */
  share(replica: string, mark: number, count: number): number {
    const last = this.since(mark).slice(-count);
    if (last.length === 0) return 0;
    return last.filter((r) => r.replica === replica).length / last.length;
  }

  /** Waits until `count` calls that started at or after `mark` have finished. */
  async waitForCalls(mark: number, count: number, timeoutMs = 10_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.since(mark).length < count) {
      if (performance.now() > end) {
        throw new Error(`only ${this.since(mark).length} of ${count} calls within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #next(): void {
    if (!this.#running) return;
    this.#sendNext();
    const gap = this.#gaps[this.#started % this.#gaps.length]!;
    this.#timer = setTimeout(() => this.#next(), gap);
  }

  #sendNext(): void {
    const seq = this.#started++;
    const startedAt = performance.now();
    const done = this.#send(seq, this.#deadlineMs).then((result) => {
      this.#records.push({
        seq,
        startedAt,
        endedAt: performance.now(),
        replica: 'replica' in result ? result.replica : undefined,
        header: 'replica' in result ? result.header : undefined,
        error: 'error' in result ? result.error : undefined,
      });
    });
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
  }
}

/** SayHello calls through a generated greeter client. */
function sayHelloSender(client: GreeterClient): Send {
  return (seq, deadlineMs) =>
    new Promise((resolve) => {
      let header: string | undefined;
      const call = client.sayHello(
        { name: `c${seq}` },
        { deadline: Date.now() + deadlineMs },
        (error, reply) => {
          if (error) {
            resolve({ error: { code: error.code, details: error.details } });
            return;
          }
          const match = replyPattern.exec(reply!.message);
          resolve({ replica: match?.[1] ?? `unparsed: ${reply!.message}`, header });
        },
      );
      call.on('metadata', (metadata: grpc.Metadata) => {
        const value = metadata.get('x-replica')[0];
        header = value === undefined ? undefined : String(value);
      });
    });
}

/** A readable summary of failed calls, for assertion messages. */
export function describeFailures(records: readonly CallRecord[]): string[] {
  return records.map(
    (r) =>
      `#${r.seq} after ${Math.round(r.endedAt - r.startedAt)} ms: ${typeof r.error!.code === 'number' && r.error!.code < 17 ? grpc.status[r.error!.code] : r.error!.code} ${r.error!.details}`,
  );
}
