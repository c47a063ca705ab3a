/**
 * The nice-grpc quick start of packages/grpc/README.md on three real greeter replicas: a nice-grpc
 * Greeter client on a detour failover sends 60 SayHello calls, and one replica is SIGKILLed after
 * the first 20. No call fails, and the dead replica is ejected. Then a SayHelloMany call, which
 * the definition does not mark idempotent, is made retryable with the `detourIdempotent` option.
 * Run from the repo root: npx tsx examples/grpc-failover/nice-grpc.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createClientFactory } from 'nice-grpc';
import { createGrpcFailover, detourNiceGrpc } from '@detour/grpc';
import { startLocalCluster } from '../greeter-cluster/local-cluster.js';
import { GreeterDefinition } from './greeter-definition.js';

const cluster = await startLocalCluster({ replicas: 3 });
const failover = createGrpcFailover({
  endpoints: cluster.replicas.map((r) => r.grpcAddress),
  call: { attemptTimeoutMs: 300 },
});
const nice = detourNiceGrpc(failover);

const client = createClientFactory().use(nice.middleware).create(GreeterDefinition, nice.channel);

const victim = cluster.replica(1);
const victimEjected = new Promise<void>((resolve) =>
  failover.pool.on('ejected', (e) => {
    console.log(`ejected ${e.endpoint.id} by ${e.detector}`);
    if (e.endpoint.id === victim.grpcAddress) resolve();
  }),
);

const calls: Promise<unknown>[] = [];
for (let i = 0; i < 60; i++) {
  if (i === 20) {
    await cluster.kill(1);
    console.log(`killed ${victim.name} at ${victim.grpcAddress}`);
  }
  // IDEMPOTENT in the definition: fails over after any retryable failure.
  calls.push(client.sayHello({ name: `call ${i}` }));
  await sleep(10);
}
const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected').length;
console.log(`60 calls, ${failed} failed`);

// Not idempotent in the definition: this call may be retried anywhere only because of the option.
async function* greetings(): AsyncGenerator<{ name: string }> {
  for (const name of ['ada', 'grace']) {
    yield { name };
    await sleep(10);
  }
}
const many = await client.sayHelloMany(greetings(), { detourIdempotent: true });
console.log(many.message);

// Calls avoid the dead replica at once; the health check (every second) ejects it in ~2 s.
await Promise.race([victimEjected, sleep(5_000, undefined, { ref: false })]);

failover.close(); // nice.channel.close() does the same
await cluster.stop();
process.exitCode = failed === 0 ? 0 : 1;
