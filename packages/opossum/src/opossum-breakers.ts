/**
 * `opossumBreakers()`: a detour `Detector` (named `opossum`) that keeps one opossum
 * `CircuitBreaker` per endpoint and turns its state into holds on the pool's health machine.
 *
 * How the two state machines meet:
 * - Every outcome the pool reports for an endpoint is fed to that endpoint's breaker
 *   (`breaker.fire(outcome)`, with an action that resolves for `success` and rejects for
 *   `error`, `timeout` and `rejected`). opossum decides as it always does: it opens when more
 *   than `errorThresholdPercentage` % of the fires in its rolling window failed and there were
 *   at least `volumeThreshold` fires. opossum settles `fire()` on a microtask, so the breaker
 *   opens just after `endAttempt()` returns, not inside it.
 * - opossum `open` → `host.hold(endpoint, { kind: 'error', code: 'circuit-open' })`: the
 *   endpoint takes no traffic. Outcomes that still arrive for it (panic mode) are not fed.
 * - opossum `halfOpen` (after `resetTimeout`) → `host.release(endpoint)`: the pool moves it to
 *   `probing`, which admits `health.trialCalls` trial attempts (default 3). opossum alone admits
 *   one; this is how detour gives it a configurable number of trial calls (opossum #613).
 * - While the endpoint is probing and its breaker half-open, trial outcomes are not fired into
 *   opossum (its first success would close it): a failed trial opens the breaker at once
 *   (`breaker.open()`, so the endpoint is held again, and opossum's reset timer restarts), and
 *   when the pool restores the endpoint after `trialCalls` successes the breaker is closed.
 *   As in opossum, closing keeps the rolling window: failures from before the opening still
 *   count until they rotate out.
 *
 * Cost (measured in README.md): a breaker is about 6.5 kB of heap, and without a shared
 * controller it owns a `setInterval`. So the breakers of one detector share one unref'd
 * rotation timer (opossum's `rotateBucketController`), and by default (`lazy`) a breaker exists
 * only for an endpoint that failed recently: it is made at the endpoint's first failure,
 * seeded with the endpoint's recent successes and failures from the pool's own statistics
 * window, and shut down once it is closed with no failure left in its window. `maxBreakers`
 * caps the worst case (every endpoint failing at once).
 *
 * Time: opossum runs on real timers and `Date.now()`, not on the pool's injected `Clock`, so
 * this detector suits pools on the system clock. Every timer it or opossum makes is unref'd.
 */
import type {
  Detector,
  DetectorHost,
  DetectorInstance,
  EndpointRecord,
  Fault,
  Outcome,
} from '@detour/core';
import CircuitBreaker from 'opossum';
import { resolveOptions } from './opossum-breakers-options.js';
import type { OpossumBreakersOptions, Settings } from './opossum-breakers-options.js';
import { RotationTicker } from './rotation-ticker.js';

type Breaker = CircuitBreaker<[Outcome], void>;

/** Makes the detector. Every option is validated here (`DetourConfigError`). */
export function opossumBreakers(options: OpossumBreakersOptions = {}): Detector {
  const settings = resolveOptions(options);
  return Object.freeze({
    name: 'opossum',
    attach: (host: DetectorHost): DetectorInstance => new EndpointBreakers(host, settings),
  });
}

interface Entry {
  readonly breaker: Breaker;
  /** The last failed outcome fed, for the fault message. */
  last: Outcome | undefined;
  /** Set while a failed trial call re-opens the breaker. */
  trialFailed: boolean;
}

class EndpointBreakers implements DetectorInstance {
  readonly #host: DetectorHost;
  readonly #s: Settings;
  readonly #entries = new Map<EndpointRecord, Entry>();
  readonly #ticker: RotationTicker;
  /** Ticks between two sweeps for idle breakers (one window). */
  readonly #ticksPerSweep: number;
  #ticks = 0;
  // The breakers' action: one shared resolved promise for a success, a rejection for a failure.
  readonly #resolved = Promise.resolve();
  readonly #failed = new Error('The attempt failed (a detour outcome other than success)');
  readonly #settle = (outcome: Outcome): Promise<void> =>
    outcome.kind === 'success' ? this.#resolved : Promise.reject(this.#failed);

  constructor(host: DetectorHost, settings: Settings) {
    this.#host = host;
    this.#s = settings;
    const bucketMs = Math.floor(settings.rollingCountTimeout / settings.rollingCountBuckets);
    // Shared rotation ticks once per bucket; otherwise the ticker only sweeps, once per window.
    this.#ticksPerSweep = settings.sharedRotation ? settings.rollingCountBuckets : 1;
    this.#ticker = new RotationTicker(
      settings.sharedRotation ? bucketMs : settings.rollingCountTimeout,
      () => this.#tick(),
    );
    if (!settings.lazy) for (const record of host.members()) this.#create(record, undefined);
  }

  onOutcome(record: EndpointRecord, outcome: Outcome): void {
    if (record.status === 'draining') return;
    const failed = outcome.kind !== 'success';
    let entry = this.#entries.get(record);
    if (!entry) {
      if (!failed && this.#s.lazy) return;
      entry = this.#create(record, outcome);
      if (!entry) return;
    }
    const breaker = entry.breaker;
    // Held: outcomes that still arrive (panic mode) would only be rejected by opossum.
    if (breaker.opened) return;
    if (failed) entry.last = outcome;
    if (breaker.halfOpen && record.status === 'probing') {
      // A trial call. Successes wait for the pool's verdict (onStatusChange); a failure re-opens.
      if (failed) {
        entry.trialFailed = true;
        breaker.open();
        entry.trialFailed = false;
      }
      return;
    }
    breaker.fire(outcome).catch(ignore);
  }

  onAdded(record: EndpointRecord): void {
    if (!this.#s.lazy) this.#create(record, undefined);
  }

  onRemoved(record: EndpointRecord): void {
    this.#remove(record);
  }

  onStatusChange(record: EndpointRecord): void {
    // The pool restored the endpoint after `trialCalls` successful trials: close the breaker.
    if (record.status !== 'healthy') return;
    const breaker = this.#entries.get(record)?.breaker;
    if (breaker?.halfOpen) breaker.close();
  }

  close(): void {
    for (const entry of this.#entries.values()) entry.breaker.shutdown();
    this.#entries.clear();
    this.#ticker.close();
  }

  /**
   * Makes the breaker for `record`, or returns undefined when `maxBreakers` is reached and no
   * breaker can make room. `current` is the outcome being fed, which the pool has already
   * counted in the record's window: it is fired, not seeded.
   */
  #create(record: EndpointRecord, current: Outcome | undefined): Entry | undefined {
    const s = this.#s;
    if (this.#entries.size >= s.maxBreakers && !(s.lazy && this.#evictClosed())) return undefined;
    const controller = s.sharedRotation ? this.#ticker.controller : undefined;
    const breaker: Breaker = new CircuitBreaker(this.#settle, {
      name: record.id,
      timeout: false, // the outcome has already happened; detour's attempt timeout made it
      resetTimeout: s.resetTimeout,
      errorThresholdPercentage: s.errorThresholdPercentage,
      volumeThreshold: s.volumeThreshold,
      rollingCountTimeout: s.rollingCountTimeout,
      rollingCountBuckets: s.rollingCountBuckets,
      rollingPercentilesEnabled: false, // latencies of the action, which is instant: meaningless
      enableSnapshots: s.enableSnapshots,
      rotateBucketController: controller,
      status: this.#seed(record, current, controller),
    });
    const entry: Entry = { breaker, last: undefined, trialFailed: false };
    breaker.on('open', () => this.#host.hold(record, this.#fault(entry)));
    breaker.on('halfOpen', () => this.#host.release(record));
    this.#entries.set(record, entry);
    if (s.sharedRotation || s.lazy) this.#ticker.start();
    s.onBreaker?.(breaker, record.endpoint);
    return entry;
  }

  /**
   * A window primed with the endpoint's recent outcomes from the pool's statistics window
   * (`stats.windowMs`), so a breaker made at the first failure still sees the successes
   * before it. They all land in the current bucket, so they rotate out one window from now.
   */
  #seed(
    record: EndpointRecord,
    current: Outcome | undefined,
    controller: RotationTicker['controller'] | undefined,
  ): CircuitBreaker.Status | undefined {
    const totals = record.window.totals(this.#host.clock.now());
    let successes = totals.successes;
    let failures = totals.failures;
    if (current) {
      if (current.kind === 'success') successes = Math.max(0, successes - 1);
      else failures = Math.max(0, failures - 1);
    }
    if (successes === 0 && failures === 0) return undefined;
    const s = this.#s;
    return CircuitBreaker.newStatus({
      rollingCountTimeout: s.rollingCountTimeout,
      rollingCountBuckets: s.rollingCountBuckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: s.enableSnapshots,
      rotateBucketController: controller,
      stats: {
        fires: successes + failures,
        successes,
        failures,
        fallbacks: 0,
        rejects: 0,
        timeouts: 0,
        cacheHits: 0,
        cacheMisses: 0,
        semaphoreRejections: 0,
        percentiles: {},
        latencyTimes: [],
        latencyMean: 0,
      },
    });
  }

  /** Shuts down the oldest closed breaker; false if every breaker is open or half-open. */
  #evictClosed(): boolean {
    for (const [record, entry] of this.#entries) {
      if (entry.breaker.closed) {
        this.#remove(record);
        return true;
      }
    }
    return false;
  }

  #remove(record: EndpointRecord): void {
    const entry = this.#entries.get(record);
    if (!entry) return;
    entry.breaker.shutdown();
    this.#entries.delete(record);
    this.#host.release(record);
    if (this.#entries.size === 0) this.#ticker.stop();
  }

  #tick(): void {
    if (!this.#s.lazy || ++this.#ticks % this.#ticksPerSweep !== 0) return;
    // Lazy mode: a closed breaker with no failure in its window is no different from none.
    for (const [record, entry] of this.#entries) {
      if (entry.breaker.closed && entry.breaker.stats.failures === 0) this.#remove(record);
    }
  }

  #fault(entry: Entry): Fault {
    const last = entry.last;
    const what = last
      ? (last.message ?? `${last.kind}${last.code === undefined ? '' : ` ${last.code}`}`)
      : 'none';
    if (entry.trialFailed) {
      return {
        kind: 'error',
        code: 'circuit-open',
        message: `opossum breaker re-opened: a trial call failed while half-open (${what})`,
      };
    }
    const { failures, fires } = entry.breaker.stats;
    return {
      kind: 'error',
      code: 'circuit-open',
      message:
        `opossum breaker opened: ${failures} of ${fires} outcomes failed in the last ` +
        `${this.#s.rollingCountTimeout} ms (last: ${what})`,
    };
  }
}

function ignore(): void {}
