/**
 * `poolBreaker(pool)`: one opossum breaker in front of a whole pool, open while no endpoint of
 * the pool is eligible (every member held or ejected), closed as soon as one is again. While
 * it is open, `fire(fn)` does not call `fn`: it fails fast with `CircuitOpenError`, or returns
 * the `fallback`'s result.
 *
 * Why: when every endpoint is out, the pool goes into panic mode and spreads calls over all of
 * them anyway, so that it never sends to none. That is right for a pool where the detectors
 * may be wrong; a caller that would rather fail fast (and show a fallback, or shed load at
 * once) puts this breaker in front: `breaker.fire(() => pool.execute(op))`.
 *
 * The breaker's state follows the pool, not an error rate: it counts eligible members
 * (`healthy` or `probing`) at creation and keeps the count from the pool's `state-change`,
 * `endpoint-added` and `panic` events. The pool emits `panic` only when it next picks, so the
 * breaker does not wait for it; it follows every status change as it happens. opossum's own
 * tripping is switched off (`errorThresholdPercentage` 100, no timeout), and its half-open
 * trial after `resetTimeout` is replaced by the pool's state: the breaker re-opens at once if
 * the pool still has no eligible endpoint. Errors thrown by `fn` pass through unchanged.
 */
import type { HealthStatus, Pool } from '@detour/core';
import { DetourConfigError, DetourError } from '@detour/core';
import CircuitBreaker from 'opossum';
import { CircuitOpenError } from './circuit-open-error.js';
import * as v from './validate.js';

export interface PoolBreakerOptions<F = never> {
  /**
   * Called instead of failing with `CircuitOpenError` while the breaker is open; its result
   * (or its promise's) is what `fire()` returns. Not called for errors thrown by `fn`: the pool
   * has already retried and failed over, and they carry the real cause. Default: none.
   */
  readonly fallback?: (error: CircuitOpenError) => F | Promise<F>;
  /** opossum's breaker name (events, metrics). Default `detour-pool`. */
  readonly name?: string;
}

export interface PoolBreaker<F = never> {
  /**
   * Calls `fn` while the pool has an eligible endpoint; otherwise rejects with
   * `CircuitOpenError` (or returns the fallback's result) without calling it. After `close()`
   * it rejects with a `DetourError` of code `DETOUR_BREAKER_SHUT_DOWN`.
   */
  fire<T>(fn: () => Promise<T>): Promise<T | F>;
  /** True while every endpoint of the pool is out. */
  readonly opened: boolean;
  /** Stops following the pool and shuts the opossum breaker down (no timer left). Idempotent. */
  close(): void;
}

/** The pool's side of the breaker: what `poolBreaker` reads (a `Pool` has it). */
type PoolView = Pick<Pool, 'on' | 'members'>;

const optionKeys = ['fallback', 'name'];

/** Node's `setTimeout` limit: opossum's reset timer is only a backstop here. */
const resetTimeout = v.maxTimerMs;

export function poolBreaker<F = never>(
  pool: Pool,
  options: PoolBreakerOptions<F> = {},
): PoolBreaker<F> {
  const view = pool as Partial<PoolView> | null | undefined;
  if (typeof view?.on !== 'function' || typeof view.members !== 'function') {
    throw new DetourConfigError('poolBreaker.pool', pool, 'must be a detour Pool');
  }
  v.knownKeys('poolBreaker', options, optionKeys);
  const fallback = v.optionalFunction<(error: CircuitOpenError) => F | Promise<F>>(
    'poolBreaker.fallback',
    options.fallback,
  );
  const name = v.name('poolBreaker.name', options.name, 'detour-pool');

  const breaker = new CircuitBreaker<[() => Promise<unknown>], unknown>((fn) => fn(), {
    name,
    timeout: false, // the pool's deadlines and attempt timeouts apply inside fn
    errorThresholdPercentage: 100, // never opens on errors: the pool's state decides
    resetTimeout,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
  });

  let eligible = 0;
  for (const record of pool.members()) if (isEligible(record.status)) eligible++;
  const follow = (): void => {
    if (eligible > 0) breaker.close();
    else breaker.open();
  };
  // opossum goes half-open after resetTimeout and would let one call through: decide instead.
  breaker.on('halfOpen', follow);
  follow();

  const unsubscribe = [
    pool.on('state-change', ({ from, to }) => {
      const change = Number(isEligible(to)) - Number(isEligible(from));
      if (change === 0) return;
      eligible += change;
      follow();
    }),
    // A new record starts healthy; if a detector held it on arrival, that state-change came first.
    pool.on('endpoint-added', () => {
      eligible++;
      follow();
    }),
    // The pool's own count, when it recomputes it: authoritative.
    pool.on('panic', (e) => {
      eligible = e.eligible;
      follow();
    }),
  ];
  let closed = false;

  return {
    async fire<T>(fn: () => Promise<T>): Promise<T | F> {
      try {
        return (await breaker.fire(fn)) as T;
      } catch (error) {
        if (!isOurError(error)) throw error;
        if (error.code === 'EOPENBREAKER') {
          const open = new CircuitOpenError(undefined, { cause: error });
          if (fallback) return fallback(open);
          throw open;
        }
        if (error.code === 'ESHUTDOWN') {
          throw new DetourError(
            'DETOUR_BREAKER_SHUT_DOWN',
            `The pool breaker ${name} is shut down`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    },
    get opened(): boolean {
      return breaker.opened;
    },
    close(): void {
      if (closed) return;
      closed = true;
      for (const off of unsubscribe) off();
      breaker.shutdown();
    },
  };
}

function isEligible(status: HealthStatus): boolean {
  return status === 'healthy' || status === 'probing';
}

function isOurError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && CircuitBreaker.isOurError(error);
}
