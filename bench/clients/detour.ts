/**
 * detour's clients in the benchmark: the demo's (`examples/demo/clients.ts`), configured as the
 * package READMEs advise and nothing more: a 300 ms attempt timeout (a frozen replica costs one
 * attempt, not the deadline), SayHello idempotent (so it may be retried on another replica),
 * health checks on (the gRPC health service; `/healthz` for fetch), metrics off, every other
 * option at its default (P2C peak-EWMA, the default detectors, retry budget, up to 3 attempts).
 * The nice-grpc client also has nice-grpc's deadline middleware, and its failover gets the call
 * deadline (`call.deadlineMs`) to plan its retries within it.
 */
import { createClient } from '../../examples/demo/clients.js';
import type { BenchClientFactory } from '../harness/types.js';

type DetourClientName = 'detour-grpc-js' | 'detour-nice-grpc' | 'detour-fetch';

/** The demo's detour client `name` as a benchmark client whose calls have `deadlineMs`. */
export function detourClient(name: DetourClientName, deadlineMs: number): BenchClientFactory {
  return (replicas) => {
    const client = createClient(name, replicas, deadlineMs);
    return Promise.resolve({
      name,
      transport: client.transport,
      send: (deadline) => client.send('bench', deadline),
      close: () => {
        client.close();
        return Promise.resolve();
      },
    });
  };
}
