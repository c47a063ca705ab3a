/**
 * The adapter contract suite: one set of behavioural checks that every detour adapter (gRPC,
 * nice-grpc, fetch) must pass against real servers, so that they behave alike where they should
 * (connect-es runs one conformance suite for every transport in the same way).
 *
 * It is framework-neutral: `adapterContract(harness)` returns plain cases, each with a name and
 * a `run()` that rejects with an `Error` saying what was expected and what happened when the
 * adapter breaks the contract. The harness, written once per adapter, starts the servers, builds
 * a client through the adapter, and says what kind of error a failed call surfaced. The suite
 * never reads a clock: it asserts counts and outcomes, and waits only through `harness.sleep()`,
 * in a bounded number of steps.
 *
 *   for (const c of adapterContract(harness)) it(c.name, c.run);
 */

/**
 * How a contract endpoint answers:
 * - `ok`: answers with success.
 * - `unavailable`: the application receives the request, then fails it with a retryable error
 *   (gRPC UNAVAILABLE from the handler, HTTP 503): the request was processed.
 * - `invalid`: the application receives the request, then fails it with an error that must not
 *   be retried (gRPC INVALID_ARGUMENT, HTTP 400).
 * - `hang`: the application receives the request and never answers.
 */
export type ContractEndpointMode = 'ok' | 'unavailable' | 'invalid' | 'hang';

/** One real server (endpoint) under the harness's control. */
export interface ContractEndpoint {
  /** What the client dials, and what `ContractReply.endpoint` names when this endpoint answers. */
  readonly address: string;
  /** How the endpoint answers from now on. A new endpoint is `ok`. */
  setMode(mode: ContractEndpointMode): void;
  /** Requests this endpoint's application received (in any mode). */
  readonly received: number;
  /**
   * Requests the application received and then saw cancelled or aborted by the client before
   * it answered them (a hanging request whose attempt was cut, lost a hedge, or was aborted).
   */
  readonly cancelled: number;
  /**
   * Stops the server for good: afterwards nothing listens at `address`, so connections to it are
   * refused. Idempotent; the suite stops every endpoint it started when a case ends.
   */
  stop(): Promise<void>;
}

/** The call policy of a contract client (core's `CallPolicy`, in the terms of the adapter). */
export interface ContractClientOptions {
  /** Attempts per call at most, the first included (core's `maxAttempts`). */
  readonly maxAttempts: number;
  /**
   * Whether the client's calls may run twice (core's `idempotent`, gRPC's `idempotentMethods`
   * or a per-call option, HTTP's method). A call that is not idempotent may be retried only when
   * its request certainly was not processed.
   */
  readonly idempotent: boolean;
  /** Timeout of each attempt, ms (core's `attemptTimeoutMs`); undefined for none. */
  readonly attemptTimeoutMs?: number;
  /** Delay before a backup attempt, ms (core's `hedge: { delayMs }`); undefined for no hedging. */
  readonly hedgeDelayMs?: number;
}

/** Per-call options of `ContractClient.call()`. */
export interface ContractCallOptions {
  /** The caller's abort signal, handed to the transport's own cancellation. */
  readonly signal?: AbortSignal;
}

/** What a successful call returns. */
export interface ContractReply {
  /** The `address` of the endpoint that answered. */
  readonly endpoint: string;
}

/** A client of the endpoints, through the adapter under test. */
export interface ContractClient {
  /** One call (unary request and response); rejects with what the adapter surfaces. */
  call(options?: ContractCallOptions): Promise<ContractReply>;
  /** Closes the client and everything the adapter made for it. Must be idempotent. */
  close(): Promise<void> | void;
}

/**
 * What a failed call surfaced, in transport-neutral terms:
 * - `unavailable`: a retryable failure (gRPC UNAVAILABLE, HTTP 503 or a network error).
 * - `deadline`: an attempt timeout or deadline (gRPC DEADLINE_EXCEEDED, HTTP 504 or a timeout).
 * - `invalid`: the caller's error (gRPC INVALID_ARGUMENT, HTTP 400).
 * - `cancelled`: the caller aborted (gRPC CANCELLED, an `AbortError`).
 * - `other`: anything else.
 */
export type ContractErrorKind = 'unavailable' | 'deadline' | 'invalid' | 'cancelled' | 'other';

/** What `AdapterHarness.describeError()` says about an error. */
export interface ContractErrorDescription {
  readonly kind: ContractErrorKind;
}

/**
 * Timing of the suite, ms. The defaults suit real servers on the loopback interface; an
 * in-memory harness may shrink them, a slow transport stretch them.
 */
export interface ContractTiming {
  /**
   * Attempt timeout in the cases with a hanging endpoint. It must comfortably exceed a healthy
   * call, connection establishment included. Default 250.
   */
  readonly attemptTimeoutMs?: number;
  /** Hedge delay in the hedging case; shorter than `attemptTimeoutMs`. Default 50. */
  readonly hedgeDelayMs?: number;
  /**
   * Longest the suite waits for anything: a call to settle, a cancellation to reach a server.
   * A case that waits longer fails, naming what it waited for. Default 5000.
   */
  readonly settleMs?: number;
  /** Step of the suite's polling (`harness.sleep(pollMs)` between looks). Default 10. */
  readonly pollMs?: number;
}

/** What an adapter's test provides to run the contract suite: servers, a client, a clock. */
export interface AdapterHarness {
  /** Starts `count` fresh endpoints (real servers, each answering `ok`). */
  startEndpoints(count: number): Promise<readonly ContractEndpoint[]>;
  /**
   * A client through the adapter over `endpoints`, with `options` as its call policy. The suite
   * relies on two things of it:
   * - Order: each call's first attempt goes to `endpoints[0]`, and each retry or hedge to the
   *   first endpoint in array order that the call has not tried yet (core's `priority-groups`
   *   selector with `priority` = index does this), then back to tried ones.
   * - No judgement of its own: no failure detection, no active health checks, no retry budget,
   *   so that every count depends on the calls alone (core: `detectors: []`, `budget: false`).
   */
  createClient(
    endpoints: readonly ContractEndpoint[],
    options: ContractClientOptions,
  ): Promise<ContractClient> | ContractClient;
  /** What kind of failure `error`, rejected by `ContractClient.call()`, reports. */
  describeError(error: unknown): ContractErrorDescription;
  /**
   * Resolves after `ms`, or as soon as `signal` aborts. Must not reject. The suite's only
   * source of time (core itself has no timers).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** The suite's timing; each value left out takes its default. */
  readonly timing?: ContractTiming;
}

/** One behavioural check of the contract. */
export interface ContractCase {
  /** A sentence saying what the adapter does, for the test's title. Unique within the suite. */
  readonly name: string;
  /**
   * Runs the check on fresh endpoints and a fresh client, stopping and closing them when done.
   * Rejects with an `Error` saying what was expected and what happened when the adapter breaks
   * the contract. Needs no `this`: pass it as it is to a test framework.
   */
  readonly run: () => Promise<void>;
}

const defaultTiming: Readonly<Required<ContractTiming>> = Object.freeze({
  attemptTimeoutMs: 250,
  hedgeDelayMs: 50,
  settleMs: 5000,
  pollMs: 10,
});

/** `timing` with its defaults; throws for a value that is not a positive finite number. */
function resolveTiming(given: ContractTiming | undefined): Readonly<Required<ContractTiming>> {
  const ms = (key: keyof ContractTiming): number => {
    const value: unknown = given?.[key];
    if (value === undefined) return defaultTiming[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(
        `adapter contract: timing.${key} must be a positive number of ms, got ${describeValue(value)}`,
      );
    }
    return value;
  };
  return Object.freeze({
    attemptTimeoutMs: ms('attemptTimeoutMs'),
    hedgeDelayMs: ms('hedgeDelayMs'),
    settleMs: ms('settleMs'),
    pollMs: ms('pollMs'),
  });
}

interface Failure {
  readonly kind: ContractErrorKind;
  readonly error: unknown;
}

type Settled =
  | { readonly ok: true; readonly reply: ContractReply }
  | { readonly ok: false; readonly error: unknown };

/** The suite's assertion: throws an `Error` with `message` unless `condition` holds. */
function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`adapter contract: ${message}`);
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** What the suite needs while one case runs: the harness, its timing, and what to clean up. */
class CaseScope {
  readonly #harness: AdapterHarness;
  readonly timing: Readonly<Required<ContractTiming>>;
  readonly #endpoints: ContractEndpoint[] = [];
  readonly #clients: ContractClient[] = [];

  constructor(harness: AdapterHarness, timing: Readonly<Required<ContractTiming>>) {
    this.#harness = harness;
    this.timing = timing;
  }

  async endpoints(count: number): Promise<readonly ContractEndpoint[]> {
    const started = await this.#harness.startEndpoints(count);
    this.#endpoints.push(...started);
    check(
      started.length === count,
      `startEndpoints(${count}): expected ${count} endpoints, got ${started.length}`,
    );
    return started;
  }

  async client(
    endpoints: readonly ContractEndpoint[],
    options: ContractClientOptions,
  ): Promise<ContractClient> {
    const client = await this.#harness.createClient(endpoints, options);
    this.#clients.push(client);
    return client;
  }

  kind(error: unknown): ContractErrorKind {
    return this.#harness.describeError(error).kind;
  }

  /**
   * Starts a call; a synchronous throw counts as a rejected call. The promise is marked handled
   * (a case may poll before it awaits the call, which may fail meanwhile).
   */
  start(client: ContractClient, options?: ContractCallOptions): Promise<ContractReply> {
    let call: Promise<ContractReply>;
    try {
      call = client.call(options);
    } catch (error) {
      call = Promise.resolve().then((): never => {
        throw error;
      });
    }
    call.catch(() => undefined);
    return call;
  }

  /**
   * How `call` settles; fails the case when it does not within `settleMs` (an adapter that
   * ignores a timeout or an abort would otherwise hang the test until the framework's timeout).
   */
  async settle(call: Promise<ContractReply>, what: string): Promise<Settled> {
    const stop = new AbortController();
    const settled = call.then(
      (reply): Settled => ({ ok: true, reply }),
      (error: unknown): Settled => ({ ok: false, error }),
    );
    const limit = this.#harness.sleep(this.timing.settleMs, stop.signal).then(
      () => undefined,
      () => undefined,
    );
    const result = await Promise.race([settled, limit]);
    stop.abort();
    check(
      result !== undefined,
      `${what}: expected it to settle, still pending after ${this.timing.settleMs} ms`,
    );
    return result;
  }

  /** The reply of a call that must succeed. */
  async succeeds(call: Promise<ContractReply>, what: string): Promise<ContractReply> {
    const result = await this.settle(call, what);
    if (result.ok) return result.reply;
    const kind = this.kind(result.error);
    throw new Error(
      `adapter contract: ${what}: expected a reply, got an error of kind ${kind} (${describeValue(result.error)})`,
    );
  }

  /** The error of a call that must fail, and its kind. */
  async fails(call: Promise<ContractReply>, what: string): Promise<Failure> {
    const result = await this.settle(call, what);
    if (!result.ok) return { kind: this.kind(result.error), error: result.error };
    throw new Error(
      `adapter contract: ${what}: expected it to fail, got a reply from ${result.reply.endpoint}`,
    );
  }

  /** Waits, in steps of `pollMs` for at most `settleMs`, until `value()` is `expected`. */
  async eventually(what: string, value: () => number, expected: number): Promise<void> {
    const steps = Math.max(1, Math.ceil(this.timing.settleMs / this.timing.pollMs));
    for (let i = 0; i < steps; i++) {
      if (value() === expected) return;
      await this.#harness.sleep(this.timing.pollMs);
    }
    const last = value();
    check(
      last === expected,
      `${what}: expected ${expected} within ${this.timing.settleMs} ms, got ${last}`,
    );
  }

  /** Closes every client and stops every endpoint; the first error wins. */
  async cleanup(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const client of this.#clients.splice(0)) {
      try {
        await client.close();
      } catch (error) {
        failure ??= { error };
      }
    }
    const stops = await Promise.allSettled(this.#endpoints.splice(0).map((e) => e.stop()));
    for (const stop of stops) if (stop.status === 'rejected') failure ??= { error: stop.reason };
    if (failure) throw failure.error;
  }
}

function expectKind(failure: Failure, expected: ContractErrorKind, what: string): void {
  check(
    failure.kind === expected,
    `${what}: expected an error of kind ${expected}, got ${failure.kind} (${describeValue(failure.error)})`,
  );
}

function expectCount(endpoint: ContractEndpoint, expected: number, what: string): void {
  check(
    endpoint.received === expected,
    `${what}: expected ${endpoint.address} to receive ${expected} request${expected === 1 ? '' : 's'}, got ${endpoint.received}`,
  );
}

function expectFrom(reply: ContractReply, endpoint: ContractEndpoint, what: string): void {
  check(
    reply.endpoint === endpoint.address,
    `${what}: expected the reply from ${endpoint.address}, got it from ${reply.endpoint}`,
  );
}

function received(endpoints: readonly ContractEndpoint[]): number {
  return endpoints.reduce((sum, e) => sum + e.received, 0);
}

/**
 * A first call while every endpoint is `ok`: it goes to `endpoints[0]` and leaves the client
 * connected to it, so that a later request to that endpoint reaches it at once (connection
 * set-up does not eat into an attempt timeout). Afterwards `endpoints[0]` has received 1.
 */
async function warmUp(
  scope: CaseScope,
  client: ContractClient,
  endpoints: readonly ContractEndpoint[],
): Promise<void> {
  const reply = await scope.succeeds(scope.start(client), 'the warm-up call');
  expectFrom(reply, endpoints[0]!, 'the warm-up call (first attempt in endpoint order)');
}

type CaseBody = (scope: CaseScope) => Promise<void>;

function cases(timing: Readonly<Required<ContractTiming>>): [string, CaseBody][] {
  const timeout = timing.attemptTimeoutMs;
  return [
    [
      'answers through the first endpoint in order',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], { maxAttempts: 3, idempotent: true });
        const reply = await scope.succeeds(scope.start(client), 'a call');
        expectFrom(reply, a!, 'a call');
        expectCount(a!, 1, 'the first endpoint');
        expectCount(b!, 0, 'the second endpoint');
      },
    ],
    [
      'fails over from a retryable failure to another endpoint, trying each once',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        a!.setMode('unavailable');
        const client = await scope.client([a!, b!], { maxAttempts: 3, idempotent: true });
        const reply = await scope.succeeds(scope.start(client), 'an idempotent call');
        expectFrom(reply, b!, 'an idempotent call');
        expectCount(a!, 1, 'the failing endpoint');
        expectCount(b!, 1, 'the healthy endpoint');
      },
    ],
    [
      'sends a retry to an endpoint the call has not tried before a tried one',
      async (scope) => {
        const [a, b, c] = await scope.endpoints(3);
        a!.setMode('unavailable');
        b!.setMode('unavailable');
        const client = await scope.client([a!, b!, c!], { maxAttempts: 3, idempotent: true });
        const reply = await scope.succeeds(scope.start(client), 'an idempotent call');
        expectFrom(reply, c!, 'an idempotent call');
        expectCount(a!, 1, 'the first failing endpoint');
        expectCount(b!, 1, 'the second failing endpoint');
        expectCount(c!, 1, 'the healthy endpoint');
      },
    ],
    [
      'fails over from a stopped endpoint even for a call that is not idempotent (nothing was sent)',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        await a!.stop();
        const client = await scope.client([a!, b!], { maxAttempts: 2, idempotent: false });
        const reply = await scope.succeeds(scope.start(client), 'a non-idempotent call');
        expectFrom(reply, b!, 'a non-idempotent call');
        expectCount(a!, 0, 'the stopped endpoint');
        expectCount(b!, 1, 'the healthy endpoint');
      },
    ],
    [
      'does not retry a call that is not idempotent once an endpoint processed and failed it',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        a!.setMode('unavailable');
        const client = await scope.client([a!, b!], { maxAttempts: 3, idempotent: false });
        const failure = await scope.fails(scope.start(client), 'a non-idempotent call');
        expectKind(failure, 'unavailable', 'a non-idempotent call');
        expectCount(a!, 1, 'the failing endpoint');
        expectCount(b!, 0, 'the other endpoint');
      },
    ],
    [
      'does not retry a non-retryable error and surfaces it as invalid',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        a!.setMode('invalid');
        const client = await scope.client([a!, b!], { maxAttempts: 3, idempotent: true });
        const failure = await scope.fails(scope.start(client), 'an idempotent call');
        expectKind(failure, 'invalid', 'an idempotent call');
        expectCount(a!, 1, 'the endpoint rejecting the request');
        expectCount(b!, 0, 'the other endpoint');
      },
    ],
    [
      'cuts a hanging attempt at the attempt timeout and fails an idempotent call over',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], {
          maxAttempts: 2,
          idempotent: true,
          attemptTimeoutMs: timeout,
        });
        await warmUp(scope, client, [a!, b!]);
        a!.setMode('hang');
        const reply = await scope.succeeds(scope.start(client), 'an idempotent call');
        expectFrom(reply, b!, 'an idempotent call');
        expectCount(a!, 2, 'the hanging endpoint (warm-up included)');
        expectCount(b!, 1, 'the healthy endpoint');
        await scope.eventually("the hanging endpoint's cancelled requests", () => a!.cancelled, 1);
      },
    ],
    [
      'does not retry a call that is not idempotent after its attempt timed out on an endpoint that received it',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], {
          maxAttempts: 2,
          idempotent: false,
          attemptTimeoutMs: timeout,
        });
        await warmUp(scope, client, [a!, b!]);
        a!.setMode('hang');
        const failure = await scope.fails(scope.start(client), 'a non-idempotent call');
        expectKind(failure, 'deadline', 'a non-idempotent call');
        expectCount(a!, 2, 'the hanging endpoint (warm-up included)');
        expectCount(b!, 0, 'the other endpoint');
        await scope.eventually("the hanging endpoint's cancelled requests", () => a!.cancelled, 1);
      },
    ],
    [
      'gives up after maxAttempts attempts when every endpoint fails, surfacing unavailable',
      async (scope) => {
        const endpoints = await scope.endpoints(2);
        for (const endpoint of endpoints) endpoint.setMode('unavailable');
        const client = await scope.client(endpoints, { maxAttempts: 3, idempotent: true });
        const failure = await scope.fails(scope.start(client), 'an idempotent call');
        expectKind(failure, 'unavailable', 'an idempotent call');
        const total = received(endpoints);
        check(total === 3, `requests received in all: expected 3 (maxAttempts), got ${total}`);
        for (const endpoint of endpoints) {
          check(
            endpoint.received >= 1,
            `expected every endpoint to be tried, ${endpoint.address} received ${endpoint.received}`,
          );
        }
      },
    ],
    [
      'surfaces a deadline when every attempt times out',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], {
          maxAttempts: 2,
          idempotent: true,
          attemptTimeoutMs: timeout,
        });
        await warmUp(scope, client, [a!, b!]);
        a!.setMode('hang');
        b!.setMode('hang');
        const failure = await scope.fails(scope.start(client), 'an idempotent call');
        expectKind(failure, 'deadline', 'an idempotent call');
        expectCount(a!, 2, 'the first endpoint (warm-up included)');
        check(
          b!.received <= 1,
          `expected the second endpoint to receive at most 1 request, got ${b!.received}`,
        );
        await scope.eventually("the first endpoint's cancelled requests", () => a!.cancelled, 1);
        await scope.eventually(
          "the second endpoint's cancelled requests",
          () => b!.cancelled,
          b!.received,
        );
      },
    ],
    [
      "rejects the call as cancelled when the caller's signal aborts, and cancels the attempt in flight",
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], { maxAttempts: 2, idempotent: true });
        await warmUp(scope, client, [a!, b!]);
        a!.setMode('hang');
        const controller = new AbortController();
        const call = scope.start(client, { signal: controller.signal });
        await scope.eventually("the hanging endpoint's received requests", () => a!.received, 2);
        controller.abort();
        const failure = await scope.fails(call, 'the aborted call');
        expectKind(failure, 'cancelled', 'the aborted call');
        await scope.eventually("the hanging endpoint's cancelled requests", () => a!.cancelled, 1);
        expectCount(b!, 0, 'the other endpoint (no failover after an abort)');
      },
    ],
    [
      'rejects a call whose signal is already aborted as cancelled, sending nothing',
      async (scope) => {
        const [a] = await scope.endpoints(1);
        const client = await scope.client([a!], { maxAttempts: 2, idempotent: true });
        await warmUp(scope, client, [a!]);
        const controller = new AbortController();
        controller.abort();
        const failure = await scope.fails(
          scope.start(client, { signal: controller.signal }),
          'a call with an aborted signal',
        );
        expectKind(failure, 'cancelled', 'a call with an aborted signal');
        expectCount(a!, 1, 'the endpoint (warm-up only)');
      },
    ],
    [
      'hedges: sends a backup attempt to another endpoint while the first hangs, and cancels the loser',
      async (scope) => {
        const [a, b] = await scope.endpoints(2);
        const client = await scope.client([a!, b!], {
          maxAttempts: 2,
          idempotent: true,
          hedgeDelayMs: timing.hedgeDelayMs,
        });
        await warmUp(scope, client, [a!, b!]);
        a!.setMode('hang');
        const reply = await scope.succeeds(scope.start(client), 'an idempotent call');
        expectFrom(reply, b!, 'an idempotent call');
        expectCount(a!, 2, 'the hanging endpoint (warm-up included)');
        expectCount(b!, 1, 'the backup endpoint');
        await scope.eventually("the hanging endpoint's cancelled requests", () => a!.cancelled, 1);
      },
    ],
    [
      'close() ends the calls in flight and makes later calls fail',
      async (scope) => {
        const [a] = await scope.endpoints(1);
        const client = await scope.client([a!], { maxAttempts: 2, idempotent: true });
        await warmUp(scope, client, [a!]);
        a!.setMode('hang');
        const call = scope.start(client);
        await scope.eventually("the hanging endpoint's received requests", () => a!.received, 2);
        await client.close();
        await scope.fails(call, 'the call in flight at close()');
        await scope.eventually("the hanging endpoint's cancelled requests", () => a!.cancelled, 1);
        a!.setMode('ok');
        await scope.fails(scope.start(client), 'a call after close()');
        expectCount(a!, 2, 'the endpoint (nothing sent after close())');
        await client.close(); // a second close() is harmless
      },
    ],
  ];
}

/**
 * The adapter contract suite for one adapter: every case, in a fixed order, to hand to a test
 * framework (`for (const c of adapterContract(harness)) it(c.name, c.run)`). Each case starts
 * its own endpoints and client through `harness` and stops and closes them when it ends, passed
 * or failed. Cases are independent; filter them by `name` to run a few.
 *
 * @param harness the adapter's servers, client, error kinds and sleep.
 * @throws Error when `harness.timing` holds a value that is not a positive finite number.
 */
export function adapterContract(harness: AdapterHarness): readonly ContractCase[] {
  const timing = resolveTiming(harness.timing);
  return Object.freeze(
    cases(timing).map(([name, body]) =>
      Object.freeze({
        name,
        run: async (): Promise<void> => {
          const scope = new CaseScope(harness, timing);
          try {
            await body(scope);
          } catch (error) {
            await scope.cleanup().catch(() => undefined);
            throw error;
          }
          await scope.cleanup();
        },
      }),
    ),
  );
}
