/**
 * Open-loop load: each client starts a call every `1000 / rate` ms whether or not the earlier
 * ones have ended (a frozen replica does not slow the load down, so its cost shows in the
 * latencies), and every call's outcome is kept. Each detour client's pool is watched for state
 * changes.
 */
import type { Pool } from '@detour/core';
import type { CallResult, DemoClient } from './clients.js';
import type { CallRecord, ClientRun } from './measure.js';
import type { EndpointState, StateChange } from './model.js';

/** The calls and pool events of one client. */
export class ClientLog {
  /** Finished calls, in the order they ended. */
  readonly calls: CallRecord[] = [];
  readonly stateChanges: StateChange[] = [];
  /** Current state of each endpoint as the client's pool sees it. */
  readonly states = new Map<string, EndpointState>();
  /** Ejections of each endpoint by the client's pool. */
  readonly ejections = new Map<string, number>();
  started = 0;
  #unsubscribe: (() => void)[] = [];
  /** Attempts sent to endpoints that discovery has since removed from the pool. */
  #removedAttempts = 0;
  /** Attempts of each draining endpoint when it began to drain (it takes no new ones). */
  readonly #drainingAttempts = new Map<string, number>();

  constructor(
    readonly client: DemoClient,
    now: () => number,
  ) {
    const pool = client.pool;
    if (pool === undefined) return;
    for (const endpoint of pool.snapshot().endpoints) this.states.set(endpoint.id, endpoint.status);
    this.#unsubscribe.push(
      pool.on('state-change', (e) => {
        this.states.set(e.endpoint.id, e.to);
        if (e.to === 'draining') {
          this.#drainingAttempts.set(e.endpoint.id, pool.get(e.endpoint.id)?.attempts ?? 0);
        }
        this.stateChanges.push({
          atMs: now(),
          replica: e.endpoint.id,
          from: e.from,
          to: e.to,
          detector: e.detector ?? null,
        });
      }),
      pool.on('ejected', (e) => this.ejections.set(e.endpoint.id, e.ejections)),
      // With a registry (`--registry etcd`) replicas leave the pool and come back: a returning
      // replica starts healthy, which the report counts as restored.
      pool.on('endpoint-removed', (e) => {
        this.#removedAttempts += this.#drainingAttempts.get(e.endpoint.id) ?? 0;
        this.#drainingAttempts.delete(e.endpoint.id);
      }),
      pool.on('endpoint-added', (e) => {
        const before = this.states.get(e.endpoint.id);
        this.states.set(e.endpoint.id, 'healthy');
        if (before === undefined) return;
        this.stateChanges.push({
          atMs: now(),
          replica: e.endpoint.id,
          from: before,
          to: 'healthy',
          detector: 'discovery',
        });
      }),
    );
  }

  get failures(): number {
    return this.calls.reduce((n, c) => n + (c.code === undefined ? 0 : 1), 0);
  }

  /** Attempts the pool has sent, over all endpoints; undefined for the baseline. */
  attempts(): number | undefined {
    const current = totalAttempts(this.client.pool);
    return current === undefined ? undefined : current + this.#removedAttempts;
  }

  /** The run so far, for `clientSummary`; call before the pool is closed. */
  run(): ClientRun {
    const { client } = this;
    return {
      name: client.name,
      label: client.label,
      transport: client.transport,
      detour: client.pool !== undefined,
      calls: this.calls,
      stateChanges: this.stateChanges,
      attempts: this.attempts(),
    };
  }

  stopWatching(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
  }
}

/** Drives every client at `rate` calls per second, each call with a deadline of `deadlineMs`. */
export class LoadDriver {
  readonly #logs: readonly ClientLog[];
  readonly #rate: number;
  readonly #deadlineMs: number;
  readonly #now: () => number;
  readonly #inflight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(logs: readonly ClientLog[], rate: number, deadlineMs: number, now: () => number) {
    this.#logs = logs;
    this.#rate = rate;
    this.#deadlineMs = deadlineMs;
    this.#now = now;
  }

  /** Starts the load; calls are due from `t = 0`, the clients staggered within each period. */
  start(): void {
    const periodMs = 1000 / this.#rate;
    const tick = (): void => {
      const now = this.#now();
      this.#logs.forEach((log, i) => {
        const offsetMs = (periodMs * i) / this.#logs.length;
        const due = Math.floor((now - offsetMs) / periodMs) + 1;
        while (log.started < due) this.#call(log);
      });
    };
    tick();
    this.#timer = setInterval(tick, Math.min(5, periodMs / 2));
  }

  /** Stops starting calls and waits for those in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#inflight);
  }

  #call(log: ClientLog): void {
    const seq = log.started++;
    const startMs = this.#now();
    const done = log.client.send(`c${seq}`, this.#deadlineMs).then((result: CallResult) => {
      log.calls.push({
        startMs,
        latencyMs: this.#now() - startMs,
        replica: 'replica' in result ? result.replica : undefined,
        code: 'code' in result ? result.code : undefined,
        message: 'code' in result ? result.message : undefined,
      });
    });
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
  }
}

function totalAttempts(pool: Pool | undefined): number | undefined {
  if (pool === undefined) return undefined;
  return pool.snapshot().endpoints.reduce((n, e) => n + e.counts.attempts, 0);
}
