/**
 * Where a pool's endpoints come from. A source pushes updates: a `full` list replaces the set
 * (the pool keeps the state of endpoints that remain, adds new ones and drains removed ones), a
 * `delta` adds and removes by id. Node-backed sources (DNS, etcd, files) live outside core.
 */
import type { EndpointInit } from '../endpoint.js';

export type EndpointUpdate =
  | {
      readonly type: 'full';
      readonly endpoints: readonly (EndpointInit | string)[];
    }
  | {
      readonly type: 'delta';
      readonly added?: readonly (EndpointInit | string)[];
      /** Ids of endpoints to drain. */
      readonly removed?: readonly string[];
    };

export interface EndpointSourceObserver {
  /** A new set of endpoints, or a change to it. */
  next(update: EndpointUpdate): void;
  /** The source failed (registry unreachable, bad data). The pool keeps its endpoints. */
  error?(error: unknown): void;
}

export interface EndpointSource {
  /**
   * Starts delivering updates to `observer`, the first of them a full list when the source has
   * one. Returns a function that stops delivery and releases the source's resources.
   */
  subscribe(observer: EndpointSourceObserver): () => void;
  /**
   * Optional: asks the registry again now. A pool calls it (on a later microtask) when many of
   * its endpoints fail at once: when an ejection leaves at least half of its members ejected,
   * and when it enters panic mode. Sources rate-limit it themselves.
   */
  refresh?(): void;
}
