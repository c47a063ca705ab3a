/**
 * A real server with the standard health service (`grpc-health-check`'s `HealthImplementation`)
 * that counts the Check and Watch calls it receives, so tests can tell which one a probe used.
 */
import type { Server } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { ServingStatusMap } from 'grpc-health-check';
import { HealthImplementation } from 'grpc-health-check';
import type { TestServer } from './grpc-server.js';
import { startGrpcServer } from './grpc-server.js';

export interface HealthServerOptions {
  /** Initial statuses by service name (`''` is the whole server). Default `{ '': 'SERVING' }`. */
  readonly statuses?: ServingStatusMap;
  /** Answer Watch with UNIMPLEMENTED (a health service that only has Check). Default false. */
  readonly withoutWatch?: boolean;
  /** Never answer Check (to test probe timeouts and aborts). Default false. */
  readonly hangChecks?: boolean;
}

export interface HealthServer extends TestServer {
  readonly health: HealthImplementation;
  /** Check calls received. */
  readonly checks: () => number;
  /** Watch calls received. */
  readonly watches: () => number;
}

export async function startHealthServer(options: HealthServerOptions = {}): Promise<HealthServer> {
  const health = new HealthImplementation(options.statuses ?? { '': 'SERVING' });
  let checks = 0;
  let watches = 0;
  const started = await startGrpcServer((server: Server) => {
    // HealthImplementation registers itself through `addService`; wrap its handlers to count.
    const registrar: Parameters<HealthImplementation['addToServer']>[0] = {
      addService(service, implementation) {
        const check = implementation.check as (...args: unknown[]) => void;
        const watch = implementation.watch as (...args: unknown[]) => void;
        const wrapped: Record<string, (...args: unknown[]) => void> = {
          ...(implementation as Record<string, (...args: unknown[]) => void>),
          check: (...args) => {
            checks++;
            if (!options.hangChecks) check(...args);
          },
          watch: (...args) => {
            watches++;
            if (!options.withoutWatch) {
              watch(...args);
              return;
            }
            // As a server whose health service predates Watch answers.
            const call = args[0] as { emit(event: 'error', error: object): void };
            call.emit('error', { code: status.UNIMPLEMENTED, details: 'Watch is not implemented' });
          },
        };
        server.addService(service, wrapped);
      },
    };
    health.addToServer(registrar);
  });
  return { ...started, health, checks: () => checks, watches: () => watches };
}
