/**
 * The greeter cluster harness (test/support/cluster.ts) against real replica processes: what the
 * adapter tests, the demo and the benchmarks rely on.
 */
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGreeterClient } from '../examples/greeter-cluster/greeter-client.js';
import type {
  GreeterClient,
  GreeterClientOptions,
} from '../examples/greeter-cluster/greeter-client.js';
import type { HelloReply } from '../examples/greeter-cluster/greeter-proto.js';
import { grpc } from '../examples/greeter-cluster/grpc-js.js';
import { createHealthClient } from '../examples/greeter-cluster/health-client.js';
import type { HealthCheckResponse } from '../examples/greeter-cluster/health-client.js';
import { startCluster } from './support/cluster.js';
import type { Cluster } from './support/cluster.js';
import { makeTestCertificates } from './support/tls.js';
import type { TestCertificates } from './support/tls.js';

/** A finished unary call: the reply and what the replica sent alongside it. */
interface Answer {
  message: string;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
}

const clients: grpc.Client[] = [];

/** A client with its own connection, so no test inherits another's reconnect backoff. */
function greeter(address: string, options: GreeterClientOptions = {}): GreeterClient {
  const client = createGreeterClient(address, {
    ...options,
    channelOptions: { 'grpc.use_local_subchannel_pool': 1, ...options.channelOptions },
  });
  clients.push(client);
  return client;
}

function sayHello(client: GreeterClient, name: string, deadlineMs = 5_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let outcome: { error: grpc.ServiceError | null; reply: HelloReply | undefined } | undefined;
    let headers = new grpc.Metadata();
    const call = client.sayHello(
      { name },
      { deadline: Date.now() + deadlineMs },
      (error, reply) => {
        outcome = { error, reply };
      },
    );
    call.on('metadata', (metadata) => (headers = metadata));
    call.on('status', (status) => {
      if (outcome?.error) reject(outcome.error);
      else resolve({ message: outcome?.reply?.message ?? '', headers, trailers: status.metadata });
    });
  });
}

/** The gRPC error a promise rejected with. */
async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

function healthCheck(address: string, service: string): Promise<HealthCheckResponse['status']> {
  const client = createHealthClient(address, {
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
  });
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + 5_000 }, (error, response) =>
      error ? reject(error) : resolve(response!.status),
    );
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('greeter cluster harness', () => {
  let cluster: Cluster;
  const pids: number[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 });
    pids.push(...cluster.replicas.map((r) => r.pid));
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await cluster?.stop();
  });

  it('starts named replicas on distinct 127.0.0.1 ports', () => {
    const [r1, r2] = cluster.replicas;
    expect(r1!.name).toBe('r1');
    expect(r2!.name).toBe('r2');
    expect(r1!.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r1!.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(
      new Set(cluster.replicas.flatMap((r) => [r.grpcPort, r.httpPort, r.adminPort])).size,
    ).toBe(6);
    expect(cluster.replicas.map((r) => r.state)).toEqual(['running', 'running']);
  });

  it('answers SayHello naming the replica in the reply, the metadata and the trailers', async () => {
    const answer = await sayHello(greeter(cluster.replicas[0]!.grpcAddress), 'ada');
    expect(answer.message).toBe('Hello ada from r1');
    expect(answer.headers.get('x-replica')).toEqual(['r1']);
    expect(answer.trailers.get('x-replica')).toEqual(['r1']);
  });

  it('serves the streaming methods', async () => {
    const client = greeter(cluster.replicas[1]!.grpcAddress);
    const streamed: string[] = [];
    for await (const reply of client.sayHelloStream({ name: 'ada', count: 3 })) {
      streamed.push((reply as HelloReply).message);
    }
    expect(streamed).toEqual([1, 2, 3].map((i) => `Hello ada from r2 (${i}/3)`));

    const many = await new Promise<HelloReply>((resolve, reject) => {
      const call = client.sayHelloMany((error, reply) => (error ? reject(error) : resolve(reply!)));
      call.write({ name: 'a' });
      call.write({ name: 'b' });
      call.end();
    });
    expect(many.message).toBe('Hello a, b from r2');

    const chat = client.chat();
    const echoed: string[] = [];
    chat.on('data', (reply: HelloReply) => echoed.push(reply.message));
    chat.write({ name: 'x' });
    chat.write({ name: 'y' });
    chat.end();
    await new Promise((resolve) => chat.on('end', resolve));
    expect(echoed).toEqual(['Hello x from r2', 'Hello y from r2']);
  });

  it('answers HTTP /hello, /echo and /healthz', async () => {
    const { httpUrl } = cluster.replicas[0]!;
    const hello = await fetch(`${httpUrl}/hello?name=ada`);
    expect(hello.headers.get('x-replica')).toBe('r1');
    expect(await hello.json()).toEqual({ message: 'Hello ada from r1', replica: 'r1' });
    const echo = await fetch(`${httpUrl}/echo`, { method: 'POST', body: 'replay me' });
    expect(await echo.text()).toBe('replay me');
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
  });

  it('answers UNAVAILABLE (and HTTP 503) while errorRate is 1, and counts the calls', async () => {
    const r1 = cluster.replicas[0]!;
    await cluster.resetStats(0);
    const faults = await cluster.setFaults(0, { errorRate: 1 });
    expect(faults).toEqual({ latencyMs: 0, errorRate: 1, health: 'SERVING', resetRate: 0 });

    const error = await grpcError(sayHello(greeter(r1.grpcAddress), 'ada'));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.metadata.get('x-replica')).toEqual(['r1']);
    expect((await fetch(`${r1.httpUrl}/hello`)).status).toBe(503);

    await cluster.clearFaults(0);
    expect((await sayHello(greeter(r1.grpcAddress), 'ada')).message).toBe('Hello ada from r1');
    const stats = await cluster.stats(0);
    expect(stats.calls).toEqual({ grpc: 2, http: 1 });
    expect(stats.byMethod['/helloworld.Greeter/SayHello']).toBe(2);
    expect(stats.byMethod['GET /hello']).toBe(1);
    expect(stats.injected.errors).toBe(2);
  });

  it('spreads a partial errorRate evenly and destroys responses at resetRate', async () => {
    const r1 = cluster.replicas[0]!;
    await cluster.setFaults(0, { errorRate: 0.5 });
    const client = greeter(r1.grpcAddress);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      codes.push(
        await sayHello(client, 'x').then(
          () => 0,
          (e: grpc.ServiceError) => e.code,
        ),
      );
    }
    expect(codes).toEqual([0, 14, 0, 14]);

    await cluster.setFaults(0, { errorRate: 0, resetRate: 1 });
    const response = await fetch(`${r1.httpUrl}/hello`);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await cluster.clearFaults(0);
  });

  it('reports NOT_SERVING through grpc.health.v1 and /healthz', async () => {
    const r2 = cluster.replicas[1]!;
    expect(await healthCheck(r2.grpcAddress, 'helloworld.Greeter')).toBe('SERVING');
    await cluster.setFaults(1, { health: 'NOT_SERVING' });
    expect(await healthCheck(r2.grpcAddress, '')).toBe('NOT_SERVING');
    expect(await healthCheck(r2.grpcAddress, 'helloworld.Greeter')).toBe('NOT_SERVING');
    expect((await fetch(`${r2.httpUrl}/healthz`)).status).toBe(503);
    await cluster.setFaults(1, { health: 'SERVING' });
    expect(await healthCheck(r2.grpcAddress, '')).toBe('SERVING');
  });

  it('refuses connections once a replica is killed', async () => {
    const r2 = cluster.replicas[1]!;
    await cluster.kill(1);
    expect(r2.state).toBe('dead');
    expect(isRunning(pids[1]!)).toBe(false);
    const error = await grpcError(sayHello(greeter(r2.grpcAddress), 'ada'));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/ECONNREFUSED/);
    const refused = await fetch(`${r2.httpUrl}/hello`).catch((e: Error) => e.cause);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('restarts a replica on the same ports', async () => {
    const r2 = cluster.replicas[1]!;
    const before = { grpcAddress: r2.grpcAddress, httpUrl: r2.httpUrl, adminUrl: r2.adminUrl };
    await cluster.restart(1);
    pids.push(r2.pid);
    expect(r2.pid).not.toBe(pids[1]);
    expect(r2.state).toBe('running');
    expect({ grpcAddress: r2.grpcAddress, httpUrl: r2.httpUrl, adminUrl: r2.adminUrl }).toEqual(
      before,
    );
    expect((await sayHello(greeter(r2.grpcAddress), 'ada')).message).toBe('Hello ada from r2');
    expect((await cluster.stats(1)).calls.grpc).toBe(1);
  });

  it('freezes a replica with its connection open, so calls hit their deadline, then thaws it', async () => {
    const client = greeter(cluster.replicas[0]!.grpcAddress);
    await sayHello(client, 'warm-up');
    cluster.freeze(0);
    expect(cluster.replicas[0]!.state).toBe('frozen');
    const started = performance.now();
    const error = await grpcError(sayHello(client, 'ada', 300));
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2_000);
    cluster.thaw(0);
    expect((await sayHello(client, 'ada')).message).toBe('Hello ada from r1');
  });

  it('leaves no replica process behind after stop(), which may be called twice', async () => {
    await Promise.all([cluster.stop(), cluster.stop()]);
    expect(cluster.replicas.map((r) => r.state)).toEqual(['dead', 'dead']);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('greeter cluster harness with TLS', () => {
  // The certificate names 127.0.0.1 and localhost; grpc-js would send the IP as TLS server name,
  // which Node deprecates (DEP0123), so name the server `localhost`.
  const channelOptions = { 'grpc.ssl_target_name_override': 'localhost' };
  let certs: TestCertificates;
  let cluster: Cluster;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    cluster = await startCluster({
      replicas: 1,
      tls: {
        certPath: certs.server.certPath,
        keyPath: certs.server.keyPath,
        caPath: certs.ca.certPath,
        requireClientCert: true,
      },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    await certs?.remove();
  });

  it('answers a gRPC client over mutual TLS', async () => {
    const credentials = grpc.credentials.createSsl(
      certs.ca.cert,
      certs.client.key,
      certs.client.cert,
    );
    const client = greeter(cluster.replicas[0]!.grpcAddress, { credentials, channelOptions });
    const answer = await sayHello(client, 'ada');
    expect(answer.message).toBe('Hello ada from r1');
  });

  it('refuses a gRPC client without a client certificate', async () => {
    const credentials = grpc.credentials.createSsl(certs.ca.cert);
    const client = greeter(cluster.replicas[0]!.grpcAddress, { credentials, channelOptions });
    const error = await grpcError(sayHello(client, 'ada', 2_000));
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('answers HTTPS /hello', async () => {
    const { httpUrl } = cluster.replicas[0]!;
    expect(httpUrl).toMatch(/^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        `${httpUrl}/hello?name=ada`,
        {
          ca: certs.ca.cert,
          cert: certs.client.cert,
          key: certs.client.key,
          servername: 'localhost',
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual({ message: 'Hello ada from r1', replica: 'r1' });
  });
});
