import { describe, expect, it } from 'vitest';
import type { Classifier } from '../classifier.js';
import type { Endpoint } from '../endpoint.js';
import type { AttemptContext } from '../execute/call.js';
import { CallFailedError } from '../execute/call-error.js';
import { createPool } from '../pool.js';
import { adapterContract } from './adapter-contract.js';
import type {
  AdapterHarness,
  ContractCase,
  ContractClient,
  ContractClientOptions,
  ContractEndpoint,
  ContractEndpointMode,
  ContractErrorKind,
} from './adapter-contract.js';

/**
 * An in-memory transport: each endpoint is a fake server whose requests arrive and whose
 * cancellations are noticed a macrotask after they are sent, as over a socket.
 */
class MemoryServer implements ContractEndpoint {
  readonly address: string;
  mode: ContractEndpointMode = 'ok';
  received = 0;
  cancelled = 0;
  stopped = false;

  constructor(address: string) {
    this.address = address;
  }

  setMode(mode: ContractEndpointMode): void {
    this.mode = mode;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** One request, sent with `signal`: the server's answer, or the failure the client sees. */
  request(signal: AbortSignal): Promise<string> {
    if (this.stopped) return Promise.reject(new TransportError('REFUSED', this.address));
    return new Promise<string>((resolve, reject) => {
      let arrived = false;
      let answered = false;
      const onAbort = (): void => {
        reject(signal.reason as Error);
        setTimeout(() => {
          if (arrived && !answered) this.cancelled++;
        });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      setTimeout(() => {
        if (signal.aborted) return; // cancelled before it left
        arrived = true;
        this.received++;
        const mode = this.mode;
        if (mode === 'hang') return;
        answered = true;
        signal.removeEventListener('abort', onAbort);
        if (mode === 'ok') resolve(this.address);
        else
          reject(new TransportError(mode === 'invalid' ? 'INVALID' : 'UNAVAILABLE', this.address));
      });
    });
  }
}

class TransportError extends Error {
  readonly code: 'REFUSED' | 'UNAVAILABLE' | 'INVALID';
  constructor(code: TransportError['code'], address: string) {
    super(`${code} from ${address}`);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** What the in-memory adapter's classifier knows of the transport. */
const classifier: Classifier<string> = (result) => {
  if (result.ok) return { type: 'success' };
  const error = result.error;
  if (!(error instanceof TransportError)) {
    return { type: 'failure', retryable: false, message: String(error) };
  }
  if (error.code === 'INVALID') {
    return { type: 'failure', retryable: false, endpointFault: false, code: error.code };
  }
  return {
    type: 'failure',
    retryable: true,
    code: error.code,
    ...(error.code === 'REFUSED' && { processed: false }),
  };
};

/** Deliberate bugs, to prove the suite catches them. */
type Flaw =
  /** Treats every call as idempotent. */
  | 'retries-anything'
  /** Never makes a second attempt. */
  | 'no-failover'
  /** Sends every attempt to the first endpoint, whatever the pool picked. */
  | 'same-endpoint'
  /** Does not pass the caller's signal to the pool. */
  | 'ignores-signal';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function describeError(error: unknown): { kind: ContractErrorKind } {
  if (error instanceof CallFailedError) {
    if (error.reason === 'deadline-exceeded' || error.attempts.at(-1)?.outcome === 'timeout') {
      return { kind: 'deadline' };
    }
    const cause = error.cause;
    if (cause instanceof TransportError) {
      return { kind: cause.code === 'INVALID' ? 'invalid' : 'unavailable' };
    }
  }
  if (error instanceof Error && error.name === 'AbortError') return { kind: 'cancelled' };
  return { kind: 'other' };
}

let nextPort = 1;

/** The in-memory adapter: `createPool` + `pool.execute` over `MemoryServer`s. */
function memoryHarness(flaw?: Flaw): AdapterHarness {
  const servers = new Map<string, MemoryServer>();
  return {
    startEndpoints(count) {
      const started = Array.from({ length: count }, () => new MemoryServer(`memory:${nextPort++}`));
      for (const server of started) servers.set(server.address, server);
      return Promise.resolve(started);
    },
    createClient(endpoints: readonly ContractEndpoint[], options: ContractClientOptions) {
      const pool = createPool({
        endpoints: endpoints.map((e, priority) => ({ address: e.address, priority })),
        selector: 'priority-groups',
        detectors: [],
        budget: false,
        metrics: false,
        call: {
          maxAttempts: flaw === 'no-failover' ? 1 : options.maxAttempts,
          idempotent: flaw === 'retries-anything' || options.idempotent,
          ...(options.attemptTimeoutMs !== undefined && {
            attemptTimeoutMs: options.attemptTimeoutMs,
          }),
          ...(options.hedgeDelayMs !== undefined && { hedge: { delayMs: options.hedgeDelayMs } }),
        },
      });
      const operation = (endpoint: Endpoint, attempt: AttemptContext): Promise<string> => {
        const address = flaw === 'same-endpoint' ? endpoints[0]!.address : endpoint.address;
        return servers.get(address)!.request(attempt.signal);
      };
      const client: ContractClient = {
        call: async (callOptions) => {
          const signal = flaw === 'ignores-signal' ? undefined : callOptions?.signal;
          const endpoint = await pool.execute(operation, {
            classifier,
            ...(signal && { signal }),
          });
          return { endpoint };
        },
        close: () => pool.close(),
      };
      return client;
    },
    describeError,
    sleep,
    timing: { attemptTimeoutMs: 30, hedgeDelayMs: 10, settleMs: 400, pollMs: 2 },
  };
}

/** Names of the cases that fail, each with its error message. */
async function failures(cases: readonly ContractCase[]): Promise<Record<string, string>> {
  const failed: Record<string, string> = {};
  for (const c of cases) {
    try {
      await c.run();
    } catch (error) {
      failed[c.name] = (error as Error).message;
    }
  }
  return failed;
}

describe('adapterContract: an adapter on pool.execute() passes', () => {
  for (const c of adapterContract(memoryHarness())) it(c.name, c.run);
});

describe('adapterContract: catches broken adapters', () => {
  it('has unique case names and rejects bad timing', () => {
    const names = adapterContract(memoryHarness()).map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(() => adapterContract({ ...memoryHarness(), timing: { settleMs: 0 } })).toThrow(
      /timing.settleMs must be a positive number/,
    );
  });

  it('an adapter that retries calls that are not idempotent', async () => {
    const failed = await failures(adapterContract(memoryHarness('retries-anything')));
    expect(Object.keys(failed)).toEqual([
      'does not retry a call that is not idempotent once an endpoint processed and failed it',
      'does not retry a call that is not idempotent after its attempt timed out on an endpoint that received it',
    ]);
    expect(Object.values(failed)[0]).toMatch(
      /a non-idempotent call: expected it to fail, got a reply from memory:\d+/,
    );
  });

  it('an adapter that never fails over', async () => {
    const failed = await failures(adapterContract(memoryHarness('no-failover')));
    expect(Object.keys(failed)).toEqual([
      'fails over from a retryable failure to another endpoint, trying each once',
      'sends a retry to an endpoint the call has not tried before a tried one',
      'fails over from a stopped endpoint even for a call that is not idempotent (nothing was sent)',
      'cuts a hanging attempt at the attempt timeout and fails an idempotent call over',
      'gives up after maxAttempts attempts when every endpoint fails, surfacing unavailable',
      'hedges: sends a backup attempt to another endpoint while the first hangs, and cancels the loser',
    ]);
    expect(Object.values(failed)[0]).toMatch(
      /an idempotent call: expected a reply, got an error of kind unavailable \(CallFailedError/,
    );
  });

  it('an adapter that sends every attempt to the same endpoint', async () => {
    const failed = await failures(adapterContract(memoryHarness('same-endpoint')));
    expect(Object.keys(failed)).toEqual([
      'fails over from a retryable failure to another endpoint, trying each once',
      'sends a retry to an endpoint the call has not tried before a tried one',
      'fails over from a stopped endpoint even for a call that is not idempotent (nothing was sent)',
      'cuts a hanging attempt at the attempt timeout and fails an idempotent call over',
      'gives up after maxAttempts attempts when every endpoint fails, surfacing unavailable',
      'surfaces a deadline when every attempt times out',
      'hedges: sends a backup attempt to another endpoint while the first hangs, and cancels the loser',
    ]);
    expect(
      failed[
        'gives up after maxAttempts attempts when every endpoint fails, surfacing unavailable'
      ],
    ).toMatch(/expected every endpoint to be tried, memory:\d+ received 0/);
  });

  it('an adapter that ignores the caller’s signal', async () => {
    const failed = await failures(adapterContract(memoryHarness('ignores-signal')));
    expect(Object.keys(failed)).toEqual([
      "rejects the call as cancelled when the caller's signal aborts, and cancels the attempt in flight",
      'rejects a call whose signal is already aborted as cancelled, sending nothing',
    ]);
    expect(Object.values(failed)).toEqual([
      'adapter contract: the aborted call: expected it to settle, still pending after 400 ms',
      expect.stringMatching(/a call with an aborted signal: expected it to fail, got a reply from/),
    ]);
  });
});
