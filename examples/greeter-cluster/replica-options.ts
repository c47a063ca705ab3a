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
  /** Register in etcd (`--etcd`): under a lease, removed when the replica stops or dies. */
  readonly registry?: ReplicaRegistry;
}

/** Where and how a replica registers itself (see `replica.ts`). */
export interface ReplicaRegistry {
  /** etcd client URLs. */
  readonly hosts: readonly string[];
  /** The service: keys are `<service>/127.0.0.1:<grpcPort>`. Default `greeter`. */
  readonly service: string;
  /** The lease's TTL, s: a killed replica's key lasts this long. Default 5. */
  readonly ttlSeconds: number;
}

/** The usage text printed for bad arguments. */
export const usage = `usage: node --import tsx examples/greeter-cluster/replica.ts
  [--name r1] [--grpc-port 0] [--http-port 0] [--admin-port 0]
  [--tls-cert server.crt --tls-key server.key [--tls-ca ca.crt [--tls-require-client-cert]]]
  [--etcd http://127.0.0.1:2379[,…] [--etcd-service greeter] [--etcd-ttl 5]]`;

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
      etcd: { type: 'string' },
      'etcd-service': { type: 'string' },
      'etcd-ttl': { type: 'string' },
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
  let registry: ReplicaRegistry | undefined;
  if (values.etcd !== undefined) {
    const hosts = values.etcd.split(',').filter((h) => h !== '');
    if (hosts.length === 0 || !hosts.every((h) => /^https?:\/\/[^/]+$/.test(h))) {
      throw new Error(`--etcd must be etcd client URLs (http://host:port,…), got '${values.etcd}'`);
    }
    const ttl = Number(values['etcd-ttl'] ?? '5');
    if (!Number.isInteger(ttl) || ttl < 2 || ttl > 3600) {
      throw new Error(
        `--etcd-ttl must be whole seconds from 2 to 3600, got '${values['etcd-ttl']}'`,
      );
    }
    const service = values['etcd-service'] ?? 'greeter';
    if (service === '' || service.includes('/')) {
      throw new Error(`--etcd-service must be a name without '/', got '${service}'`);
    }
    registry = { hosts, service, ttlSeconds: ttl };
  } else if (values['etcd-service'] !== undefined || values['etcd-ttl'] !== undefined) {
    throw new Error('--etcd-service and --etcd-ttl need --etcd');
  }
  return {
    name: values.name ?? `replica-${process.pid}`,
    grpcPort: port('grpc-port', values['grpc-port']),
    httpPort: port('http-port', values['http-port']),
    adminPort: port('admin-port', values['admin-port']),
    ...(tls === undefined ? {} : { tls }),
    ...(registry === undefined ? {} : { registry }),
  };
}

function port(flag: string, value: string | undefined): number {
  const parsed = Number(value ?? '0');
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new Error(`--${flag} must be a port number (0 picks a free one), got '${value}'`);
  }
  return parsed;
}
