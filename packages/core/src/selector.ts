/**
 * Selector contract. A `Selector` is an immutable strategy; each time the set of eligible
 * endpoints changes, the pool asks it to `build()` a `Picker`: a snapshot that answers `pick()`
 * cheaply and without allocating. Pickers read the live load of each candidate (in-flight count,
 * latency estimate) from the pool's records, but never change the candidate set.
 */
import type { Clock } from './clock.js';
import type { Endpoint } from './endpoint.js';
import type { Random } from './random.js';

/** What a selector may read of an endpoint. `EndpointRecord` implements it. */
export interface Candidate {
  readonly endpoint: Endpoint;
  /** Attempts in flight on the endpoint now. */
  readonly inflight: number;
  /** Peak-EWMA latency in ms decayed to `now`; NaN before the first sample. */
  latencyEstimate(now: number): number;
}

/**
 * A set of candidates a pick must avoid, such as the endpoints this call already tried.
 * Callers keep one per call and pass it to every pick, so picks themselves allocate nothing.
 */
export interface Exclusion<T extends Candidate = Candidate> {
  has(candidate: T): boolean;
}

export interface PickContext<T extends Candidate = Candidate> {
  /** Clock time of the pick (ms). */
  readonly now: number;
  /** Candidates to skip; undefined skips none. */
  readonly exclude?: Exclusion<T> | undefined;
  /** Affinity key for consistent hashing; ignored by other selectors. */
  readonly key?: string | undefined;
}

export interface Picker<T extends Candidate = Candidate> {
  /** An eligible, non-excluded candidate, or undefined when every candidate is excluded. */
  pick(context: PickContext<T>): T | undefined;
}

export interface SelectorEnvironment<T extends Candidate = Candidate> {
  readonly random: Random;
  readonly clock: Clock;
  /**
   * Every endpoint of the pool that is not draining, eligible or not, in a stable order. The
   * array object changes only when membership changes, so selectors may cache work keyed by it
   * (the consistent-hash ring is built over members, not over the eligible subset, so ejections
   * move only the ejected endpoint's keys).
   */
  readonly members: readonly T[];
}

export interface Selector {
  /** Stable name, e.g. `round-robin`. */
  readonly name: string;
  /**
   * Builds a picker over `candidates` (the eligible endpoints, non-empty, each also in
   * `env.members`).
   */
  build<T extends Candidate>(candidates: readonly T[], env: SelectorEnvironment<T>): Picker<T>;
}
