/**
 * One replica of the greeter cluster: gRPC Greeter + `grpc.health.v1`, an HTTP API, and an admin
 * interface to inject faults and read counters, all on 127.0.0.1.
 *
 * Run: node --import tsx examples/greeter-cluster/replica.ts [--name r1] [--grpc-port 0]
 *        [--http-port 0] [--admin-port 0] [--tls-cert f --tls-key f [--tls-ca f]
 *        [--tls-require-client-cert]] [--etcd http://127.0.0.1:2379 [--etcd-service greeter]
 *        [--etcd-ttl 5]]
 *
 * When every server listens it prints one line of JSON to stdout:
 * `{"ready":true,"name":…,"pid":…,"grpcPort":…,"httpPort":…,"adminPort":…}` (with `--etcd`, after
 * it registered `<service>/127.0.0.1:<grpcPort>` in etcd under a lease, in gRPC-Go's layout, with
 * `{ replica, http }` as metadata; `"etcdKey"` in the line). On a stop signal it removes the key
 * first, so clients stop sending before the servers close; a killed replica's key goes when its
 * lease expires.
 * It exits 0 on SIGTERM/SIGINT/SIGHUP or when its parent goes away (see parent-watch.ts), 2 on bad
 * arguments, 98 when a port is taken, 1 on other start-up failures.
 */
import { HealthImplementation } from 'grpc-health-check';
import { FaultInjector } from './fault-injector.js';
import { greeterServiceName } from './greeter-proto.js';
import { startAdminServer } from './admin-server.js';
import { startGrpcServer } from './grpc-server.js';
import { startHttpServer } from './http-server.js';
import { watchParent } from './parent-watch.js';
import type { ReplicaContext } from './replica-context.js';
import { parseReplicaOptions, usage } from './replica-options.js';
import type { ReplicaOptions, ReplicaRegistry } from './replica-options.js';
import type { Registration } from '@detour/discovery';
import { StatsRecorder } from './replica-stats.js';

/** Time given to calls in progress when the replica is told to stop, in ms. */
const shutdownGraceMs = 500;

let options: ReplicaOptions;
try {
  options = parseReplicaOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
  process.exit(2);
}

const health = new HealthImplementation({ '': 'SERVING', [greeterServiceName]: 'SERVING' });
const stats = new StatsRecorder();
const faults = new FaultInjector(stats, (status) => {
  health.setStatus('', status);
  health.setStatus(greeterServiceName, status);
});
const ctx: ReplicaContext = {
  name: options.name,
  faults,
  stats,
  health: () => faults.faults.health,
};

let stopping = false;
// The parent may be gone already: a failed write must not crash the shutdown.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

try {
  const [grpc, http, admin] = await Promise.all([
    startGrpcServer(ctx, health, options.grpcPort, options.tls),
    startHttpServer(ctx, options.httpPort, options.tls),
    startAdminServer(ctx, options.adminPort),
  ]);
  const registration = options.registry
    ? await register(options.registry, grpc.port, http.port)
    : undefined;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${options.name}: stopping (${reason})\n`);
    // Whatever is still open after the grace period is cut by the exit.
    setTimeout(() => process.exit(0), shutdownGraceMs * 2).unref();
    void (registration?.close() ?? Promise.resolve())
      .then(() =>
        Promise.all([
          grpc.close(shutdownGraceMs),
          http.close(shutdownGraceMs),
          admin.close(shutdownGraceMs),
        ]),
      )
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  watchParent(stop);
  const ready = {
    ready: true,
    name: options.name,
    pid: process.pid,
    grpcPort: grpc.port,
    httpPort: http.port,
    adminPort: admin.port,
    ...(registration ? { etcdKey: registration.key } : {}),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${options.name}: failed to start: ${message}\n`);
  process.exit(message.includes('EADDRINUSE') ? 98 : 1);
}

/**
 * Registers the replica's gRPC address in etcd. `@detour/discovery` is loaded only here, so a
 * replica without `--etcd` does not need the package built.
 */
async function register(
  registry: ReplicaRegistry,
  grpcPort: number,
  httpPort: number,
): Promise<Registration> {
  const { registerEndpoint } = await import('@detour/discovery');
  const scheme = options.tls ? 'https' : 'http';
  const registration = await registerEndpoint({
    hosts: registry.hosts,
    service: registry.service,
    address: `127.0.0.1:${grpcPort}`,
    metadata: { replica: options.name, http: `${scheme}://127.0.0.1:${httpPort}` },
    ttlSeconds: registry.ttlSeconds,
  });
  registration.on('lost', (e) =>
    process.stderr.write(`${options.name}: etcd lease lost: ${e.error.message}\n`),
  );
  return registration;
}
