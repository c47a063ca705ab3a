/**
 * `@detour/opossum`: opossum circuit breakers plugged into a detour pool. `opossumBreakers()`
 * is a detector with one breaker per endpoint (its state becomes holds on the pool's health
 * machine); `poolBreaker()` fails fast while every endpoint of a pool is out.
 */
export { opossumBreakers } from './opossum-breakers.js';
export type { OpossumBreakersOptions, EndpointBreaker } from './opossum-breakers-options.js';
export { poolBreaker } from './pool-breaker.js';
export type { PoolBreaker, PoolBreakerOptions } from './pool-breaker.js';
export { CircuitOpenError } from './circuit-open-error.js';
