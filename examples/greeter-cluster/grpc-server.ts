/** The replica's gRPC server: `helloworld.Greeter` plus the standard `grpc.health.v1` service. */
import * as grpc from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { loadGreeter } from './greeter-proto.js';
import { greeterHandlers } from './greeter-service.js';
import type { ReplicaContext } from './replica-context.js';
import type { TlsMaterial } from './tls-material.js';

/** A listening gRPC server. */
export interface RunningGrpcServer {
  readonly port: number;
  /** Lets calls in progress finish for up to `graceMs`, then cancels them. */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves Greeter and health on `127.0.0.1:port` (0 picks a free port), with TLS when `tls` is
 * given. Health probes are counted in the replica's stats under their method path.
 */
export async function startGrpcServer(
  ctx: ReplicaContext,
  health: HealthImplementation,
  port: number,
  tls: TlsMaterial | undefined,
): Promise<RunningGrpcServer> {
  const server = new grpc.Server();
  server.addService(loadGreeter().service, greeterHandlers(ctx));
  health.addToServer({
    addService: (service, implementation) =>
      // grpc-health-check types both loosely (proto-loader's definition, `any` handlers).
      server.addService(service, countedProbes(ctx, implementation)),
  });
  const credentials =
    tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(
          tls.ca ?? null,
          [{ cert_chain: tls.cert, private_key: tls.key }],
          tls.requireClientCert,
        );
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return { port: boundPort, close: (graceMs) => shutdown(server, graceMs) };
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

type AnyHandler = (call: { getPath(): string }, ...rest: unknown[]) => void;

function countedProbes(
  ctx: ReplicaContext,
  implementation: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const counted: grpc.UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    const inner = handler as AnyHandler;
    const wrapper: AnyHandler = (call, ...rest) => {
      ctx.stats.record('probe', call.getPath());
      inner(call, ...rest);
    };
    counted[method] = wrapper as grpc.UntypedHandleCall;
  }
  return counted;
}
