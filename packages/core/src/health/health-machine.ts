/**
 * The per-endpoint health state machine:
 *
 *   healthy ──eject/hold──▶ ejected ──time up, no hold / last hold released──▶ probing
 *   probing ──trialCalls successes──▶ healthy        probing ──a failure──▶ ejected (longer)
 *   any ──removed by discovery──▶ draining ──in-flight done──▶ gone
 *
 * Timed ejections last base × multiplier (capped, jittered); the multiplier grows with each
 * ejection and decays with sustained health, as gRFC A50 describes. The maximum ejected share
 * caps timed ejections (one endpoint may always be ejected). Holds from active detectors are
 * not capped: a replica that fails its health checks is down whatever its peers do.
 */
import type { Clock } from '../clock.js';
import type { Fault } from '../outcome.js';
import type { Random } from '../random.js';
import type { HealthSettings } from '../pool-options.js';
import type { EndpointRecord, HealthStatus } from './endpoint-record.js';

export interface HealthHooks {
  /** Called after every status change. */
  changed(
    record: EndpointRecord,
    from: HealthStatus,
    to: HealthStatus,
    detector: string | undefined,
  ): void;
  /** Called after an ejection (timed: `durationMs`; hold: undefined). */
  ejected(
    record: EndpointRecord,
    detector: string,
    fault: Fault,
    durationMs: number | undefined,
  ): void;
  /** Non-draining endpoints, and how many of them are ejected now. */
  census(): { readonly members: number; readonly ejected: number };
}

export class HealthMachine {
  readonly #settings: HealthSettings;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #hooks: HealthHooks;

  constructor(settings: HealthSettings, clock: Clock, random: Random, hooks: HealthHooks) {
    this.#settings = settings;
    this.#clock = clock;
    this.#random = random;
    this.#hooks = hooks;
  }

  /** A timed ejection. Returns false when refused (already out, draining, or the share cap). */
  eject(record: EndpointRecord, fault: Fault, detector: string): boolean {
    if (record.status === 'healthy') {
      const { members, ejected } = this.#hooks.census();
      const allowed =
        ejected === 0 || ((ejected + 1) / members) * 100 <= this.#settings.maxEjectedPercent;
      if (!allowed) return false;
    } else if (record.status !== 'probing') {
      return false;
    }
    this.#ejectFor(record, fault, detector, this.#nextEjectionMs(record));
    return true;
  }

  /** Holds the endpoint out for `bit` (one detector) until released. */
  hold(record: EndpointRecord, bit: number, fault: Fault, detector: string): void {
    if ((record.holds & bit) !== 0) return;
    record.holds |= bit;
    if (record.status === 'healthy' || record.status === 'probing') {
      this.#ejectFor(record, fault, detector, undefined);
    }
  }

  /** Releases `bit`'s hold; the last release of an ejected endpoint starts probing at once. */
  release(record: EndpointRecord, bit: number, detector: string): void {
    if ((record.holds & bit) === 0) return;
    record.holds &= ~bit;
    if (record.holds === 0 && record.status === 'ejected') this.#startProbing(record, detector);
  }

  /** Ends a timed ejection now (probing starts); not for a held or a non-ejected endpoint. */
  endEjection(record: EndpointRecord, detector: string): void {
    if (record.holds === 0 && record.status === 'ejected') this.#startProbing(record, detector);
  }

  /** Bookkeeping when an attempt starts on `record`. */
  attemptStarted(record: EndpointRecord): void {
    if (record.status === 'probing') record.trialsLeft--;
  }

  /**
   * Bookkeeping when an attempt ends. `success` undefined means the result was ignored
   * (cancelled, hedge loser): a probing endpoint gets its trial back.
   */
  attemptEnded(record: EndpointRecord, success: boolean | undefined): void {
    if (record.status !== 'probing') return;
    if (success === undefined) {
      record.trialsLeft++;
    } else if (success) {
      record.trialSuccesses++;
      if (record.trialSuccesses >= this.#settings.trialCalls)
        this.#set(record, 'healthy', undefined);
    }
    // A failed trial is ejected by the pool through `eject()` (it knows the fault).
  }

  /** Discovery removed the endpoint. */
  drain(record: EndpointRecord): void {
    if (record.status === 'draining') return;
    record.ejectionTimer?.cancel();
    record.ejectionTimer = undefined;
    record.statusBeforeDrain = record.status;
    this.#set(record, 'draining', undefined);
  }

  /** Discovery brought a draining endpoint back: healthy if it was, else probing. */
  undrain(record: EndpointRecord): void {
    if (record.status !== 'draining') return;
    if (record.statusBeforeDrain === 'healthy' && record.holds === 0)
      this.#set(record, 'healthy', undefined);
    else if (record.holds !== 0) this.#set(record, 'ejected', undefined);
    else this.#startProbing(record, undefined);
  }

  /** Stops the record's timer (pool close, removal). */
  dispose(record: EndpointRecord): void {
    record.ejectionTimer?.cancel();
    record.ejectionTimer = undefined;
  }

  #nextEjectionMs(record: EndpointRecord): number {
    const s = this.#settings;
    const now = this.#clock.now();
    // Decay: one step per ejectionDecayMs of health since the last restore.
    if (record.ejectionMultiplier > 0 && record.status === 'healthy') {
      const steps = Math.floor((now - record.periodStart) / s.ejectionDecayMs);
      record.ejectionMultiplier = Math.max(0, record.ejectionMultiplier - steps);
    }
    record.ejectionMultiplier++;
    const base = Math.min(s.baseEjectionMs * record.ejectionMultiplier, s.maxEjectionMs);
    return base * (1 + (s.ejectionJitterPercent / 100) * this.#random.next());
  }

  #ejectFor(
    record: EndpointRecord,
    fault: Fault,
    detector: string,
    durationMs: number | undefined,
  ): void {
    const now = this.#clock.now();
    record.ejectionTimer?.cancel();
    record.ejectionTimer = undefined;
    record.ejections++;
    record.ejectedAt = now;
    record.ejectedBy = detector;
    if (durationMs !== undefined) {
      record.ejectedUntil = now + durationMs;
      record.ejectionTimer = this.#clock.setTimeout(() => {
        record.ejectionTimer = undefined;
        if (record.status === 'ejected' && record.holds === 0)
          this.#startProbing(record, undefined);
      }, durationMs);
    } else {
      record.ejectedUntil = 0;
    }
    this.#set(record, 'ejected', detector);
    this.#hooks.ejected(record, detector, fault, durationMs);
  }

  #startProbing(record: EndpointRecord, detector: string | undefined): void {
    record.ejectionTimer?.cancel();
    record.ejectionTimer = undefined;
    record.trialsLeft = this.#settings.trialCalls;
    record.trialSuccesses = 0;
    this.#set(record, 'probing', detector);
  }

  #set(record: EndpointRecord, to: HealthStatus, detector: string | undefined): void {
    const from = record.status;
    if (from === to) return;
    const now = this.#clock.now();
    const wasUp = from === 'healthy' || from === 'probing';
    const isUp = to === 'healthy' || to === 'probing';
    if (from !== 'draining' && to !== 'draining' && wasUp !== isUp) {
      // An up period (healthy or probing) ends in an ejection; a down period ends when probing starts.
      if (wasUp) {
        record.upMs += now - record.periodStart;
        record.downTransitions++;
      } else {
        record.downMs += now - record.periodStart;
        record.upTransitions++;
      }
      record.periodStart = now;
    } else if (to === 'healthy' && from === 'probing') {
      // Sustained health (for the multiplier's decay) counts from the restore.
      record.upMs += now - record.periodStart;
      record.periodStart = now;
    }
    record.status = to;
    this.#hooks.changed(record, from, to, detector);
  }
}
