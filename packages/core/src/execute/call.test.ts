import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Classifier } from '../classifier.js';
import { PoolClosedError, isDetourError } from '../errors.js';
import type { PoolOptions } from '../pool-options.js';
import { createPool } from '../pool.js';
import { ManualClock, flushMicrotasks } from '../testing/manual-clock.js';
import { manualDetector } from '../testing/manual-detector.js';
import { latencyOutlierName } from '../detectors/latency-outlier.js';
import { seededRandom } from '../testing/seeded-random.js';
import { FakeService, ServiceError } from '../test-support/fake-service.js';
import { CallFailedError } from './call-error.js';
import { CallEndedError } from './call.js';
import type { AttemptContext, Operation } from './call.js';
import { firstSelector } from '../test-support/first-selector.js';

const classify: Classifier<string> = (r) => {
  if (r.ok) return { type: 'success' };
  const code = r.error instanceof ServiceError ? r.error.code : 'UNKNOWN';
  const message = r.error instanceof Error ? r.error.message : String(r.error);
  switch (code) {
    case 'REFUSED':
      return { type: 'failure', retryable: true, processed: false, code, message };
    case 'INVALID':
      return { type: 'failure', retryable: false, endpointFault: false, code, message };
    case 'STOP':
      return { type: 'failure', retryable: true, pushbackMs: -1, code, message };
    case 'SLOW_DOWN':
      return { type: 'failure', retryable: true, pushbackMs: 500, kind: 'rejected', code, message };
    case 'GO_AWAY':
      return {
        type: 'failure',
        retryable: true,
        pushbackMs: 60_000,
        kind: 'rejected',
        code,
        message,
      };
    default:
      return { type: 'failure', retryable: true, code, message };
  }
};

function setup(options: Partial<PoolOptions> = {}, ids = ['a', 'b', 'c']) {
  const clock = new ManualClock();
  const service = new FakeService(clock);
  const manual = manualDetector();
  const pool = createPool({
    endpoints: ids.map((id) => ({ id, address: `${id}:1` })),
    selector: firstSelector,
    detectors: [manual],
    clock,
    random: seededRandom(1),
    metrics: false,
    ...options,
    call: { idempotent: true, ...options.call },
  });
  return { clock, service, pool, manual };
}

interface Settled<T> {
  readonly value?: T;
  readonly error?: unknown;
  readonly at: number;
}

/** Lets `promise` run on the manual clock (1 ms steps) until it settles or `maxMs` pass. */
async function settle<T>(
  clock: ManualClock,
  promise: Promise<T>,
  maxMs = 60_000,
): Promise<Settled<T>> {
  let result: Settled<T> | undefined;
  promise.then(
    (value) => (result = { value, at: clock.now() }),
    (error: unknown) => (result = { error, at: clock.now() }),
  );
  await flushMicrotasks();
  const end = clock.now() + maxMs;
  while (!result && clock.now() < end) {
    clock.advance(1);
    await flushMicrotasks();
  }
  if (!result) throw new Error(`still pending after ${maxMs} ms`);
  return result;
}

function failure(s: Settled<unknown>): CallFailedError {
  expect(s.error).toBeInstanceOf(CallFailedError);
  return s.error as CallFailedError;
}

/** An operation whose attempts never settle on their own; it keeps each attempt's context. */
function hanging(): { operation: Operation<string>; contexts: AttemptContext[] } {
  const contexts: AttemptContext[] = [];
  const operation: Operation<string> = (_endpoint, ctx) => {
    contexts.push(ctx);
    return new Promise<string>(() => {});
  };
  return { operation, contexts };
}

/** A call whose attempts settle when the test answers them (`answers[i](value)`). */
function answerable(pool: ReturnType<typeof setup>['pool']): {
  readonly answers: ((value: string) => void)[];
  readonly value: string | undefined;
} {
  const answers: ((value: string) => void)[] = [];
  let value: string | undefined;
  void pool
    .execute(() => new Promise<string>((resolve) => answers.push(resolve)), {
      classifier: classify,
    })
    .then((v) => (value = v));
  return {
    answers,
    get value() {
      return value;
    },
  };
}

/** Runs `body` and returns what it threw on its own turn (listener errors rethrown on a microtask). */
async function uncaught(body: () => Promise<void>): Promise<unknown[]> {
  const errors: unknown[] = [];
  const onError = (error: unknown): void => {
    errors.push(error);
  };
  process.on('uncaughtException', onError);
  try {
    await body();
    await flushMicrotasks();
  } finally {
    process.off('uncaughtException', onError);
  }
  return errors;
}

describe('execute: success and failover', () => {
  it('returns the first success and counts it against the endpoint', async () => {
    const { clock, service, pool } = setup();
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('a');
    expect(pool.get('a')!.successes).toBe(1);
    expect(pool.get('a')!.inflight).toBe(0);
  });

  it('fails over to an untried endpoint at once', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(s.at).toBe(0); // no backoff: the retry went to a fresh endpoint
    expect(service.endpoints).toEqual(['a', 'b']);
    expect(service.log.map((l) => l.kind)).toEqual(['first', 'retry']);
  });

  it('never reuses a tried endpoint while an untried eligible one exists', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 1000 }),
        async (n, maxAttempts, seed) => {
          const ids = Array.from({ length: n }, (_, i) => `e${i}`);
          const clock = new ManualClock();
          const service = new FakeService(clock).setAll({ type: 'fail' });
          const pool = createPool({
            endpoints: ids,
            selector: 'random',
            detectors: [],
            clock,
            random: seededRandom(seed),
            metrics: false,
            budget: false,
          });
          await settle(
            clock,
            pool.execute(service.operation, {
              classifier: classify,
              idempotent: true,
              maxAttempts,
            }),
          );
          const seen = service.endpoints;
          const firstRound = seen.slice(0, Math.min(n, seen.length));
          expect(new Set(firstRound).size).toBe(firstRound.length);
          expect(seen.length).toBe(maxAttempts);
          pool.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('goes back to a tried endpoint, after a backoff, once all were tried', async () => {
    const { clock, service, pool } = setup({ call: { maxAttempts: 3, backoff: 'constant' } }, [
      'a',
      'b',
    ]);
    service.setAll({ type: 'fail' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.endpoints).toEqual(['a', 'b', 'a']);
    expect(service.log[2]!.at).toBe(100); // constant backoff: 100 ms
    const error = failure(s);
    expect(error.reason).toBe('attempts-exhausted');
    expect(error.code).toBe('DETOUR_CALL_FAILED');
  });
});

describe('execute: failover past the eligible endpoints', () => {
  // One endpoint out as a latency outlier: the cap (at most half ejected) keeps the other
  // eligible however it fails, as when a replica judged slow is out and the last one freezes.
  function setupOutlier(options: Partial<PoolOptions> = {}, ids = ['a', 'b']) {
    const outlier = manualDetector(latencyOutlierName);
    const failing = manualDetector('consecutive-failures');
    return { ...setup({ detectors: [outlier, failing], ...options }, ids), outlier, failing };
  }

  it('retries on an endpoint ejected as a latency outlier, at once, before going back to a tried one', async () => {
    const { clock, service, pool, outlier } = setupOutlier();
    expect(outlier.eject('b')).toBe(true);
    service.set('a', { type: 'fail' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(s.at).toBe(0);
    expect(service.log.map((l) => [l.endpoint, l.kind])).toEqual([
      ['a', 'first'],
      ['b', 'retry'],
    ]);
    expect(pool.get('b')!.status).toBe('ejected'); // one call does not end its ejection
  });

  it('does so after the backoff too, without immediate failover', async () => {
    const { clock, service, pool, outlier } = setupOutlier({
      call: { immediateFailover: false, backoff: 'constant' },
    });
    outlier.eject('b');
    service.set('a', { type: 'fail' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(service.log.map((l) => [l.endpoint, l.at])).toEqual([
      ['a', 0],
      ['b', 100],
    ]);
  });

  it('never retries on an endpoint ejected for failing, held out by a health check, or draining', async () => {
    for (const out of ['failing', 'held', 'draining'] as const) {
      const { clock, service, pool, outlier, failing } = setupOutlier(
        { call: { maxAttempts: 3, backoff: 'constant' } },
        ['a', 'b', 'c'],
      );
      if (out === 'failing') failing.eject('b');
      else {
        outlier.eject('b');
        if (out === 'held') failing.hold('b');
        else {
          pool.startAttempt(pool.get('b')!); // an attempt in flight keeps it draining, not gone
          pool.update({ type: 'delta', removed: ['b'] });
        }
      }
      expect(pool.get('b')!.status, out).toBe(out === 'draining' ? 'draining' : 'ejected');
      service.setAll({ type: 'fail' });
      const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
      expect(service.endpoints, out).toEqual(['a', 'c', 'a']);
      expect(failure(s).reason, out).toBe('attempts-exhausted');
      pool.close();
    }
  });

  it('chooses among several latency outliers at random, each a fresh one', async () => {
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const { clock, service, pool, outlier } = setupOutlier(
        {
          random: seededRandom(seed),
          call: { maxAttempts: 3 },
          health: { maxEjectedPercent: 100 },
        },
        ['a', 'b', 'c'],
      );
      outlier.eject('b');
      outlier.eject('c');
      service.setAll({ type: 'fail' });
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
      const [first, second, third] = service.endpoints;
      expect(first).toBe('a');
      expect(new Set([second, third])).toEqual(new Set(['b', 'c']));
      firsts.add(second!);
      pool.close();
    }
    expect(firsts).toEqual(new Set(['b', 'c']));
  });
});

describe('execute: attempts and retries', () => {
  it('never sends more than maxAttempts, whatever the failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.constantFrom('ok', 'fail', 'hang'), { minLength: 3, maxLength: 3 }),
        fc.boolean(),
        async (maxAttempts, modes, hedge) => {
          const { clock, service, pool } = setup({ budget: false });
          ['a', 'b', 'c'].forEach((id, i) =>
            service.set(id, { type: modes[i] as 'ok' | 'fail' | 'hang', latencyMs: 5 }),
          );
          await settle(
            clock,
            pool.execute(service.operation, {
              classifier: classify,
              maxAttempts,
              attemptTimeoutMs: 50,
              hedge: hedge ? { delayMs: 10, maxHedges: 3 } : false,
            }),
          );
          expect(service.log.length).toBeLessThanOrEqual(maxAttempts);
          expect(pool.members().every((r) => r.inflight === 0)).toBe(true);
          pool.close();
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('backs off exponentially with full jitter between retries of the same endpoint', async () => {
    const { clock, service, pool } = setup({ call: { maxAttempts: 4 } }, ['a']);
    service.setAll({ type: 'fail' });
    await settle(clock, pool.execute(service.operation, { classifier: classify }));
    const at = service.log.map((l) => l.at);
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // retry n waits in [0, min(250, 25 × 2^(n−1)))
    expect(gaps[0]).toBeLessThan(25);
    expect(gaps[1]).toBeLessThan(50);
    expect(gaps[2]).toBeLessThan(100);
  });

  it('does not retry a non-idempotent call that may have been processed', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'UNAVAILABLE' });
    const s = await settle(
      clock,
      pool.execute(service.operation, { classifier: classify, idempotent: false }),
    );
    expect(service.endpoints).toEqual(['a']);
    expect(failure(s).reason).toBe('not-retryable');
  });

  it('retries a non-idempotent call that was certainly not processed', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'REFUSED' });
    const s = await settle(
      clock,
      pool.execute(service.operation, { classifier: classify, idempotent: false }),
    );
    expect(s.value).toBe('b');
  });

  it('does not retry a non-retryable failure, nor count it against the endpoint', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'INVALID' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.endpoints).toEqual(['a']);
    const error = failure(s);
    expect(error.reason).toBe('not-retryable');
    expect(error.cause).toBeInstanceOf(ServiceError);
    expect(pool.get('a')!.failures).toBe(0);
  });

  it('treats a synchronous throw of the operation as a failed attempt', async () => {
    const { clock, pool } = setup();
    let calls = 0;
    const s = await settle(
      clock,
      pool.execute(
        (endpoint) => {
          calls++;
          if (endpoint.id === 'a') throw new ServiceError('UNAVAILABLE', 'a');
          return Promise.resolve(endpoint.id);
        },
        { classifier: classify },
      ),
    );
    expect(s.value).toBe('b');
    expect(calls).toBe(2);
  });
});

describe('execute: pushback', () => {
  it('fails over to a fresh endpoint at once: a pushback speaks for the server that sent it', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'SLOW_DOWN' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(service.log[1]!.at).toBe(0);
    expect(pool.get('a')!.faults.toArray()[0]!.kind).toBe('rejected');
  });

  it('waits the pushback instead of the backoff before retrying a tried endpoint', async () => {
    const { clock, service, pool } = setup({}, ['a']);
    service.set('a', { type: 'fail', code: 'SLOW_DOWN' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.log.map((l) => l.at)).toEqual([0, 500, 1000]);
    expect(failure(s).reason).toBe('attempts-exhausted');
  });

  it('does not retry after a negative pushback', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'STOP' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.endpoints).toEqual(['a']);
    expect(failure(s).reason).toBe('not-retryable');
  });

  it('gives up rather than wait a pushback longer than maxPushbackMs, unless a fresh endpoint is left', async () => {
    const single = setup({ call: { maxPushbackMs: 10_000 } }, ['a']);
    single.service.set('a', { type: 'fail', code: 'GO_AWAY' });
    const s = await settle(
      single.clock,
      single.pool.execute(single.service.operation, { classifier: classify }),
    );
    expect(single.service.endpoints).toEqual(['a']);
    expect(s.at).toBe(0);
    expect(failure(s).reason).toBe('not-retryable');

    const { clock, service, pool } = setup({ call: { maxPushbackMs: 10_000 } });
    service.set('a', { type: 'fail', code: 'GO_AWAY' });
    const moved = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(moved.value).toBe('b');
    expect(moved.at).toBe(0);
  });
});

describe('execute: deadlines and attempt timeouts', () => {
  it('costs one attempt timeout for a frozen endpoint, not the whole deadline', async () => {
    const { clock, service, pool } = setup({ call: { deadlineMs: 1000, attemptTimeoutMs: 100 } });
    service.set('a', { type: 'hang' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(s.at).toBe(100);
    expect(service.log[0]!.signal.aborted).toBe(true);
    expect(service.log[0]!.timeoutMs).toBe(100);
    const fault = pool.get('a')!.faults.toArray()[0]!;
    expect(fault.kind).toBe('timeout');
  });

  it('retries a non-idempotent call whose attempt timed out before the request left (markSent(false))', async () => {
    const { clock, service, pool } = setup({ call: { deadlineMs: 1000, attemptTimeoutMs: 100 } });
    service.set('a', { type: 'hang' });
    const s = await settle(
      clock,
      pool.execute(
        (endpoint, ctx) => {
          if (endpoint.id === 'a') ctx.markSent(false); // still connecting
          return service.operation(endpoint, ctx);
        },
        { classifier: classify, idempotent: false },
      ),
    );
    expect(s.value).toBe('b');
    expect(service.endpoints).toEqual(['a', 'b']);
    expect(pool.get('a')!.faults.toArray()[0]!.kind).toBe('timeout');
  });

  it('does not retry a non-idempotent call whose request may have left before the timeout', async () => {
    for (const marks of [[], [true], [false, true]]) {
      const { clock, service, pool } = setup({ call: { deadlineMs: 1000, attemptTimeoutMs: 100 } });
      service.set('a', { type: 'hang' });
      const s = await settle(
        clock,
        pool.execute(
          (endpoint, ctx) => {
            for (const sent of marks) ctx.markSent(sent);
            return service.operation(endpoint, ctx);
          },
          { classifier: classify, idempotent: false },
        ),
      );
      expect(service.endpoints).toEqual(['a']);
      expect(failure(s).reason).toBe('not-retryable');
    }
  });

  it('treats any failure of a request marked unsent as not processed, whatever the classifier guessed', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail', code: 'UNAVAILABLE' });
    const s = await settle(
      clock,
      pool.execute(
        (endpoint, ctx) => {
          ctx.markSent(false);
          return service.operation(endpoint, ctx);
        },
        {
          classifier: (r) =>
            r.ok ? { type: 'success' } : { type: 'failure', retryable: true, processed: true },
          idempotent: false,
        },
      ),
    );
    expect(s.value).toBe('b');
    expect(service.endpoints).toEqual(['a', 'b']);
  });

  it('gives each attempt what is left of the deadline when that is shorter', async () => {
    const { clock, service, pool } = setup({ call: { deadlineMs: 150, attemptTimeoutMs: 100 } });
    service.setAll({ type: 'hang' });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.log.map((l) => [l.at, l.timeoutMs])).toEqual([
      [0, 100],
      [100, 50],
    ]);
    const error = failure(s);
    expect(error.reason).toBe('deadline-exceeded');
    expect(error.code).toBe('DETOUR_DEADLINE_EXCEEDED');
    expect(s.at).toBe(150);
  });

  it('rejects at the deadline even if the operation ignores its signal', async () => {
    const { clock, pool } = setup({ call: { deadlineMs: 200 } });
    const s = await settle(
      clock,
      pool.execute(() => new Promise<string>(() => {}), { classifier: classify }),
    );
    expect(failure(s).reason).toBe('deadline-exceeded');
    expect(s.at).toBe(200);
    expect(pool.members().every((r) => r.inflight === 0)).toBe(true);
  });

  it('keeps no timer for the deadline: the attempt in flight is timed to end by it, uncounted', async () => {
    const { clock, pool } = setup({ call: { deadlineMs: 250, attemptTimeoutMs: 300 } }, ['a']);
    const result = pool.execute(() => new Promise<string>(() => {}), { classifier: classify });
    expect(clock.pendingTimers).toBe(1); // the attempt's, at 250 ms
    const s = await settle(clock, result);
    expect(failure(s).reason).toBe('deadline-exceeded');
    expect(failure(s).attempts.map((a) => a.outcome)).toEqual(['cancelled']);
    expect(s.at).toBe(250);
    const [a] = pool.members();
    expect([a!.inflight, a!.failures]).toEqual([0, 0]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('after a stall of this process, an answer that came meanwhile wins over the late attempt timeout', async () => {
    const { clock, pool } = setup({ call: { attemptTimeoutMs: 300, deadlineMs: 1000 } }, [
      'a',
      'b',
    ]);
    const call = answerable(pool);
    await flushMicrotasks();
    clock.advance(100);
    clock.stall(600); // the attempt timer, due at 300, fires at 700: it waits a turn
    expect(call.answers).toHaveLength(1);
    call.answers[0]!('from a'); // the answer that arrived during the stall is read first
    await flushMicrotasks();
    expect(call.value).toBe('from a');
    expect(clock.pendingTimers).toBe(0);
    const [a] = pool.members();
    expect([a!.successes, a!.failures, a!.inflight]).toEqual([1, 0, 0]);
  });

  it('after a stall with no answer, the late attempt timeout holds one turn later: a retry goes out', async () => {
    const { clock, pool } = setup({ call: { attemptTimeoutMs: 300, deadlineMs: 1000 } }, [
      'a',
      'b',
    ]);
    const { operation, contexts } = hanging();
    void pool.execute(operation, { classifier: classify }).catch(() => undefined);
    await flushMicrotasks();
    clock.stall(700);
    expect(contexts).toHaveLength(1);
    expect(contexts[0]!.signal.aborted).toBe(false);
    clock.advance(0);
    await flushMicrotasks();
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(pool.members()[0]!.failures).toBe(1);
    await clock.advanceAsync(50, 1);
    expect(contexts).toHaveLength(2); // the retry, on b
    pool.close();
  });

  it('a deadline passed during a stall is also judged after one turn for input', async () => {
    const { clock, pool } = setup({ call: { deadlineMs: 250, attemptTimeoutMs: 300 } }, ['a']);
    const call = answerable(pool);
    await flushMicrotasks();
    clock.stall(400);
    call.answers[0]!('in time, read late');
    await flushMicrotasks();
    clock.advance(0);
    expect(call.value).toBe('in time, read late');
  });

  it('starts no attempt that cannot finish before the deadline', async () => {
    const { clock, service, pool } = setup(
      { call: { deadlineMs: 1000, backoff: 'constant', maxAttempts: 10 } },
      ['a'],
    );
    // Teach the pool that calls take about 300 ms.
    service.set('a', { type: 'ok', latencyMs: 300 });
    for (let i = 0; i < 5; i++)
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
    service.set('a', { type: 'fail', latencyMs: 300 });
    const start = clock.now();
    service.log.length = 0;
    await settle(clock, pool.execute(service.operation, { classifier: classify }));
    // Attempts at 0, 400, (800 would leave 200 ms < the 300 ms median: not sent).
    expect(service.log.map((l) => l.at - start)).toEqual([0, 400]);
  });
});

describe('execute: abort', () => {
  it.each(['aborting the signal', 'cancelling the running call'] as const)(
    '%s during backoff rejects at once and never calls the operation again',
    async (how) => {
      const { clock, service, pool } = setup({ call: { backoff: 'constant' } }, ['a']);
      service.setAll({ type: 'fail' });
      const controller = new AbortController();
      const running =
        how === 'aborting the signal'
          ? {
              result: pool.execute(service.operation, {
                classifier: classify,
                signal: controller.signal,
              }),
              cancel: (reason: unknown) => controller.abort(reason),
            }
          : pool.start(service.operation, { classifier: classify });
      let result: unknown;
      running.result.catch((e: unknown) => (result = e));
      await flushMicrotasks();
      clock.advance(50); // inside the 100 ms backoff
      expect(service.log).toHaveLength(1);
      const reason = new Error('caller gave up');
      running.cancel(reason);
      await flushMicrotasks();
      expect(result).toBe(reason);
      clock.advance(10_000);
      await flushMicrotasks();
      expect(service.log).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    },
  );

  it('aborts the attempt in flight with the caller reason and counts nothing against it', async () => {
    const { clock, service, pool } = setup();
    service.setAll({ type: 'hang' });
    const controller = new AbortController();
    const promise = pool.execute(service.operation, {
      classifier: classify,
      signal: controller.signal,
    });
    await flushMicrotasks();
    controller.abort(new Error('stop'));
    const s = await settle(clock, promise);
    expect((s.error as Error).message).toBe('stop');
    expect(service.log[0]!.signal.aborted).toBe(true);
    expect((service.log[0]!.signal.reason as Error).message).toBe('stop');
    expect(pool.get('a')!.failures).toBe(0);
    expect(pool.get('a')!.inflight).toBe(0);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const { clock, service, pool } = setup();
    const s = await settle(
      clock,
      pool.execute(service.operation, { signal: AbortSignal.abort(new Error('early')) }),
    );
    expect((s.error as Error).message).toBe('early');
    expect(service.log).toHaveLength(0);
  });
});

describe('attempt context: aborted and onAbort', () => {
  it('tells a timed-out attempt of its abort once, with the timeout as the reason', async () => {
    const { clock, service, pool } = setup({ call: { attemptTimeoutMs: 100 } });
    const contexts: AttemptContext[] = [];
    const abortedAtStart: boolean[] = [];
    const seen: unknown[] = [];
    const s = await settle(
      clock,
      pool.execute(
        (endpoint, ctx) => {
          contexts.push(ctx);
          abortedAtStart.push(ctx.aborted);
          if (endpoint.id !== 'a') return service.operation(endpoint, ctx);
          ctx.onAbort((reason) => seen.push(reason));
          return new Promise<string>(() => {});
        },
        { classifier: classify },
      ),
    );
    expect(s.value).toBe('b');
    expect(s.at).toBe(100);
    expect(abortedAtStart).toEqual([false, false]);
    expect(seen).toHaveLength(1);
    expect((seen[0] as Error).message).toBe('Attempt timed out after 100 ms');
    expect(contexts[0]!.aborted).toBe(true);
    // Its signal, first read now, is made already aborted, with the same reason.
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(contexts[0]!.signal.reason).toBe(seen[0]);
    expect(contexts[1]!.aborted).toBe(false); // the winner is never aborted
    expect(pool.get('a')!.faults.toArray()[0]!.kind).toBe('timeout');
  });

  it('tells a hedge that lost, with a CallEndedError, and its signal agrees', async () => {
    const { clock, pool } = setup({ call: { hedge: { delayMs: 20 } } });
    const contexts: AttemptContext[] = [];
    const seen: unknown[] = [];
    const s = await settle(
      clock,
      pool.execute((endpoint, ctx) => {
        contexts.push(ctx);
        if (endpoint.id === 'a') {
          const signal = ctx.signal; // made before the abort
          ctx.onAbort((reason) => seen.push(reason, signal.aborted));
          return new Promise<string>(() => {});
        }
        return Promise.resolve(endpoint.id);
      }),
    );
    expect(s.value).toBe('b');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBeInstanceOf(CallEndedError);
    expect(seen[1]).toBe(true); // the signal aborts before the listeners run
    expect(contexts[0]!.signal.reason).toBe(seen[0]);
    expect([contexts[0]!.aborted, contexts[1]!.aborted]).toEqual([true, false]);
    expect(pool.get('a')!.failures).toBe(0);
  });

  it('calls a listener added after the abort at once, before onAbort returns', async () => {
    const { pool } = setup();
    const { operation, contexts } = hanging();
    const running = pool.start(operation);
    const reason = new Error('stop');
    running.cancel(reason);
    await expect(running.result).rejects.toBe(reason);
    const seen: unknown[] = [];
    const off = contexts[0]!.onAbort((r) => seen.push(r));
    expect(seen).toEqual([reason]);
    off(); // nothing left to remove
    expect(seen).toEqual([reason]);
  });

  it('calls listeners in the order they were added, leaving out those removed', async () => {
    const { pool } = setup();
    const { operation, contexts } = hanging();
    const running = pool.start(operation);
    const ctx = contexts[0]!;
    const order: string[] = [];
    const offFirst = ctx.onAbort(() => order.push('first'));
    const offSecond = ctx.onAbort(() => order.push('second'));
    ctx.onAbort(() => order.push('third'));
    offFirst();
    const fourth = (): void => {
      order.push('fourth');
    };
    ctx.onAbort(fourth); // after the third, although the first's place is free
    offSecond();
    offSecond(); // idempotent
    const offAgain = ctx.onAbort(fourth); // the same function twice: two listeners
    offAgain();
    offAgain(); // removes one of them, once
    ctx.onAbort(() => order.push('fifth'));
    running.cancel(new Error('stop'));
    expect(order).toEqual(['third', 'fourth', 'fifth']);
    await expect(running.result).rejects.toThrow('stop');
    running.cancel(new Error('again')); // settled: no listener runs twice
    expect(order).toEqual(['third', 'fourth', 'fifth']);
  });

  it('keeps a listener that throws from disturbing the call; its error is rethrown on its own turn', async () => {
    const { pool } = setup();
    const { operation, contexts } = hanging();
    const seen: unknown[] = [];
    const reason = new Error('stop');
    const errors = await uncaught(async () => {
      const running = pool.start(operation);
      contexts[0]!.onAbort(() => {
        throw new Error('listener bug');
      });
      contexts[0]!.onAbort((r) => seen.push(r));
      running.cancel(reason);
      expect(seen).toEqual([reason]);
      await expect(running.result).rejects.toBe(reason);
      contexts[0]!.onAbort(() => {
        throw new Error('late listener bug');
      });
    });
    expect(errors.map((e) => (e as Error).message)).toEqual(['listener bug', 'late listener bug']);
    const a = pool.get('a')!;
    expect([a.inflight, a.failures]).toEqual([0, 0]);
  });
});

describe('start: a running call and cancel()', () => {
  it('settles result as execute() would, and cancel() after that does nothing', async () => {
    const { clock, service, pool } = setup();
    service.set('a', { type: 'fail' });
    const running = pool.start(service.operation, { classifier: classify });
    const s = await settle(clock, running.result);
    expect(s.value).toBe('b');
    running.cancel(new Error('too late'));
    await flushMicrotasks();
    expect(service.endpoints).toEqual(['a', 'b']);
    expect([pool.get('a')!.failures, pool.get('b')!.successes]).toEqual([1, 1]);
    expect(service.log[1]!.signal.aborted).toBe(false);
  });

  it('ends the call exactly as aborting its signal does', async () => {
    const reason = new Error('caller gave up');
    const run = async (how: 'cancel' | 'signal') => {
      const { clock, service, pool } = setup({
        call: { deadlineMs: 5000, attemptTimeoutMs: 1000, hedge: { delayMs: 20, maxHedges: 2 } },
      });
      service.setAll({ type: 'hang' });
      const controller = new AbortController();
      const running = pool.start(service.operation, {
        classifier: classify,
        ...(how === 'signal' && { signal: controller.signal }),
      });
      let ended: { error: unknown; at: number } | undefined;
      running.result.catch((error: unknown) => (ended = { error, at: clock.now() }));
      await flushMicrotasks();
      clock.advance(30); // the first attempt and one hedge in flight, another hedge waiting
      await flushMicrotasks();
      expect(ended).toBeUndefined();
      if (how === 'cancel') running.cancel(reason);
      else controller.abort(reason);
      await flushMicrotasks();
      clock.advance(10_000);
      await flushMicrotasks();
      return {
        error: ended?.error,
        at: ended?.at,
        attempts: service.log.map((l): unknown[] => [l.endpoint, l.kind, l.at, l.signal.reason]),
        snapshot: pool.snapshot(),
        pendingTimers: clock.pendingTimers,
      };
    };
    const cancelled = await run('cancel');
    const aborted = await run('signal');
    expect(cancelled).toEqual(aborted);
    expect(cancelled.error).toBe(reason);
    expect(cancelled.at).toBe(30);
    expect(cancelled.attempts).toEqual([
      ['a', 'first', 0, reason],
      ['b', 'hedge', 20, reason],
    ]);
    for (const endpoint of cancelled.snapshot.endpoints) {
      expect([endpoint.inflight, endpoint.counts.failures]).toEqual([0, 0]);
    }
    expect(cancelled.pendingTimers).toBe(0);
  });

  it('cancels without a reason as AbortController.abort() does: with an AbortError', async () => {
    const { pool } = setup();
    const { operation, contexts } = hanging();
    const running = pool.start(operation);
    const seen: unknown[] = [];
    contexts[0]!.onAbort((reason) => seen.push(reason));
    running.cancel();
    const error = await running.result.catch((e: unknown) => e);
    const standard = AbortSignal.abort().reason as DOMException;
    expect(error).toBeInstanceOf(DOMException);
    expect([(error as DOMException).name, (error as DOMException).message]).toEqual([
      standard.name,
      standard.message,
    ]);
    expect(seen).toEqual([error]);
    expect(contexts[0]!.signal.reason).toBe(error);
  });

  it('throws at once, as execute() does, for a bad option or a closed pool', () => {
    const { service, pool } = setup();
    expect(() => pool.start(service.operation, { maxAttempts: 0 })).toThrow(/maxAttempts: 0/);
    pool.close();
    expect(() => pool.start(service.operation)).toThrow(PoolClosedError);
  });
});

describe('execute: hedging', () => {
  it('sends a backup to another endpoint after the delay; the first success wins and the loser is not counted', async () => {
    const { clock, service, pool } = setup({ call: { hedge: { delayMs: 20 } } });
    service.set('a', { type: 'ok', latencyMs: 500 });
    service.set('b', { type: 'ok', latencyMs: 10 });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(s.value).toBe('b');
    expect(s.at).toBe(30);
    expect(service.log.map((l) => [l.endpoint, l.kind, l.at])).toEqual([
      ['a', 'first', 0],
      ['b', 'hedge', 20],
    ]);
    expect(service.log[0]!.signal.aborted).toBe(true);
    const a = pool.get('a')!;
    expect([a.failures, a.successes, a.inflight]).toEqual([0, 0, 0]);
  });

  it('does not hedge a call that is not idempotent', async () => {
    const { clock, service, pool } = setup({ call: { hedge: { delayMs: 20 } } });
    service.setAll({ type: 'ok', latencyMs: 100 });
    await settle(
      clock,
      pool.execute(service.operation, { classifier: classify, idempotent: false }),
    );
    expect(service.log).toHaveLength(1);
  });

  it('sends the next attempt at once when an attempt fails while a hedge runs', async () => {
    const { clock, service, pool } = setup({
      call: { hedge: { delayMs: 20, maxHedges: 1 }, maxAttempts: 3 },
    });
    service.set('a', { type: 'fail', latencyMs: 50 });
    service.set('b', { type: 'ok', latencyMs: 1000 });
    service.set('c', { type: 'ok', latencyMs: 10 });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.log.map((l) => [l.endpoint, l.kind, l.at])).toEqual([
      ['a', 'first', 0],
      ['b', 'hedge', 20],
      ['c', 'retry', 50],
    ]);
    expect(s.value).toBe('c');
  });

  it('uses the pool latency percentile as the adaptive delay', async () => {
    const { clock, service, pool } = setup({
      call: { hedge: { delayMs: 'adaptive', percentile: 90, minDelayMs: 1 } },
    });
    service.setAll({ type: 'ok', latencyMs: 40 });
    for (let i = 0; i < 30; i++)
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
    service.log.length = 0;
    service.setAll({ type: 'ok', latencyMs: 400 });
    const start = clock.now();
    await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(service.log[1]!.kind).toBe('hedge');
    const delay = service.log[1]!.at - start;
    expect(delay).toBeGreaterThanOrEqual(39);
    expect(delay).toBeLessThanOrEqual(42);
  });
});

describe('execute: retry budget', () => {
  it('keeps attempts per call within the budget bound under a total outage', async () => {
    const { clock, service, pool } = setup({
      call: { maxAttempts: 3 },
      budget: { kind: 'ratio', percent: 20, minPerSecond: 1, windowMs: 10_000 },
    });
    service.setAll({ type: 'fail' });
    const calls = 500;
    for (let i = 0; i < calls; i++) {
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
      clock.advance(10); // 100 calls per second over 5 s
    }
    const attempts = service.log.length;
    // First attempts, plus 20 % of them, plus 1 retry per second over the 10 s window.
    expect(attempts).toBeLessThanOrEqual(calls * 1.2 + 10);
    expect(attempts).toBeGreaterThan(calls * 1.15); // the budget is spent, not stingier than set
    expect(pool.budget()!.refused).toBeGreaterThan(0);
  });

  it('rejects with budget-exhausted when the budget refuses', async () => {
    const { clock, service, pool } = setup({
      budget: { kind: 'token-bucket', maxTokens: 2, tokenRatio: 0.1 },
    });
    service.setAll({ type: 'fail' });
    await settle(clock, pool.execute(service.operation, { classifier: classify }));
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(failure(s).reason).toBe('budget-exhausted');
  });
});

describe('execute: bulkhead', () => {
  it('rejects beyond the pool in-flight limit', async () => {
    const { clock, service, pool } = setup({ bulkhead: { maxInflight: 2 } });
    service.setAll({ type: 'hang' });
    void pool.execute(service.operation, { classifier: classify }).catch(() => {});
    void pool.execute(service.operation, { classifier: classify }).catch(() => {});
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }), 10);
    const error = failure(s);
    expect(error.reason).toBe('bulkhead-rejected');
    expect(error.code).toBe('DETOUR_BULKHEAD_REJECTED');
    pool.close();
  });

  it('skips an endpoint at its in-flight limit', async () => {
    const { clock, service, pool } = setup({ bulkhead: { maxInflightPerEndpoint: 1 } }, ['a', 'b']);
    service.setAll({ type: 'hang' });
    void pool.execute(service.operation, { classifier: classify }).catch(() => {});
    void pool.execute(service.operation, { classifier: classify }).catch(() => {});
    await flushMicrotasks();
    expect(service.endpoints.sort()).toEqual(['a', 'b']);
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }), 10);
    expect(failure(s).reason).toBe('bulkhead-rejected');
    pool.close();
  });
});

describe('execute: health', () => {
  it('ejects an endpoint after consecutive failures, probes it with trial calls, and restores it', async () => {
    const clock = new ManualClock();
    const service = new FakeService(clock);
    const pool = createPool({
      endpoints: ['a', 'b'],
      selector: 'round-robin',
      clock,
      random: seededRandom(2),
      metrics: false,
      call: { idempotent: true },
      health: { ejectionJitterPercent: 0 },
    });
    service.set('a', { type: 'fail' });
    for (let i = 0; i < 12; i++)
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(pool.get('a')!.status).toBe('ejected');
    service.set('a', { type: 'ok' });
    clock.advance(5000);
    expect(pool.get('a')!.status).toBe('probing');
    for (let i = 0; i < 8; i++)
      await settle(clock, pool.execute(service.operation, { classifier: classify }));
    expect(pool.get('a')!.status).toBe('healthy');
    pool.close();
  });
});

describe('execute: errors and close', () => {
  it('reports every attempt, the last cause and a stable code', async () => {
    const { clock, service, pool } = setup({ budget: false });
    service.setAll({ type: 'fail', latencyMs: 3 });
    const s = await settle(clock, pool.execute(service.operation, { classifier: classify }));
    const error = failure(s);
    expect(isDetourError(error)).toBe(true);
    expect(error.attempts.map((a) => [a.attempt, a.kind, a.endpoint, a.outcome, a.code])).toEqual([
      [1, 'first', 'a', 'error', 'UNAVAILABLE'],
      [2, 'retry', 'b', 'error', 'UNAVAILABLE'],
      [3, 'retry', 'c', 'error', 'UNAVAILABLE'],
    ]);
    expect(error.message).toContain('#2 retry b: error (UNAVAILABLE UNAVAILABLE from b) in 3 ms');
    expect((error.cause as ServiceError).message).toBe('UNAVAILABLE from c');
  });

  it('close() rejects calls in flight and leaves no timer behind', async () => {
    const { clock, service, pool } = setup({
      call: { deadlineMs: 5000, attemptTimeoutMs: 1000, hedge: { delayMs: 10 } },
    });
    service.setAll({ type: 'hang' });
    const s = settle(clock, pool.execute(service.operation, { classifier: classify }));
    await flushMicrotasks();
    pool.close();
    const result = await s;
    expect(result.error).toBeInstanceOf(PoolClosedError);
    expect(clock.pendingTimers).toBe(0);
    expect(service.log[0]!.signal.aborted).toBe(true);
    expect(() => pool.execute(service.operation)).toThrow(PoolClosedError);
  });

  it('rejects bad per-call options with DetourConfigError', () => {
    const { service, pool } = setup();
    expect(() => pool.execute(service.operation, { maxAttempts: 0 })).toThrow(/maxAttempts: 0/);
    expect(() => pool.execute(service.operation, { deadlineMs: -1 })).toThrow(/deadlineMs: -1/);
    expect(() => pool.execute(service.operation, { hedge: { percentile: 101 } })).toThrow(
      /hedge\.percentile: 101/,
    );
    expect(() => pool.execute(service.operation, { backoff: 'linear' as 'constant' })).toThrow(
      /backoff: "linear"/,
    );
    expect(() => pool.execute(service.operation, { signal: {} as AbortSignal })).toThrow(/signal/);
    expect(() => pool.execute(service.operation, { retries: 2 } as object)).toThrow(
      /retries: 2 is not a known option/,
    );
  });
});
