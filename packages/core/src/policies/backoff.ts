/**
 * Backoff contract: how long to wait before a retry. Strategies are immutable and stateless;
 * the call keeps the previous delay and passes it back, so one strategy serves every call.
 */
import type { Random } from '../random.js';

export interface Backoff {
  /** Stable name, e.g. `exponential`. */
  readonly name: string;
  /**
   * Delay in ms before retry number `retry` (1 for the first retry). `previousMs` is the delay
   * this call used before the previous retry (0 before the first); decorrelated jitter needs it.
   */
  delay(retry: number, previousMs: number, random: Random): number;
}
