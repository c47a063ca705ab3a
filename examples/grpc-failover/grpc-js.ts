/**
 * The grpc-js quick start of packages/grpc/README.md on three real greeter replicas: a generated
 * Greeter client on a detour failover sends 60 SayHello calls, and one replica is SIGKILLed after
 * the first 20. No call fails, and the dead replica is ejected.
 * Run from the repo root: npx tsx examples/grpc-failover/grpc-js.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createGrpcFailover } from '@detour/grpc';
import type { GreeterClient } from '../greeter-cluster/greeter-client.js';
import { loadGreeter } from '../greeter-cluster/greeter-proto.js';
import { startLocalCluster } from '../greeter-cluster/local-cluster.js';

const cluster = await startLocalCluster({ replicas: 3 });
const failover = createGrpcFailover({
  endpoints: cluster.replicas.map((r) => r.grpcAddress),
  call: { attemptTimeoutMs: 300 }, // a frozen replica costs one attempt, not the deadline
  idempotentMethods: ['/helloworld.Greeter/SayHello'],
});

// Any generated client (here the one proto-loader makes from greeter.proto): the target and
// credentials are ignored, the failover's are used.
const Greeter = loadGreeter();
const client = new Greeter(
  'detour:///greeter',
  grpc.credentials.createInsecure(),
  failover.clientOptions(),
) as unknown as GreeterClient;

const sayHello = (name: string): Promise<string> =>
  new Promise((resolve, reject) => {
    client.sayHello({ name }, { deadline: Date.now() + 2000 }, (error, reply) =>
      error ? reject(error) : resolve(reply!.message),
    );
  });

const victim = cluster.replica(1);
const victimEjected = new Promise<void>((resolve) =>
  failover.pool.on('ejected', (e) => {
    console.log(`ejected ${e.endpoint.id} by ${e.detector}`);
    if (e.endpoint.id === victim.grpcAddress) resolve();
  }),
);

const calls: Promise<string>[] = [];
for (let i = 0; i < 60; i++) {
  if (i === 20) {
    await cluster.kill(1);
    console.log(`killed ${victim.name} at ${victim.grpcAddress}`);
  }
  calls.push(sayHello(`call ${i}`));
  await sleep(10);
}
const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected').length;
console.log(`60 calls, ${failed} failed`);
// Calls avoid the dead replica at once; the health check (every second) ejects it in ~2 s.
await Promise.race([victimEjected, sleep(5_000, undefined, { ref: false })]);

failover.close();
await cluster.stop();
process.exitCode = failed === 0 ? 0 : 1;
