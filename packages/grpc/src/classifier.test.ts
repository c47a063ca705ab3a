import type { AttemptResult, Classification, Endpoint } from '@detour/core';
import { CallFailedError, createPool, DetourConfigError } from '@detour/core';
import type { ServiceError } from '@grpc/grpc-js';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { grpcJsBefore } from './test-support/grpc-js-version.js';
import { grpcClassifier, parsePushback } from './classifier.js';
import { GrpcAttemptError } from './grpc-attempt-error.js';
import { configError } from './test-support/config-error.js';
import type { TestServer } from './test-support/grpc-server.js';
import { openResources, waitForResources } from './test-support/open-handles.js';
import { deadAddress, startGrpcServer } from './test-support/grpc-server.js';
import type { RawHttp2Server } from './test-support/raw-http2-server.js';
import { startRawHttp2Server } from './test-support/raw-http2-server.js';
import type { RawUnaryHandler } from './test-support/raw-unary-service.js';
import { rawUnaryImplementation, rawUnaryService } from './test-support/raw-unary-service.js';
import { unaryAttempt } from './test-support/unary-attempt.js';

function failed(
  code: status,
  details = 'details',
  options: { headers?: boolean; messages?: number; trailers?: Record<string, string[]> } = {},
): AttemptResult<unknown> {
  const metadata = new Metadata();
  for (const [key, values] of Object.entries(options.trailers ?? {})) {
    for (const value of values) metadata.add(key, value);
  }
  return {
    ok: false,
    error: new GrpcAttemptError(
      code,
      details,
      metadata,
      options.headers ?? true,
      options.messages ?? 0,
    ),
  };
}

const classify = grpcClassifier();

function failure(c: Classification): Extract<Classification, { type: 'failure' }> {
  if (c.type !== 'failure') throw new Error(`expected a failure, got ${c.type}`);
  return c;
}

describe('grpcClassifier defaults', () => {
  it('classifies a value as a success', () => {
    expect(classify({ ok: true, value: 'x' })).toEqual({ type: 'success' });
  });

  // Every status code, with response headers received (so nothing is "never sent").
  const table: [status, { retryable: boolean; kind: string; endpointFault: boolean }][] = [
    [status.CANCELLED, { retryable: true, kind: 'error', endpointFault: true }],
    [status.UNKNOWN, { retryable: false, kind: 'error', endpointFault: true }],
    [status.INVALID_ARGUMENT, { retryable: false, kind: 'error', endpointFault: false }],
    [status.DEADLINE_EXCEEDED, { retryable: true, kind: 'timeout', endpointFault: true }],
    [status.NOT_FOUND, { retryable: false, kind: 'error', endpointFault: false }],
    [status.ALREADY_EXISTS, { retryable: false, kind: 'error', endpointFault: false }],
    [status.PERMISSION_DENIED, { retryable: false, kind: 'error', endpointFault: false }],
    [status.RESOURCE_EXHAUSTED, { retryable: false, kind: 'rejected', endpointFault: true }],
    [status.FAILED_PRECONDITION, { retryable: false, kind: 'error', endpointFault: false }],
    [status.ABORTED, { retryable: false, kind: 'error', endpointFault: false }],
    [status.OUT_OF_RANGE, { retryable: false, kind: 'error', endpointFault: false }],
    [status.UNIMPLEMENTED, { retryable: false, kind: 'error', endpointFault: true }],
    [status.INTERNAL, { retryable: false, kind: 'error', endpointFault: true }],
    [status.UNAVAILABLE, { retryable: true, kind: 'error', endpointFault: true }],
    [status.DATA_LOSS, { retryable: false, kind: 'error', endpointFault: true }],
    [status.UNAUTHENTICATED, { retryable: false, kind: 'error', endpointFault: false }],
  ];

  it('covers every failure status code', () => {
    expect(table.map(([code]) => code).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });

  it.each(table)('status %s', (code, expected) => {
    expect(classify(failed(code, 'the details'))).toEqual({
      type: 'failure',
      ...expected,
      processed: true,
      code: status[code],
      message: 'the details',
    });
  });

  it('ignores a cancel by the client itself', () => {
    expect(classify(failed(status.CANCELLED, 'Cancelled on client', { headers: false }))).toEqual({
      type: 'ignore',
    });
  });

  it('treats a rejection with status OK as a lost response, not the endpoint’s fault', () => {
    expect(classify(failed(status.OK, ''))).toMatchObject({
      type: 'failure',
      retryable: false,
      code: 'OK',
      endpointFault: false,
    });
  });

  it('treats a code outside the spec as UNKNOWN and keeps the number', () => {
    expect(classify(failed(99 as status, 'weird'))).toMatchObject({
      type: 'failure',
      retryable: false,
      code: 99,
      endpointFault: true,
    });
  });

  it('classifies any other error as a retryable failure that may have been processed', () => {
    const c = failure(
      classify({ ok: false, error: Object.assign(new Error('boom'), { code: 'ECONNRESET' }) }),
    );
    expect(c).toMatchObject({ retryable: true, message: 'boom', code: 'ECONNRESET' });
    expect(c.processed).not.toBe(false);
  });

  it('accepts a plain grpc-js ServiceError', () => {
    const error: ServiceError = Object.assign(
      new Error('14 UNAVAILABLE: No connection established'),
      { code: status.UNAVAILABLE, details: 'No connection established', metadata: new Metadata() },
    );
    expect(classify({ ok: false, error })).toMatchObject({
      type: 'failure',
      retryable: true,
      processed: false,
      code: 'UNAVAILABLE',
    });
  });
});

describe('grpcClassifier transparent retry (processed: false)', () => {
  const neverSent = [
    'No connection established',
    'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
    'round_robin: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1',
    'Stream refused by server',
    'Channel closed before call started',
    'Name resolution failed for target dns:nowhere.invalid:50051',
  ];

  it.each(neverSent)('UNAVAILABLE "%s" without headers was never processed', (details) => {
    expect(
      failure(classify(failed(status.UNAVAILABLE, details, { headers: false }))),
    ).toMatchObject({
      retryable: true,
      processed: false,
    });
  });

  it('is processed once headers or messages arrived, whatever the details', () => {
    expect(
      failure(classify(failed(status.UNAVAILABLE, 'Stream refused by server', { headers: true })))
        .processed,
    ).toBe(true);
    expect(
      failure(
        classify(
          failed(status.UNAVAILABLE, 'Stream refused by server', { headers: false, messages: 1 }),
        ),
      ).processed,
    ).toBe(true);
  });

  it.each(['Connection dropped', 'read ECONNRESET', 'Received HTTP status code 503'])(
    'UNAVAILABLE "%s" may have been processed',
    (details) => {
      expect(
        failure(classify(failed(status.UNAVAILABLE, details, { headers: false }))).processed,
      ).toBe(true);
    },
  );

  it('applies only to UNAVAILABLE', () => {
    expect(
      failure(classify(failed(status.INTERNAL, 'No connection established', { headers: false })))
        .processed,
    ).toBe(true);
  });
});

describe('grpcClassifier pushback (gRFC A6)', () => {
  const pushback = (...values: string[]) => ({ trailers: { 'grpc-retry-pushback-ms': values } });

  it('makes RESOURCE_EXHAUSTED retryable after the given time', () => {
    expect(classify(failed(status.RESOURCE_EXHAUSTED, 'slow down', pushback('250')))).toMatchObject(
      {
        type: 'failure',
        retryable: true,
        pushbackMs: 250,
        kind: 'rejected',
        code: 'RESOURCE_EXHAUSTED',
      },
    );
    expect(classify(failed(status.RESOURCE_EXHAUSTED, '', pushback('0')))).toMatchObject({
      retryable: true,
      pushbackMs: 0,
    });
  });

  it('leaves RESOURCE_EXHAUSTED without pushback not retryable and without pushbackMs', () => {
    const c = failure(classify(failed(status.RESOURCE_EXHAUSTED, 'quota')));
    expect(c.retryable).toBe(false);
    expect(c).not.toHaveProperty('pushbackMs');
  });

  it.each(['-1', '-250'])('reads a negative value "%s" as do-not-retry (-1)', (value) => {
    expect(classify(failed(status.RESOURCE_EXHAUSTED, '', pushback(value)))).toMatchObject({
      retryable: false,
      pushbackMs: -1,
    });
    // On a retryable code the failure stays retryable (it counts for A6 throttling), and -1
    // tells core not to retry.
    expect(classify(failed(status.UNAVAILABLE, '', pushback(value)))).toMatchObject({
      retryable: true,
      pushbackMs: -1,
    });
  });

  it.each(['', 'soon', '1.5', '10ms', '0x10', '+5', '1e3', ' '])(
    'reads a malformed value %j as do-not-retry (-1)',
    (value) => {
      expect(classify(failed(status.UNAVAILABLE, '', pushback(value)))).toMatchObject({
        pushbackMs: -1,
      });
    },
  );

  it('trims whitespace around a valid value', () => {
    expect(failure(classify(failed(status.UNAVAILABLE, '', pushback(' 100 ')))).pushbackMs).toBe(
      100,
    );
  });

  it('honours pushback on any retryable code', () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED]) {
      expect(classify(failed(code, '', pushback('40')))).toMatchObject({
        retryable: true,
        pushbackMs: 40,
      });
    }
  });

  it('does not make a non-retryable code retryable', () => {
    expect(classify(failed(status.INVALID_ARGUMENT, '', pushback('40')))).toMatchObject({
      retryable: false,
      pushbackMs: 40,
      endpointFault: false,
    });
  });

  it('takes the strictest of repeated values', () => {
    // Two entries, and the comma-joined form grpc-js delivers for a repeated header.
    expect(
      failure(classify(failed(status.UNAVAILABLE, '', pushback('100', '200')))).pushbackMs,
    ).toBe(200);
    expect(failure(classify(failed(status.UNAVAILABLE, '', pushback('100, 200')))).pushbackMs).toBe(
      200,
    );
    expect(failure(classify(failed(status.UNAVAILABLE, '', pushback('100', 'x')))).pushbackMs).toBe(
      -1,
    );
    expect(failure(classify(failed(status.UNAVAILABLE, '', pushback('100, -1')))).pushbackMs).toBe(
      -1,
    );
  });

  it('parsePushback: absent is undefined; a value too long for a number is malformed', () => {
    expect(parsePushback(new Metadata())).toBeUndefined();
    const metadata = new Metadata();
    metadata.add('grpc-retry-pushback-ms', '7');
    expect(parsePushback(metadata)).toBe(7);
    const huge = new Metadata();
    huge.add('grpc-retry-pushback-ms', '9'.repeat(400));
    expect(parsePushback(huge)).toBe(-1);
  });
});

describe('grpcClassifier options', () => {
  it('retryableCodes replaces the default set (numbers or names)', () => {
    const c = grpcClassifier({ retryableCodes: [status.INTERNAL, 'UNKNOWN'] });
    expect(failure(c(failed(status.INTERNAL))).retryable).toBe(true);
    expect(failure(c(failed(status.UNKNOWN))).retryable).toBe(true);
    expect(failure(c(failed(status.UNAVAILABLE))).retryable).toBe(false);
    expect(failure(c(failed(status.DEADLINE_EXCEEDED))).retryable).toBe(false);
  });

  it('pushbackRetryableCodes replaces the codes that pushback makes retryable', () => {
    const none = grpcClassifier({ pushbackRetryableCodes: [] });
    const trailers = { 'grpc-retry-pushback-ms': ['10'] };
    expect(failure(none(failed(status.RESOURCE_EXHAUSTED, '', { trailers }))).retryable).toBe(
      false,
    );
    const aborted = grpcClassifier({ pushbackRetryableCodes: ['ABORTED'] });
    expect(failure(aborted(failed(status.ABORTED, '', { trailers }))).retryable).toBe(true);
    expect(failure(aborted(failed(status.ABORTED))).retryable).toBe(false);
  });

  it('nonEndpointFaultCodes replaces the caller-error set', () => {
    const c = grpcClassifier({ nonEndpointFaultCodes: [status.PERMISSION_DENIED, 'INTERNAL'] });
    expect(failure(c(failed(status.INTERNAL))).endpointFault).toBe(false);
    expect(failure(c(failed(status.PERMISSION_DENIED))).endpointFault).toBe(false);
    expect(failure(c(failed(status.INVALID_ARGUMENT))).endpointFault).toBe(true);
  });

  it('accepts no options and an empty object', () => {
    expect(grpcClassifier({})(failed(status.UNAVAILABLE))).toEqual(
      classify(failed(status.UNAVAILABLE)),
    );
  });

  it.each([
    [null, 'grpcClassifier'],
    [[], 'grpcClassifier'],
    ['UNAVAILABLE', 'grpcClassifier'],
    [{ retryable: [] }, 'grpcClassifier.retryable'],
    [{ maxPushbackMs: 10 }, 'grpcClassifier.maxPushbackMs'],
    [{ retryableCodes: 'UNAVAILABLE' }, 'grpcClassifier.retryableCodes'],
    [{ retryableCodes: [14, 'UNAVAILABE'] }, 'grpcClassifier.retryableCodes[1]'],
    [{ retryableCodes: [0] }, 'grpcClassifier.retryableCodes[0]'],
    [{ retryableCodes: ['OK'] }, 'grpcClassifier.retryableCodes[0]'],
    [{ retryableCodes: [17] }, 'grpcClassifier.retryableCodes[0]'],
    [{ retryableCodes: [1.5] }, 'grpcClassifier.retryableCodes[0]'],
    [{ nonEndpointFaultCodes: [null] }, 'grpcClassifier.nonEndpointFaultCodes[0]'],
    [{ pushbackRetryableCodes: {} }, 'grpcClassifier.pushbackRetryableCodes'],
  ])('rejects %j at construction', (options, option) => {
    const error = configError(() => grpcClassifier(options as never));
    expect(error).toBeInstanceOf(DetourConfigError);
    expect(error.option).toBe(option);
  });
});

// What grpc-js 1.14 really reports, through a plain client turned into a GrpcAttemptError.
describe('grpcClassifier on real grpc-js failures', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  // No test may leave a server or channel open.
  let baseline: string[] = [];
  beforeAll(() => {
    baseline = openResources();
  });
  afterAll(() => waitForResources(baseline));

  async function server(handler: RawUnaryHandler): Promise<TestServer> {
    const started = await startGrpcServer((s) =>
      s.addService(rawUnaryService, rawUnaryImplementation(handler)),
    );
    cleanup.push(() => started.server.forceShutdown());
    return started;
  }

  async function rawServer(
    behaviour: 'refuse-stream' | 'drop-connection',
  ): Promise<RawHttp2Server> {
    const started = await startRawHttp2Server(behaviour);
    cleanup.push(() => started.close());
    return started;
  }

  function errorOf(result: AttemptResult<Buffer>): GrpcAttemptError {
    if (result.ok) throw new Error('expected the attempt to fail');
    return result.error as GrpcAttemptError;
  }

  const ok: RawUnaryHandler = (_call, callback) => callback(null, Buffer.from('ok'));

  it('a port with nothing listening: UNAVAILABLE "No connection established … ECONNREFUSED", never sent', async () => {
    const result = await unaryAttempt(await deadAddress());
    const error = errorOf(result);
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toMatch(/^No connection established\. Last error: .*ECONNREFUSED/);
    expect(error.headersReceived).toBe(false);
    expect(classify(result)).toMatchObject({ type: 'failure', retryable: true, processed: false });
  });

  it.each(['tryShutdown', 'forceShutdown'] as const)(
    'a server stopped with %s before the call: reconnecting is refused, never sent',
    async (how) => {
      const s = await server(ok);
      const client = new Client(s.address, credentials.createInsecure());
      cleanup.push(() => client.close());
      expect((await unaryAttempt(s.address, { client })).ok).toBe(true);
      if (how === 'forceShutdown') s.server.forceShutdown();
      else await new Promise<void>((resolve) => s.server.tryShutdown(() => resolve()));
      const result = await unaryAttempt(s.address, { client });
      expect(errorOf(result).details).toMatch(
        /^No connection established\. Last error: .*ECONNREFUSED/,
      );
      expect(classify(result)).toMatchObject({ retryable: true, processed: false });
    },
  );

  it('a call racing tryShutdown: "Stream refused by server" without transparent retry, then "No connection established" with it', async () => {
    // Transparent retry off: the stream caught by the server's GOAWAY surfaces as refused.
    let handled = 0;
    const counting: RawUnaryHandler = (call, callback) => {
      handled++;
      ok(call, callback);
    };
    const first = await server(counting);
    const noRetry = new Client(first.address, credentials.createInsecure(), {
      'grpc.enable_retries': 0,
    });
    cleanup.push(() => noRetry.close());
    expect((await unaryAttempt(first.address, { client: noRetry })).ok).toBe(true);
    first.server.tryShutdown(() => {});
    const refused = await unaryAttempt(first.address, { client: noRetry });
    expect(errorOf(refused)).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'Stream refused by server',
      headersReceived: false,
    });
    expect(classify(refused)).toMatchObject({ retryable: true, processed: false });

    // grpc-js's default (transparent retry on) retries the refused stream once by itself; the
    // retry finds the port closed.
    const second = await server(counting);
    const withRetry = new Client(second.address, credentials.createInsecure());
    cleanup.push(() => withRetry.close());
    expect((await unaryAttempt(second.address, { client: withRetry })).ok).toBe(true);
    second.server.tryShutdown(() => {});
    const retried = await unaryAttempt(second.address, { client: withRetry });
    expect(errorOf(retried).details).toMatch(
      /^No connection established\. Last error: .*ECONNREFUSED/,
    );
    expect(classify(retried)).toMatchObject({ retryable: true, processed: false });
    expect(handled).toBe(2); // only the two calls before the shutdowns reached the application
  });

  it('RST_STREAM REFUSED_STREAM: "Stream refused by server", never sent (grpc-js retries it once itself)', async () => {
    const raw = await rawServer('refuse-stream');
    const result = await unaryAttempt(raw.address);
    expect(errorOf(result)).toMatchObject({
      code: status.UNAVAILABLE,
      details: 'Stream refused by server',
      headersReceived: false,
    });
    expect(classify(result)).toMatchObject({ retryable: true, processed: false });
    expect(raw.streams()).toBe(2);

    const once = await unaryAttempt(raw.address, { channelOptions: { 'grpc.enable_retries': 0 } });
    expect(errorOf(once).details).toBe('Stream refused by server');
    expect(raw.streams()).toBe(3);
  });

  it('a connection dropped after the request was sent: "Connection dropped", may have been processed', async () => {
    const raw = await rawServer('drop-connection');
    const result = await unaryAttempt(raw.address);
    // grpc-js before 1.12 reports it as CANCELLED "Call cancelled" (subchannel-call.ts changed in
    // 1.12); the classification is the same either way.
    expect(errorOf(result)).toMatchObject(
      grpcJsBefore(12)
        ? { code: status.CANCELLED, details: 'Call cancelled' }
        : { code: status.UNAVAILABLE, details: 'Connection dropped' },
    );
    expect(classify(result)).toMatchObject({ retryable: true, processed: true });
  });

  it('forceShutdown under a call the handler is running: CANCELLED "Call cancelled", retryable but processed', async () => {
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const s = await server(() => handlerStarted());
    const pending = unaryAttempt(s.address);
    await started;
    s.server.forceShutdown();
    const result = await pending;
    expect(errorOf(result)).toMatchObject({
      code: status.CANCELLED,
      details: 'Call cancelled',
      headersReceived: false,
    });
    expect(classify(result)).toMatchObject({
      type: 'failure',
      retryable: true,
      processed: true,
      code: 'CANCELLED',
      endpointFault: true,
    });
  });

  it('forceShutdown after the handler sent headers: CANCELLED with headers received', async () => {
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const s = await server((call) => {
      call.sendMetadata(new Metadata());
      handlerStarted();
    });
    const pending = unaryAttempt(s.address);
    await started;
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the headers arrive
    s.server.forceShutdown();
    const result = await pending;
    expect(errorOf(result)).toMatchObject({ code: status.CANCELLED, headersReceived: true });
    expect(classify(result)).toMatchObject({ retryable: true, processed: true });
  });

  it('a cancel by the client: CANCELLED "Cancelled on client", ignored', async () => {
    const s = await server(() => {});
    const result = await unaryAttempt(s.address, { onStarted: (call) => call.cancel() });
    expect(errorOf(result).details).toBe('Cancelled on client');
    expect(classify(result)).toEqual({ type: 'ignore' });
  });

  it('the attempt deadline: DEADLINE_EXCEEDED, kind timeout, retryable', async () => {
    const s = await server(() => {});
    const result = await unaryAttempt(s.address, { timeoutMs: 100 });
    expect(errorOf(result).code).toBe(status.DEADLINE_EXCEEDED);
    expect(classify(result)).toMatchObject({ kind: 'timeout', retryable: true, processed: true });
  });

  it('RESOURCE_EXHAUSTED with pushback trailers from a real server (repeated header included)', async () => {
    let values = ['120'];
    const s = await server((_call, callback) => {
      const trailers = new Metadata();
      for (const value of values) trailers.add('grpc-retry-pushback-ms', value);
      callback({ code: status.RESOURCE_EXHAUSTED, details: 'shedding', metadata: trailers });
    });
    expect(classify(await unaryAttempt(s.address))).toMatchObject({
      retryable: true,
      pushbackMs: 120,
      kind: 'rejected',
      message: 'shedding',
    });
    values = ['100', '200'];
    const repeated = await unaryAttempt(s.address);
    expect(errorOf(repeated).metadata.get('grpc-retry-pushback-ms')).toEqual(['100, 200']);
    expect(classify(repeated)).toMatchObject({ retryable: true, pushbackMs: 200 });
    values = ['-1'];
    expect(classify(await unaryAttempt(s.address))).toMatchObject({
      retryable: false,
      pushbackMs: -1,
    });
    values = [];
    expect(classify(await unaryAttempt(s.address))).toMatchObject({ retryable: false });
  });

  it('a method the server lacks: UNIMPLEMENTED, not retried, the endpoint’s fault', async () => {
    const s = await startGrpcServer(() => {});
    cleanup.push(() => s.server.forceShutdown());
    const result = await unaryAttempt(s.address);
    expect(errorOf(result)).toMatchObject({ code: status.UNIMPLEMENTED, headersReceived: false });
    expect(classify(result)).toMatchObject({
      retryable: false,
      endpointFault: true,
      code: 'UNIMPLEMENTED',
    });
  });

  it('a caller error with headers sent: INVALID_ARGUMENT, not the endpoint’s fault', async () => {
    const s = await server((call, callback) => {
      call.sendMetadata(new Metadata());
      callback({ code: status.INVALID_ARGUMENT, details: 'bad request' });
    });
    const result = await unaryAttempt(s.address);
    expect(errorOf(result).headersReceived).toBe(true);
    expect(classify(result)).toMatchObject({
      retryable: false,
      processed: true,
      endpointFault: false,
      code: 'INVALID_ARGUMENT',
      message: 'bad request',
    });
  });
});

// The classifier driving core's execute(): transparent retry lets a call that is not
// idempotent fail over, but only when grpc-js says the request never reached the server.
describe('grpcClassifier with pool.execute (real servers)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  function setup(primary: string, fallback: string) {
    const pool = createPool({
      endpoints: [
        { id: 'primary', address: primary, priority: 0 },
        { id: 'fallback', address: fallback, priority: 1 },
      ],
      selector: 'priority-groups',
      detectors: [],
      budget: false,
      metrics: false,
    });
    cleanup.push(() => pool.close());
    const tried: string[] = [];
    const operation = async (endpoint: Endpoint): Promise<Buffer> => {
      tried.push(endpoint.id);
      const result = await unaryAttempt(endpoint.address);
      if (!result.ok) throw result.error;
      return result.value;
    };
    return { pool, tried, operation };
  }

  async function live(): Promise<TestServer> {
    const s = await startGrpcServer((server) =>
      server.addService(
        rawUnaryService,
        rawUnaryImplementation((_call, callback) => callback(null, Buffer.from('live'))),
      ),
    );
    cleanup.push(() => s.server.forceShutdown());
    return s;
  }

  it('a call that is not idempotent fails over from a refused connection', async () => {
    const { pool, tried, operation } = setup(await deadAddress(), (await live()).address);
    const value = await pool.execute(operation, {
      classifier: grpcClassifier(),
      idempotent: false,
    });
    expect(value.toString()).toBe('live');
    expect(tried).toEqual(['primary', 'fallback']);
  });

  it('a call that is not idempotent does not go again once a handler may have run', async () => {
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const stopping = await startGrpcServer((server) =>
      server.addService(
        rawUnaryService,
        rawUnaryImplementation(() => handlerStarted()),
      ),
    );
    cleanup.push(() => stopping.server.forceShutdown());
    const { pool, tried, operation } = setup(stopping.address, (await live()).address);
    void started.then(() => stopping.server.forceShutdown());

    const error: unknown = await pool
      .execute(operation, { classifier: grpcClassifier(), idempotent: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallFailedError);
    expect(error).toMatchObject({ reason: 'not-retryable' });
    expect((error as CallFailedError).attempts[0]).toMatchObject({ code: 'CANCELLED' });
    expect(tried).toEqual(['primary']);
  });

  it('an idempotent call goes again after the server cancelled it', async () => {
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    const stopping = await startGrpcServer((server) =>
      server.addService(
        rawUnaryService,
        rawUnaryImplementation(() => handlerStarted()),
      ),
    );
    cleanup.push(() => stopping.server.forceShutdown());
    const { pool, tried, operation } = setup(stopping.address, (await live()).address);
    void started.then(() => stopping.server.forceShutdown());

    const value = await pool.execute(operation, { classifier: grpcClassifier(), idempotent: true });
    expect(value.toString()).toBe('live');
    expect(tried).toEqual(['primary', 'fallback']);
  });

  it('an INVALID_ARGUMENT ends the call at once and does not count against the endpoint', async () => {
    const invalid = await startGrpcServer((server) =>
      server.addService(
        rawUnaryService,
        rawUnaryImplementation((_call, callback) =>
          callback({ code: status.INVALID_ARGUMENT, details: 'bad' }),
        ),
      ),
    );
    cleanup.push(() => invalid.server.forceShutdown());
    const { pool, tried, operation } = setup(invalid.address, (await live()).address);
    await expect(
      pool.execute(operation, { classifier: grpcClassifier(), idempotent: true }),
    ).rejects.toMatchObject({ reason: 'not-retryable' });
    expect(tried).toEqual(['primary']);
    const primary = pool.snapshot().endpoints.find((e) => e.id === 'primary')!;
    expect(primary.counts.failures).toBe(0);
    expect(primary.faults).toEqual([]);
  });
});
