/**
 * The error a pool breaker fails fast with while every endpoint of its pool is out. A
 * `DetourError` (code `DETOUR_CIRCUIT_OPEN`), so `isDetourError()` and `instanceof` work across
 * copies of `@detour/core`.
 */
import { DetourError } from '@detour/core';

export class CircuitOpenError extends DetourError {
  constructor(
    message = 'The pool breaker is open: no endpoint of the pool is eligible',
    options?: { cause?: unknown },
  ) {
    super('DETOUR_CIRCUIT_OPEN', message, options);
    this.name = 'CircuitOpenError';
  }
}
