/**
 * The smallest useful detour program: a primary greeter replica and two alternates as priority
 * groups. SayHello goes to r1 while it is up, to r2 and r3 while it is dead, and back to r1 once
 * it has restarted and passed its health checks and trial calls. No call fails.
 * Run from the repo root: npx tsx examples/sayhello-failover.ts
 */
import { createGrpcFailover } from '@detour/grpc';
import { createGreeterClient } from './greeter-cluster/greeter-client.js';
import { startLocalCluster } from './greeter-cluster/local-cluster.js';

const cluster = await startLocalCluster({ replicas: 3 }); // r1, r2, r3 on 127.0.0.1
const failover = createGrpcFailover({
  endpoints: cluster.replicas.map((r) => ({
    id: r.name,
    address: r.grpcAddress,
    priority: r.name === 'r1' ? 0 : 1, // r1 while it is healthy, r2 and r3 while it is not
  })),
  selector: 'priority-groups',
  call: { attemptTimeoutMs: 300 }, // a hung replica costs one attempt, not the deadline
  idempotentMethods: ['/helloworld.Greeter/SayHello'], // may be retried on another replica
});
const client = createGreeterClient('detour:///greeter', {
  channelOptions: failover.clientOptions(),
});
let primaryRestored = false;
failover.pool.on('restored', (e) => (primaryRestored ||= e.endpoint.id === 'r1'));

let failed = 0;
/** Sends SayHello every 20 ms until `done(calls)`; prints who answered. */
async function phase(label: string, done: (calls: number) => boolean): Promise<void> {
  const answers: Record<string, number> = {};
  let calls = 0;
  for (; !done(calls) && calls < 1000; calls++) {
    const replica = await new Promise<string | undefined>((resolve) =>
      client.sayHello({ name: label }, { deadline: Date.now() + 1000 }, (error, reply) =>
        resolve(error ? undefined : reply!.message.split(' from ')[1]),
      ),
    );
    if (replica === undefined) failed++;
    else answers[replica] = (answers[replica] ?? 0) + 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const by = Object.entries(answers)
    .sort()
    .map(([r, n]) => `${r}×${n}`);
  console.log(`${label}: ${calls} calls, answered by ${by.join(' ')}`);
}

await phase('primary up', (calls) => calls === 20);
await cluster.kill(0); // SIGKILL r1
await phase('primary down', (calls) => calls === 40);
await cluster.restart(0);
await phase('primary restarted', () => primaryRestored); // health checks, then 3 trial calls
await phase('primary back', (calls) => calls === 20);
console.log(`${failed} failed`);

client.close();
failover.close();
await cluster.stop();
process.exitCode = failed === 0 && primaryRestored ? 0 : 1;
