/**
 * Recent outcomes of one endpoint in a sliding time window, kept as a ring of time buckets
 * (successes and failures per bucket) in one typed array: O(1) to record, O(buckets) to read,
 * 8 bytes per bucket.
 */
export class OutcomeWindow {
  readonly #counts: Uint32Array; // [success0, failure0, success1, failure1, ...]
  readonly #bucketMs: number;
  readonly #buckets: number;
  #head = 0; // index of the current bucket
  #headStart: number; // start time of the current bucket

  constructor(windowMs: number, buckets: number, now: number) {
    this.#buckets = buckets;
    this.#bucketMs = windowMs / buckets;
    this.#counts = new Uint32Array(buckets * 2);
    this.#headStart = now;
  }

  #advance(now: number): void {
    const elapsed = now - this.#headStart;
    if (elapsed < this.#bucketMs) return;
    const steps = Math.floor(elapsed / this.#bucketMs);
    const clear = Math.min(steps, this.#buckets);
    for (let i = 1; i <= clear; i++) {
      const b = (this.#head + i) % this.#buckets;
      this.#counts[b * 2] = 0;
      this.#counts[b * 2 + 1] = 0;
    }
    this.#head = (this.#head + steps) % this.#buckets;
    this.#headStart += steps * this.#bucketMs;
  }

  record(now: number, success: boolean): void {
    this.#advance(now);
    this.#counts[this.#head * 2 + (success ? 0 : 1)]! += 1;
  }

  /** Successes and failures within the window ending at `now`. */
  totals(now: number): { successes: number; failures: number } {
    this.#advance(now);
    let successes = 0;
    let failures = 0;
    for (let b = 0; b < this.#buckets; b++) {
      successes += this.#counts[b * 2]!;
      failures += this.#counts[b * 2 + 1]!;
    }
    return { successes, failures };
  }
}
