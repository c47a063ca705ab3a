/**
 * Picks a given share of events, spread evenly and without randomness: with a rate of 0.25 every
 * fourth event is picked, with 1 every event, with 0 none. After n events exactly ⌊n·rate⌋ have
 * been picked, so tests of fault injection are repeatable.
 */
export class EvenShare {
  #owed = 0;

  constructor(readonly rate: number) {}

  /** Whether this event is one of the share. */
  take(): boolean {
    if (this.rate <= 0) return false;
    this.#owed += this.rate;
    // Tolerates rounding: ten steps of 0.1 must pick the tenth event.
    if (this.#owed < 1 - 1e-9) return false;
    this.#owed -= 1;
    return true;
  }
}
