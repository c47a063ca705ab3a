/**
 * The smallest useful use of @detour/core on its own: a pool of three replicas, attempts
 * reported to it, a replica that keeps failing ejected, and the snapshot that shows it.
 * Run: npx tsx examples/core-basics/main.ts
 */
import { createPool } from '@detour/core';

const pool = createPool({
  endpoints: ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051'],
  selector: 'p2c-peak-ewma', // the default
});
pool.on('ejected', (e) =>
  console.log(`ejected ${e.endpoint.id} by ${e.detector} for ${Math.round(e.durationMs ?? 0)} ms`),
);

// An adapter does this for every attempt: pick, start, end with the classified outcome.
for (let i = 0; i < 60; i++) {
  const endpoint = pool.pick()!;
  pool.startAttempt(endpoint);
  const failing = endpoint.id === '10.0.0.3:50051'; // this replica answers UNAVAILABLE
  pool.endAttempt(
    endpoint,
    failing
      ? { kind: 'error', latencyMs: 1, code: 'UNAVAILABLE' }
      : { kind: 'success', latencyMs: 4 },
  );
}

for (const e of pool.snapshot().endpoints) {
  console.log(`${e.id} ${e.status} attempts=${e.counts.attempts} failures=${e.counts.failures}`);
}
pool.close();
