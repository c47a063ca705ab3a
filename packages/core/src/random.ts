/**
 * Randomness, injected. Selectors, jitter and sampling read `Random.next()`, so tests use the
 * seeded `seededRandom()` from `@detour/core/testing` and get repeatable results. This file is
 * the only place in core allowed to call `Math.random`.
 */
export interface Random {
  /** A uniformly distributed number in [0, 1). */
  next(): number;
}

/** `Math.random`, for production. */
export const systemRandom: Random = { next: () => Math.random() };

/** A uniformly distributed integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}
