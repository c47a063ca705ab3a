/**
 * One unref'd interval shared by every breaker of a detector. It rotates their rolling windows
 * through opossum's `rotateBucketController` (an `EventEmitter` that emits `rotate`, opossum
 * PR #809; present in opossum 9.0.0's `lib/status.js`), so 1,000 breakers cost one timer instead
 * of 1,000 `setInterval`s, and it drives the detector's periodic sweep. It runs only while `start()`ed:
 * a detector with no breaker holds no timer.
 */
import { EventEmitter } from 'node:events';

export class RotationTicker {
  /** Pass as `rotateBucketController`; emits `rotate` on every tick. */
  readonly controller = new EventEmitter();
  readonly #intervalMs: number;
  readonly #onTick: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `onTick` runs after the `rotate` event on every tick. */
  constructor(intervalMs: number, onTick: () => void) {
    this.#intervalMs = intervalMs;
    this.#onTick = onTick;
    // Every breaker adds a `rotate` listener: thousands are expected, not a leak.
    this.controller.setMaxListeners(0);
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.controller.emit('rotate');
      this.#onTick();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer and drops every listener. */
  close(): void {
    this.stop();
    this.controller.removeAllListeners();
  }
}
