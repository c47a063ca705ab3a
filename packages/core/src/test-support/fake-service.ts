/**
 * An in-memory service for execute() tests: each endpoint answers according to its mode, on the
 * manual clock, and every call of the operation is logged. Test-only (not in the package).
 */
import type { Endpoint } from '../endpoint.js';
import type { AttemptContext } from '../execute/call.js';
import type { Clock } from '../clock.js';

export type Mode =
  | { readonly type: 'ok'; readonly latencyMs?: number }
  | { readonly type: 'fail'; readonly latencyMs?: number; readonly code?: string }
  | { readonly type: 'hang' };

export class ServiceError extends Error {
  readonly code: string;
  constructor(code: string, endpoint: string) {
    super(`${code} from ${endpoint}`);
    this.code = code;
  }
}

export interface LoggedAttempt {
  readonly endpoint: string;
  readonly attempt: number;
  readonly kind: string;
  readonly at: number;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

export class FakeService {
  readonly log: LoggedAttempt[] = [];
  readonly #clock: Clock;
  readonly #modes = new Map<string, Mode>();
  #default: Mode = { type: 'ok' };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  set(id: string, mode: Mode): this {
    this.#modes.set(id, mode);
    return this;
  }

  setAll(mode: Mode): this {
    this.#modes.clear();
    this.#default = mode;
    return this;
  }

  /** Endpoint ids in the order the operation was called. */
  get endpoints(): string[] {
    return this.log.map((a) => a.endpoint);
  }

  /** The operation to pass to `pool.execute()`: answers `${id}` when ok. */
  readonly operation = (endpoint: Endpoint, ctx: AttemptContext): Promise<string> => {
    const clock = this.#clock;
    this.log.push({
      endpoint: endpoint.id,
      attempt: ctx.attempt,
      kind: ctx.kind,
      at: clock.now(),
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs,
    });
    const mode = this.#modes.get(endpoint.id) ?? this.#default;
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => {
        timer?.cancel();
        reject(ctx.signal.reason as Error);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let timer: { cancel(): void } | undefined;
      if (mode.type === 'hang') return;
      const settle = (): void => {
        ctx.signal.removeEventListener('abort', onAbort);
        if (mode.type === 'ok') resolve(endpoint.id);
        else reject(new ServiceError(mode.code ?? 'UNAVAILABLE', endpoint.id));
      };
      const latency = mode.latencyMs ?? 0;
      if (latency === 0) queueMicrotask(settle);
      else timer = clock.setTimeout(settle, latency);
    });
  };
}
