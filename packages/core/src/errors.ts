/**
 * detour's errors. Each carries a stable `code` and a brand registered with `Symbol.for`, so
 * `isDetourError()` and `instanceof` keep working when an application ends up with two copies
 * of `@detour/core` (as undici and nice-grpc do for theirs).
 */

const brand = Symbol.for('detour.error');

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export type DetourErrorCode =
  'DETOUR_CONFIG' | 'DETOUR_NO_ENDPOINT' | 'DETOUR_POOL_CLOSED' | (string & {});

export class DetourError extends Error {
  readonly code: DetourErrorCode;

  constructor(code: DetourErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DetourError';
    Object.defineProperty(this, brand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === DetourError) return isDetourError(value);
    const prototype: object = this.prototype;
    return isDetourError(value) && Object.prototype.isPrototypeOf.call(prototype, value);
  }
}

/** True for any error made by any copy of `@detour/core`. */
export function isDetourError(value: unknown): value is DetourError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/**
 * Invalid configuration, thrown at construction time. `option` is the path of the offending
 * option (`detectors[0].threshold`) and `value` the value that was given.
 */
export class DetourConfigError extends DetourError {
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, requirement: string) {
    super('DETOUR_CONFIG', `Invalid option ${option}: ${describeValue(value)} ${requirement}`);
    this.name = 'DetourConfigError';
    this.option = option;
    this.value = value;
  }
}

/** Raised when no endpoint can take an attempt (empty pool). */
export class NoEndpointError extends DetourError {
  constructor(message = 'No endpoint is available') {
    super('DETOUR_NO_ENDPOINT', message);
    this.name = 'NoEndpointError';
  }
}

/** Raised by operations on a pool after `close()`. */
export class PoolClosedError extends DetourError {
  constructor() {
    super('DETOUR_POOL_CLOSED', 'The pool is closed');
    this.name = 'PoolClosedError';
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
