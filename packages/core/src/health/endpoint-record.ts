/**
 * The pool's mutable state for one endpoint: health, load and statistics. Selectors and
 * detectors read it; only the pool (and the health machine it drives) writes it.
 */
import type { Endpoint } from '../endpoint.js';
import type { Outcome } from '../outcome.js';
import { FaultLog } from './fault-log.js';
import { LoadTable, decay } from './load-table.js';
import { OutcomeWindow } from './outcome-window.js';

/**
 * - `healthy`: takes traffic.
 * - `ejected`: takes none, until its ejection time ends or the detectors holding it release it.
 * - `probing`: half-open; takes a limited number of trial attempts, then healthy or ejected again.
 * - `draining`: removed by discovery; in-flight attempts finish, no new picks.
 */
export type HealthStatus = 'healthy' | 'ejected' | 'probing' | 'draining';

export interface RecordSettings {
  readonly windowMs: number;
  readonly windowBuckets: number;
  readonly latencyDecayMs: number;
  readonly failurePenaltyDecayMs: number;
  readonly faultLogSize: number;
}

export class EndpointRecord {
  // The fields a pick reads come first and together (V8 lays fields out in declaration order).
  endpoint: Endpoint;
  status: HealthStatus = 'healthy';
  /** Trial attempts still allowed while probing. */
  trialsLeft = 0;
  /** This record's row in the pool's load table. */
  readonly slot: number;
  readonly #load: LoadTable;
  #released = false;

  /** Plain time-decayed EWMA latency (ms). NaN before the first sample. */
  ewmaLatencyMs = Number.NaN;

  readonly window: OutcomeWindow;
  readonly faults: FaultLog;

  attempts = 0;
  successes = 0;
  failures = 0;
  retries = 0;
  ejections = 0;

  // --- health machine state (written by health-machine.ts) ---
  /** Clock time at which a timed ejection ends. */
  ejectedUntil = 0;
  /** Clock time of the current ejection's start. */
  ejectedAt = 0;
  /** The detector behind the current (or last) ejection or hold. */
  ejectedBy: string | undefined = undefined;
  /** Ejection multiplier (gRFC A50): grows per ejection, decays with sustained health. */
  ejectionMultiplier = 0;
  /** Bit mask of the condition detectors (heartbeat, phi, metrics) holding the endpoint out. */
  holds = 0;
  /** Successful trial attempts while probing. */
  trialSuccesses = 0;
  /** Status before draining, restored if the endpoint comes back. */
  statusBeforeDrain: HealthStatus = 'healthy';
  /** Pending timer that ends an ejection. */
  ejectionTimer: { cancel(): void } | undefined;

  // --- availability (from observed up and down periods) ---
  /** Start of the current up (healthy/probing) or down (ejected) period. */
  periodStart: number;
  upMs = 0;
  downMs = 0;
  /** Completed up periods that ended in an ejection, and down periods that ended in a restore. */
  downTransitions = 0;
  upTransitions = 0;

  /**
   * `load` is the pool's shared table; a record made on its own (in tests) gets a table of its
   * own. Call `release()` when the record leaves its pool.
   */
  constructor(
    endpoint: Endpoint,
    settings: RecordSettings,
    now: number,
    load: LoadTable = new LoadTable(settings.latencyDecayMs, settings.failurePenaltyDecayMs, 1),
  ) {
    this.endpoint = endpoint;
    this.#load = load;
    this.slot = load.allocate();
    this.window = new OutcomeWindow(settings.windowMs, settings.windowBuckets, now);
    this.faults = new FaultLog(settings.faultLogSize);
    this.periodStart = now;
  }

  get id(): string {
    return this.endpoint.id;
  }

  /** Attempts started and not yet ended. */
  get inflight(): number {
    return this.#load.inflight[this.slot]!;
  }

  set inflight(value: number) {
    this.#load.inflight[this.slot] = value;
  }

  /** Peak-EWMA latency (ms, Linkerd/Finagle style) at its last update. NaN before the first sample. */
  get peakLatencyMs(): number {
    return this.#load.peakLatencyMs[this.slot]!;
  }

  /**
   * Forgets the latency estimates, as for a new endpoint. Done when an ejected endpoint starts
   * probing: its old latency (often that of the fault that got it ejected) would otherwise keep
   * latency-aware selectors from sending it the trial calls that can restore it.
   */
  resetLatency(): void {
    this.#load.peakLatencyMs[this.slot] = Number.NaN;
    this.#load.penaltyMs[this.slot] = 0;
    this.ewmaLatencyMs = Number.NaN;
  }

  /** Returns the record's row to the pool's table. The record must not be used afterwards. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#load.free(this.slot);
  }

  /**
   * Peak-EWMA latency decayed to `now` (towards zero, so an idle endpoint is tried again), or
   * NaN before the first sample. Pure read: no allocation, no mutation.
   */
  latencyEstimate(now: number): number {
    return this.#load.latencyEstimate(this.slot, now);
  }

  /** The pool's load table this record's numbers live in (selectors read it directly). */
  get loadTable(): LoadTable {
    return this.#load;
  }

  /**
   * Records an attempt's latency in both averages. `failed`: the attempt failed, so the failure
   * penalty grows until the estimate (latency plus penalty) is at least twice what it was; a
   * success halves the penalty.
   */
  recordLatency(now: number, latencyMs: number, failed = false): void {
    const load = this.#load;
    const slot = this.slot;
    const rtt = latencyMs < 0 ? 0 : latencyMs;
    const penalty = load.penaltyEstimate(slot, now);
    const before = failed ? load.latencyEstimate(slot, now) : 0;
    const prev = load.peakLatencyMs[slot]!;
    if (prev !== prev) {
      load.peakLatencyMs[slot] = rtt;
      this.ewmaLatencyMs = rtt;
    } else {
      const elapsed = Math.max(0, now - load.latencyStamp[slot]!);
      const w = decay(elapsed / load.decayMs);
      // Peak sensitivity (tower's PeakEwma): a slower sample replaces the estimate at once;
      // otherwise the estimate moves towards the sample with weight 1 - e^(-Δt/τ).
      load.peakLatencyMs[slot] = rtt > prev ? rtt : prev * w + rtt * (1 - w);
      // The plain EWMA weighs each sample by the time since the previous one, with a floor so
      // that bursts of samples in the same millisecond still move it.
      const a = Math.max(1 - w, 0.05);
      this.ewmaLatencyMs = this.ewmaLatencyMs * (1 - a) + rtt * a;
    }
    // A failure makes the whole estimate (latency plus penalty) at least twice what it was; the
    // penalty is the part above the latency, and only it fades fast. A success halves it.
    load.penaltyMs[slot] = failed
      ? Math.max(0, 2 * before - load.peakLatencyMs[slot]) || 0
      : penalty / 2;
    load.latencyStamp[slot] = now;
  }

  /** Updates counters, window, latency and fault log for one outcome. */
  recordOutcome(now: number, outcome: Outcome): void {
    this.attempts++;
    const success = outcome.kind === 'success';
    if (success) this.successes++;
    else this.failures++;
    this.window.record(now, success);
    // A timeout's latency is the timeout, a lower bound of the truth: still worth recording.
    // A failure adds a penalty of at least the latency estimate on top of it: an endpoint that
    // fails fast must not look fast to latency-aware selectors (it would attract traffic).
    // Repeated failures double the penalty; successes halve it, and it fades with its own short
    // time constant (`failurePenaltyDecayMs`), so that a failing endpoint is avoided but still
    // tried now and then: the detectors need its outcomes to eject it.
    this.recordLatency(now, outcome.latencyMs, !success);
    if (!success) {
      this.faults.add({
        at: now,
        kind: outcome.kind,
        code: outcome.code,
        message: outcome.message,
      });
    }
  }
}
