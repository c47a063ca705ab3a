/** The replica's command line. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TlsMaterial } from './tls-material.js';

/** How a replica was asked to run. */
export interface ReplicaOptions {
  readonly name: string;
  /** Ports on 127.0.0.1; 0 picks a free one. */
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly adminPort: number;
  /** Serve gRPC and HTTP over TLS (admin stays plain HTTP). */
  readonly tls?: TlsMaterial;
}

/** The usage text printed for bad arguments. */
export const usage = `usage: node --import tsx examples/greeter-cluster/replica.ts
  [--name r1] [--grpc-port 0] [--http-port 0] [--admin-port 0]
  [--tls-cert server.crt --tls-key server.key [--tls-ca ca.crt [--tls-require-client-cert]]]`;

/**
 * Parses `argv` (without node and the script).
 *
 * @throws Error on unknown flags, bad ports, or TLS flags that do not go together.
 */
export function parseReplicaOptions(argv: readonly string[]): ReplicaOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      name: { type: 'string' },
      'grpc-port': { type: 'string', default: '0' },
      'http-port': { type: 'string', default: '0' },
      'admin-port': { type: 'string', default: '0' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-require-client-cert': { type: 'boolean', default: false },
    },
  });
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  const caFile = values['tls-ca'];
  const requireClientCert = values['tls-require-client-cert'] ?? false;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new Error('--tls-cert and --tls-key go together');
  }
  if (requireClientCert && caFile === undefined) {
    throw new Error('--tls-require-client-cert needs --tls-ca');
  }
  let tls: TlsMaterial | undefined;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      ...(caFile === undefined ? {} : { ca: readFileSync(caFile) }),
      requireClientCert,
    };
  } else if (caFile !== undefined) {
    throw new Error('--tls-ca needs --tls-cert and --tls-key');
  }
  return {
    name: values.name ?? `replica-${process.pid}`,
    grpcPort: port('grpc-port', values['grpc-port']),
    httpPort: port('http-port', values['http-port']),
    adminPort: port('admin-port', values['admin-port']),
    ...(tls === undefined ? {} : { tls }),
  };
}

function port(flag: string, value: string | undefined): number {
  const parsed = Number(value ?? '0');
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new Error(`--${flag} must be a port number (0 picks a free one), got '${value}'`);
  }
  return parsed;
}
