/** The environment the selector tests build pickers in. */
import type { Candidate, SelectorEnvironment } from '../selector.js';
import { ManualClock } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';

/** `members` with a seeded random (seed 1 unless given) and a manual clock. */
export function env<T extends Candidate>(members: readonly T[], seed = 1): SelectorEnvironment<T> {
  return { random: seededRandom(seed), clock: new ManualClock(), members };
}
