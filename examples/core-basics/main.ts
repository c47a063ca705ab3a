/**
 * @detour/core on its own: a pool of three replicas, one of which answers UNAVAILABLE. Every
 * call still succeeds (it fails over), the bad replica is ejected, and the snapshot shows it.
 * Run: npx tsx examples/core-basics/main.ts
 */
import { createPool } from '@detour/core';

class Unavailable extends Error {
  readonly code = 'UNAVAILABLE';
}

const pool = createPool({
  endpoints: ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051'],
  selector: 'round-robin', // the default, P2C peak-EWMA, would also avoid it, but less predictably
  call: { idempotent: true, attemptTimeoutMs: 200, deadlineMs: 1000 },
});
pool.on('ejected', (e) => console.log(`ejected ${e.endpoint.id} by ${e.detector}`));

// The operation is what an adapter would send; here replica 3 always fails.
const sayHello = (address: string): Promise<string> =>
  address === '10.0.0.3:50051'
    ? Promise.reject(new Unavailable('no'))
    : Promise.resolve(`hello from ${address}`);

let failed = 0;
for (let i = 0; i < 60; i++) {
  await pool.execute((endpoint) => sayHello(endpoint.address)).catch(() => failed++);
}
console.log(`60 calls, ${failed} failed`);
for (const e of pool.snapshot().endpoints) {
  console.log(`${e.id} ${e.status} attempts=${e.counts.attempts} failures=${e.counts.failures}`);
}
pool.close();
