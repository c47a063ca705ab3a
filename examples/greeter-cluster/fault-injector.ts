/** Applies the faults in force to each call a replica serves. */
import { setTimeout as sleep } from 'node:timers/promises';
import { EvenShare } from './even-share.js';
import { noFaults } from './faults.js';
import type { Faults, FaultsUpdate, ServingStatus } from './faults.js';
import type { StatsRecorder } from './replica-stats.js';

/** What to do with a call once its injected latency has passed. */
export type Admission = 'serve' | 'fail' | 'abandoned';

/**
 * Holds the faults of one replica and decides, call by call, whether to delay, fail or cut it.
 * Changing `errorRate` or `resetRate` restarts their even spreading.
 */
export class FaultInjector {
  #faults: Faults = noFaults;
  #errors = new EvenShare(0);
  #resets = new EvenShare(0);

  /**
   * @param stats counts the faults injected.
   * @param onHealth told of every health change, to update the health service.
   */
  constructor(
    private readonly stats: StatsRecorder,
    private readonly onHealth: (status: ServingStatus) => void,
  ) {}

  /** The faults in force. */
  get faults(): Faults {
    return this.#faults;
  }

  /** Applies `update` over the faults in force and returns the result. */
  update(update: FaultsUpdate): Faults {
    const before = this.#faults;
    this.#faults = Object.freeze({ ...before, ...update });
    if (update.errorRate !== undefined) this.#errors = new EvenShare(update.errorRate);
    if (update.resetRate !== undefined) this.#resets = new EvenShare(update.resetRate);
    if (this.#faults.health !== before.health) this.onHealth(this.#faults.health);
    return this.#faults;
  }

  /** Removes every fault. */
  clear(): Faults {
    return this.update(noFaults);
  }

  /**
   * Waits out the injected latency, then decides whether the call is served or fails.
   * `abandoned` when the caller went away (`signal` aborted) during the wait.
   */
  async admit(signal: AbortSignal): Promise<Admission> {
    const { latencyMs } = this.#faults;
    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal });
      } catch {
        return 'abandoned';
      }
    }
    if (signal.aborted) return 'abandoned';
    if (!this.#errors.take()) return 'serve';
    this.stats.injectedError();
    return 'fail';
  }

  /** Whether to destroy this HTTP response half-way. */
  takeReset(): boolean {
    if (!this.#resets.take()) return false;
    this.stats.injectedReset();
    return true;
  }
}
