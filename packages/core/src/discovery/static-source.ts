/** A source that holds a fixed list, and lets its owner replace the list later. */
import type { EndpointInit } from '../endpoint.js';
import type { EndpointSource, EndpointSourceObserver } from './endpoint-source.js';

export interface StaticSource extends EndpointSource {
  /** Replaces the list; every subscriber gets a full update. */
  set(endpoints: readonly (EndpointInit | string)[]): void;
}

export function staticSource(endpoints: readonly (EndpointInit | string)[]): StaticSource {
  let current = endpoints;
  const observers = new Set<EndpointSourceObserver>();
  return {
    subscribe(observer) {
      observers.add(observer);
      observer.next({ type: 'full', endpoints: current });
      return () => {
        observers.delete(observer);
      };
    },
    set(next) {
      current = next;
      for (const observer of [...observers]) observer.next({ type: 'full', endpoints: current });
    },
  };
}
