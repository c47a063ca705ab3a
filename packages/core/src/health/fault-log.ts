/** A bounded log of an endpoint's most recent faults; the oldest entry is dropped when full. */
import type { FaultKind } from '../outcome.js';

export interface FaultEntry {
  /** Clock time (ms) of the fault. */
  readonly at: number;
  readonly kind: FaultKind;
  readonly code: string | number | undefined;
  readonly message: string | undefined;
}

export class FaultLog {
  readonly #capacity: number;
  #entries: FaultEntry[] | undefined; // allocated on the first fault
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(entry: FaultEntry): void {
    if (this.#capacity === 0) return;
    this.#entries ??= [];
    this.#entries[this.#next] = entry;
    this.#next = (this.#next + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size++;
  }

  /** Oldest first. */
  toArray(): FaultEntry[] {
    if (!this.#entries) return [];
    const out: FaultEntry[] = [];
    const start = this.#size < this.#capacity ? 0 : this.#next;
    for (let i = 0; i < this.#size; i++) out.push(this.#entries[(start + i) % this.#capacity]!);
    return out;
  }
}
