/**
 * A pool: the endpoints of one logical service, their health, and the choice of endpoint for
 * each attempt. The pool owns every mutable piece of state (records, health machine, detector
 * instances, the published picker); selectors and detectors are immutable strategies.
 */
import type { Clock } from './clock.js';
import type { DetectorHost, DetectorInstance, ProbeResult } from './detector.js';
import type { EndpointSource, EndpointUpdate } from './discovery/endpoint-source.js';
import type { Endpoint } from './endpoint.js';
import { normalizeEndpoint, normalizeEndpoints } from './endpoint.js';
import { DetourConfigError, PoolClosedError } from './errors.js';
import { Emitter } from './events.js';
import type { Listener } from './events.js';
import { EndpointRecord } from './health/endpoint-record.js';
import { HealthMachine } from './health/health-machine.js';
import { LoadTable } from './health/load-table.js';
import { endpointSnapshot } from './health/snapshot.js';
import type { PoolSnapshot } from './health/snapshot.js';
import type { Fault, Outcome } from './outcome.js';
import type { PoolEvents } from './pool-events.js';
import type { PoolOptions, PoolSettings } from './pool-options.js';
import { resolvePoolOptions } from './pool-options.js';
import type { Random } from './random.js';
import { latencyOutlierName } from './detectors/latency-outlier.js';
import type { Exclusion, Picker } from './selector.js';
import { Call } from './execute/call.js';
import type { CallHost, Operation, RunningCall } from './execute/call.js';
import type { ExecuteOptions } from './execute/call-options.js';
import { checkExecuteOptions, resolvePolicy } from './execute/call-options.js';
import { LatencyHistogram } from './health/latency-histogram.js';
import type { Instrumentation } from './instrumentation.js';
import { noopInstrumentation } from './instrumentation.js';
import { createMetrics } from './metrics.js';
import type { RetryBudgetSnapshot } from './policies/retry-budget.js';

export interface PickOptions {
  /** Endpoints to avoid if any other is eligible (the call's tried endpoints). */
  readonly exclude?: Exclusion<EndpointRecord> | undefined;
  /** Affinity key for consistent hashing. */
  readonly key?: string | undefined;
}

export class Pool {
  readonly clock: Clock;
  readonly random: Random;
  readonly #settings: PoolSettings;
  readonly #emitter = new Emitter<PoolEvents>();
  readonly #machine: HealthMachine;
  readonly #records = new Map<string, EndpointRecord>();
  readonly #load: LoadTable;
  readonly #latency: LatencyHistogram;
  readonly #instrumentation: Instrumentation;
  /** Calls in flight, as an intrusive list (cheaper than a Set on every call). */
  #calls: Call<unknown> | undefined;
  #inflightTotal = 0;
  readonly #callHost: CallHost;
  readonly #detectors: { name: string; bit: number; instance: DetectorInstance }[] = [];
  #members: EndpointRecord[] = [];
  #membersDirty = true;
  #picker: Picker<EndpointRecord> | undefined;
  #pickerDirty = true;
  #panic = false;
  #ejected = 0;
  /** Members probing now: while none is, a pick without a caller's exclusion needs no filter. */
  #probing = 0;
  #closed = false;
  #unsubscribe: (() => void) | undefined;
  #refreshQueued = false;

  // Reused by every pick so that picking allocates nothing.
  #userExclude: Exclusion<EndpointRecord> | undefined;
  readonly #exclusion: Exclusion<EndpointRecord> = {
    has: (r) =>
      (r.status === 'probing' && r.trialsLeft <= 0) || (this.#userExclude?.has(r) ?? false),
  };
  readonly #trialsOnly: Exclusion<EndpointRecord> = {
    has: (r) => r.status === 'probing' && r.trialsLeft <= 0,
  };
  readonly #ctx: {
    now: number;
    exclude: Exclusion<EndpointRecord> | undefined;
    key: string | undefined;
  } = {
    now: 0,
    exclude: undefined,
    key: undefined,
  };

  constructor(options: PoolOptions) {
    this.#settings = resolvePoolOptions(options);
    this.clock = this.#settings.clock;
    this.random = this.#settings.random;
    this.#load = new LoadTable(
      this.#settings.stats.latencyDecayMs,
      this.#settings.stats.failurePenaltyDecayMs,
    );
    this.#machine = new HealthMachine(this.#settings.health, this.clock, this.random, {
      changed: (record, from, to, detector) => this.#onStatusChange(record, from, to, detector),
      ejected: (record, detector, fault, durationMs) => {
        if (this.#emitter.has('ejected')) {
          this.#emitter.emit('ejected', {
            endpoint: record.endpoint,
            detector,
            fault,
            durationMs,
            ejections: record.ejections,
          });
        }
      },
      census: () => ({ members: this.#memberList().length, ejected: this.#ejected }),
    });
    for (const endpoint of this.#settings.endpoints) this.#add(endpoint);
    this.#settings.detectors.forEach((detector, i) => {
      const bit = 1 << i;
      const instance = detector.attach(this.#hostFor(detector.name, bit));
      this.#detectors.push({ name: detector.name, bit, instance });
    });
    this.#latency = new LatencyHistogram({}, this.clock.now());
    this.#instrumentation =
      this.#settings.metrics === false
        ? noopInstrumentation
        : createMetrics(this, this.#settings.metrics);
    this.#callHost = this.#makeCallHost();
    const source = this.#settings.source;
    if (source) this.#subscribe(source);
  }

  /**
   * Runs one logical call: `operation(endpoint, attempt)` for each attempt, on endpoints the
   * selector picks, with failover, retries, hedging, deadlines and budgets as `options` (over
   * the pool's `call` defaults) say. Resolves with the first acceptable result; rejects with
   * `CallFailedError` (which lists every attempt), or with the signal's reason when aborted.
   * Throws `PoolClosedError` after `close()` and `DetourConfigError` for a bad option.
   */
  execute<T>(operation: Operation<T>, options?: ExecuteOptions<T>): Promise<T> {
    return this.start(operation, options).result;
  }

  /**
   * Starts one logical call as `execute()` does, and returns it running: `result` is what
   * `execute()` returns, and `cancel(reason)` ends the call as aborting `options.signal` would.
   * For adapters that own their calls' cancellation (a gRPC call object, a stream): no
   * `AbortController` per call. Throws as `execute()` does.
   */
  start<T>(operation: Operation<T>, options?: ExecuteOptions<T>): RunningCall<T> {
    this.#assertOpen();
    let policy = this.#settings.call;
    if (options !== undefined) {
      checkExecuteOptions(options as ExecuteOptions<unknown>);
      policy = resolvePolicy(options, '', policy, true);
    }
    const call = new Call<T>(
      this.#callHost,
      operation,
      policy,
      options?.classifier,
      options?.signal,
      options?.key,
    );
    const head = this.#calls;
    if (head) {
      call.nextCall = head;
      head.prevCall = call as Call<unknown>;
    }
    this.#calls = call as Call<unknown>;
    call.run();
    return call;
  }

  /** The retry budget's state, or undefined without a budget. */
  budget(): RetryBudgetSnapshot | undefined {
    return this.#settings.budget?.snapshot(this.clock.now());
  }

  #makeCallHost(): CallHost {
    const settings = this.#settings;
    return {
      clock: this.clock,
      random: this.random,
      budget: settings.budget,
      latency: this.#latency,
      instrumentation: this.#instrumentation,
      maxInflightPerEndpoint: settings.maxInflightPerEndpoint,
      pickStrict: (exclude, key) => this.#pickStrict(exclude, key),
      pickEjected: (exclude) => this.#pickEjected(exclude),
      pick: (exclude, key, now) => this.#pick(exclude, key, now),
      poolHasRoom: () => this.#inflightTotal < settings.maxInflight,
      startAttempt: (record) => this.startAttempt(record),
      endAttempt: (record, outcome, now) => this.endAttempt(record, outcome, now),
      noteRetry: (record) => this.noteRetry(record),
      done: (call) => {
        const { prevCall, nextCall } = call;
        if (prevCall) prevCall.nextCall = nextCall;
        else if (this.#calls === call) this.#calls = nextCall;
        if (nextCall) nextCall.prevCall = prevCall;
        call.prevCall = call.nextCall = undefined;
      },
    };
  }

  /** An eligible endpoint outside `exclude` (and within trial limits), or undefined. */
  #pickStrict(
    exclude: Exclusion<EndpointRecord>,
    key: string | undefined,
  ): EndpointRecord | undefined {
    this.#assertOpen();
    this.#refresh();
    const picker = this.#picker;
    if (!picker || this.#panic) return undefined;
    const ctx = this.#ctx;
    ctx.now = this.clock.now();
    ctx.key = key;
    this.#userExclude = exclude;
    ctx.exclude = this.#exclusion;
    const chosen = picker.pick(ctx);
    this.#userExclude = undefined;
    ctx.exclude = undefined;
    return chosen;
  }

  /**
   * A member the latency-outlier detector ejected (timed; no other detector holding it: it
   * answers, only slowly) outside `exclude` and under the per-endpoint in-flight limit, chosen at
   * random; undefined if there is none, or in panic (where ejected members are in the picker).
   */
  #pickEjected(exclude: Exclusion<EndpointRecord>): EndpointRecord | undefined {
    this.#assertOpen();
    this.#refresh();
    if (this.#ejected === 0 || this.#panic) return undefined;
    const limit = this.#settings.maxInflightPerEndpoint;
    let chosen: EndpointRecord | undefined;
    let seen = 0;
    for (const record of this.#memberList()) {
      if (record.status !== 'ejected' || record.holds !== 0) continue;
      if (record.ejectedBy !== latencyOutlierName) continue;
      if (record.inflight >= limit || exclude.has(record)) continue;
      // Reservoir sampling: each candidate ends up chosen with probability 1 / candidates.
      if (this.random.next() * ++seen < 1) chosen = record;
    }
    return chosen;
  }

  /** Listens to a pool event; returns a function that stops listening. */
  on<K extends keyof PoolEvents>(event: K, listener: Listener<PoolEvents[K]>): () => void {
    return this.#emitter.on(event, listener);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether panic mode is on (too few eligible endpoints, so all take traffic). */
  get panic(): boolean {
    this.#refresh();
    return this.#panic;
  }

  /** The record of the endpoint with `id`, if it is in the pool (draining included). */
  get(id: string): EndpointRecord | undefined {
    return this.#records.get(id);
  }

  /** Endpoints that are not draining. */
  members(): readonly EndpointRecord[] {
    return this.#memberList();
  }

  /**
   * Applies an update: a full list (keeps the state of endpoints that remain, adds new ones,
   * drains the others) or a delta. Throws `DetourConfigError` for an invalid endpoint.
   */
  update(update: EndpointUpdate): void {
    this.#assertOpen();
    if (update.type === 'full') {
      const endpoints = normalizeEndpoints(update.endpoints, 'update.endpoints', false);
      const keep = new Set<string>();
      for (const endpoint of endpoints) {
        keep.add(endpoint.id);
        this.#add(endpoint);
      }
      for (const record of [...this.#records.values()])
        if (!keep.has(record.id)) this.#remove(record);
    } else if (update.type === 'delta') {
      const added = (update.added ?? []).map((e, i) => normalizeEndpoint(e, `update.added[${i}]`));
      for (const endpoint of added) this.#add(endpoint);
      for (const id of update.removed ?? []) {
        const record = this.#records.get(id);
        if (record) this.#remove(record);
      }
    } else {
      throw new DetourConfigError(
        'update.type',
        (update as { type: unknown }).type,
        'must be "full" or "delta"',
      );
    }
  }

  /**
   * Chooses the endpoint for one attempt: an eligible endpoint outside `exclude` if there is
   * one, else an eligible one, else (panic) any member. Undefined only for an empty pool.
   * Allocates nothing.
   */
  pick(options?: PickOptions): EndpointRecord | undefined {
    return this.#pick(options?.exclude, options?.key);
  }

  #pick(
    exclude: Exclusion<EndpointRecord> | undefined,
    key: string | undefined,
    now = this.clock.now(),
  ): EndpointRecord | undefined {
    this.#assertOpen();
    this.#refresh();
    const picker = this.#picker;
    if (!picker) return undefined;
    const ctx = this.#ctx;
    ctx.now = now;
    ctx.key = key;
    if (this.#probing === 0) {
      // No trial limits to enforce: the caller's exclusion (or none) goes to the picker as is.
      ctx.exclude = exclude;
      const chosen = picker.pick(ctx) ?? (exclude ? this.#pickWithout(picker) : undefined);
      ctx.exclude = undefined;
      return chosen;
    }
    this.#userExclude = exclude;
    ctx.exclude = this.#exclusion;
    let chosen = picker.pick(ctx);
    if (!chosen && this.#userExclude) {
      ctx.exclude = this.#trialsOnly;
      chosen = picker.pick(ctx);
    }
    if (!chosen) {
      // Only probing endpoints with no trial left: send beyond the trial limit rather than nowhere.
      ctx.exclude = undefined;
      chosen = picker.pick(ctx);
    }
    this.#userExclude = undefined;
    ctx.exclude = undefined;
    return chosen;
  }

  #pickWithout(picker: Picker<EndpointRecord>): EndpointRecord | undefined {
    this.#ctx.exclude = undefined;
    return picker.pick(this.#ctx);
  }

  /** Marks the start of an attempt on `record` (in-flight count, half-open trials). */
  startAttempt(record: EndpointRecord): void {
    record.inflight++;
    this.#inflightTotal++;
    this.#machine.attemptStarted(record);
  }

  /**
   * Marks the end of an attempt. `outcome` undefined means the result is not held against or
   * for the endpoint (cancelled by the caller, a hedge that lost). `now` is the clock time of the
   * end, when the caller has already read the clock.
   */
  endAttempt(record: EndpointRecord, outcome: Outcome | undefined, now = this.clock.now()): void {
    record.inflight--;
    this.#inflightTotal--;
    if (outcome) {
      record.recordOutcome(now, outcome);
      const success = outcome.kind === 'success';
      const wasProbing = record.status === 'probing';
      for (const d of this.#detectors) d.instance.onOutcome?.(record, outcome);
      if (wasProbing && record.status === 'probing') {
        if (success) this.#machine.attemptEnded(record, true);
        else this.#machine.eject(record, faultOf(outcome), 'half-open');
      }
    } else {
      this.#machine.attemptEnded(record, undefined);
    }
    if (record.status === 'draining' && record.inflight === 0) this.#forget(record);
  }

  /** Counts a retry or hedge sent to `record` (statistics only). */
  noteRetry(record: EndpointRecord): void {
    record.retries++;
  }

  /** All state as plain data. */
  snapshot(): PoolSnapshot {
    this.#refresh();
    const now = this.clock.now();
    const names = this.#detectors;
    return {
      at: now,
      panic: this.#panic,
      selector: this.#settings.selector.name,
      endpoints: [...this.#records.values()].map((r) => endpointSnapshot(r, now, names)),
    };
  }

  /** Stops the source, the detectors and every timer, and removes every listener. Idempotent. */
  close(): void {
    if (this.#closed) return;
    while (this.#calls) this.#calls.cancel(new PoolClosedError());
    this.#closed = true;
    this.#instrumentation.close();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const d of this.#detectors) d.instance.close();
    for (const record of this.#records.values()) this.#machine.dispose(record);
    this.#emitter.clear();
    this.#picker = undefined;
  }

  // --- internals ---

  #assertOpen(): void {
    if (this.#closed) throw new PoolClosedError();
  }

  #subscribe(source: EndpointSource): void {
    this.#unsubscribe = source.subscribe({
      next: (update) => {
        if (this.#closed) return;
        try {
          this.update(update);
        } catch (error) {
          this.#emitter.emit('source-error', { error });
        }
      },
      error: (error) => {
        if (!this.#closed) this.#emitter.emit('source-error', { error });
      },
    });
  }

  /**
   * Many endpoints failed at once: asks the source for a fresh list (`refresh()`, optional), on
   * a later microtask so that an update it delivers at once does not land in the middle of a
   * state change. Once per turn.
   */
  #refreshSource(): void {
    const source = this.#settings.source;
    if (!source?.refresh || this.#refreshQueued) return;
    this.#refreshQueued = true;
    queueMicrotask(() => {
      this.#refreshQueued = false;
      if (this.#closed) return;
      try {
        source.refresh?.();
      } catch (error) {
        this.#emitter.emit('source-error', { error });
      }
    });
  }

  #hostFor(name: string, bit: number): DetectorHost {
    return {
      clock: this.clock,
      random: this.random,
      members: () => this.#memberList(),
      eject: (record, fault) => !this.#closed && this.#machine.eject(record, fault, name),
      hold: (record, fault) => {
        if (!this.#closed) this.#machine.hold(record, bit, fault, name);
      },
      release: (record) => {
        if (!this.#closed) this.#machine.release(record, bit, name);
      },
      holding: (record) => (record.holds & bit) !== 0,
      endEjection: (record) => {
        if (!this.#closed) this.#machine.endEjection(record, name);
      },
      probed: (record, result) => this.#onProbe(record, name, result),
    };
  }

  #onProbe(record: EndpointRecord, detector: string, result: ProbeResult): void {
    if (this.#closed) return;
    if (!result.healthy) {
      record.faults.add({
        at: this.clock.now(),
        kind: 'probe-failed',
        code: result.code,
        message: result.message,
      });
    }
    if (this.#emitter.has('probe-result')) {
      this.#emitter.emit('probe-result', { endpoint: record.endpoint, detector, result });
    }
    if (result.healthy) {
      const at = this.clock.now();
      for (const d of this.#detectors) d.instance.onHeartbeat?.(record, at);
    }
  }

  #add(endpoint: Endpoint): void {
    const existing = this.#records.get(endpoint.id);
    if (existing) {
      if (!sameEndpoint(existing.endpoint, endpoint)) {
        existing.endpoint = endpoint;
        this.#membershipChanged();
      }
      if (existing.status === 'draining') this.#machine.undrain(existing);
      return;
    }
    const record = new EndpointRecord(endpoint, this.#settings.stats, this.clock.now(), this.#load);
    this.#records.set(endpoint.id, record);
    this.#membershipChanged();
    for (const d of this.#detectors) d.instance.onAdded?.(record);
    if (this.#emitter.has('endpoint-added')) this.#emitter.emit('endpoint-added', { endpoint });
  }

  #remove(record: EndpointRecord): void {
    if (record.status === 'draining') return;
    this.#machine.drain(record); // emits the state change and marks membership dirty
    for (const d of this.#detectors) d.instance.onRemoved?.(record);
    if (record.inflight === 0) this.#forget(record);
  }

  #forget(record: EndpointRecord): void {
    this.#machine.dispose(record);
    this.#records.delete(record.id);
    record.release();
    this.#membershipChanged();
    if (this.#emitter.has('endpoint-removed'))
      this.#emitter.emit('endpoint-removed', { endpoint: record.endpoint });
  }

  #onStatusChange(
    record: EndpointRecord,
    from: string,
    to: EndpointRecord['status'],
    detector: string | undefined,
  ): void {
    if (from === 'ejected') this.#ejected--;
    if (to === 'ejected') {
      this.#ejected++;
      if (this.#ejected * 2 >= this.#memberList().length) this.#refreshSource();
    }
    if (from === 'probing') this.#probing--;
    if (to === 'probing') {
      this.#probing++;
      if (from === 'ejected') record.resetLatency();
    }
    if (from === 'draining' || to === 'draining') this.#membershipChanged();
    this.#pickerDirty = true;
    for (const d of this.#detectors) d.instance.onStatusChange?.(record);
    if (this.#emitter.has('state-change')) {
      this.#emitter.emit('state-change', {
        endpoint: record.endpoint,
        from: from as EndpointRecord['status'],
        to,
        detector,
      });
    }
    if (to === 'healthy' && from === 'probing' && this.#emitter.has('restored')) {
      this.#emitter.emit('restored', { endpoint: record.endpoint });
    }
  }

  #membershipChanged(): void {
    this.#membersDirty = true;
    this.#pickerDirty = true;
  }

  #memberList(): EndpointRecord[] {
    if (this.#membersDirty) {
      this.#members = [];
      for (const record of this.#records.values())
        if (record.status !== 'draining') this.#members.push(record);
      this.#membersDirty = false;
    }
    return this.#members;
  }

  /** Rebuilds the picker after a change of membership or health (lazily, at the next pick). */
  #refresh(): void {
    if (!this.#pickerDirty || this.#closed) return;
    this.#pickerDirty = false;
    const members = this.#memberList();
    if (members.length === 0) {
      this.#picker = undefined;
      this.#setPanic(false, 0, 0);
      return;
    }
    const eligible = members.filter((r) => r.status === 'healthy' || r.status === 'probing');
    const share = (eligible.length / members.length) * 100;
    const panic = eligible.length === 0 || share < this.#settings.health.panicThresholdPercent;
    this.#setPanic(panic, eligible.length, members.length);
    const env = { random: this.random, clock: this.clock, members };
    this.#picker = this.#settings.selector.build(panic ? members : eligible, env);
  }

  #setPanic(active: boolean, eligible: number, members: number): void {
    if (active === this.#panic) return;
    this.#panic = active;
    if (active) this.#refreshSource();
    if (this.#emitter.has('panic')) this.#emitter.emit('panic', { active, eligible, members });
  }
}

/** Makes a pool. Every option is validated here. */
export function createPool(options: PoolOptions): Pool {
  return new Pool(options);
}

function faultOf(outcome: Outcome): Fault {
  return {
    kind: outcome.kind === 'success' ? 'error' : outcome.kind,
    code: outcome.code,
    message: outcome.message,
  };
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return (
    a.address === b.address &&
    a.weight === b.weight &&
    a.capacity === b.capacity &&
    a.priority === b.priority &&
    a.group === b.group &&
    a.zone === b.zone &&
    sameMetadata(a.metadata, b.metadata)
  );
}

function sameMetadata(
  a: Readonly<Record<string, unknown>>,
  b: Readonly<Record<string, unknown>>,
): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.is(a[k], b[k]));
}
