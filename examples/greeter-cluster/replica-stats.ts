/** Counts of what one replica has been asked, as served by the admin `GET /stats`. */

/** What `GET /stats` answers. */
export interface ReplicaStats {
  /** Application calls received (health probes excluded), whether or not a fault answered. */
  readonly calls: { readonly grpc: number; readonly http: number };
  /**
   * Every call by method, health probes included: gRPC by path
   * (`/helloworld.Greeter/SayHello`, `/grpc.health.v1.Health/Check`), HTTP by method and path
   * (`GET /hello`, `GET /healthz`).
   */
  readonly byMethod: Readonly<Record<string, number>>;
  /** Faults injected: calls answered UNAVAILABLE/503, HTTP responses destroyed. */
  readonly injected: { readonly errors: number; readonly resets: number };
}

/** What a call was: an application call over gRPC or HTTP, or a health probe. */
export type CallKind = 'grpc' | 'http' | 'probe';

/** The mutable counters behind `ReplicaStats`; owned by the replica process. */
export class StatsRecorder {
  #grpc = 0;
  #http = 0;
  #errors = 0;
  #resets = 0;
  #byMethod = new Map<string, number>();

  /** Counts one call of `method`. */
  record(kind: CallKind, method: string): void {
    if (kind === 'grpc') this.#grpc++;
    else if (kind === 'http') this.#http++;
    this.#byMethod.set(method, (this.#byMethod.get(method) ?? 0) + 1);
  }

  /** Counts one call answered with an injected error. */
  injectedError(): void {
    this.#errors++;
  }

  /** Counts one HTTP response destroyed on purpose. */
  injectedReset(): void {
    this.#resets++;
  }

  /** A copy of the counters. */
  snapshot(): ReplicaStats {
    return {
      calls: { grpc: this.#grpc, http: this.#http },
      byMethod: Object.fromEntries(this.#byMethod),
      injected: { errors: this.#errors, resets: this.#resets },
    };
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.#grpc = 0;
    this.#http = 0;
    this.#errors = 0;
    this.#resets = 0;
    this.#byMethod.clear();
  }
}
