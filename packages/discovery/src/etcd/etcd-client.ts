/**
 * Which etcd client a source or a registration uses: the caller's `Etcd3` (never closed here), or
 * one made from `hosts` and `etcdOptions` (owned, closed when the user is done with it).
 */
import { Etcd3 } from 'etcd3';
import type { IOptions } from 'etcd3';
import { DetourConfigError, validate as v } from '@detour/core';

/** `etcd3`'s client options, less `hosts` (given beside them). */
export type EtcdClientSettings = Omit<IOptions, 'hosts'>;

/** How to reach etcd: exactly one of `client` and `hosts`. */
export interface EtcdConnectionOptions {
  /**
   * Your `Etcd3` client from the `etcd3` package. Used as is and never closed here: close it
   * yourself after the source or registration. Not with `hosts`.
   */
  readonly client?: Etcd3;
  /**
   * etcd's client URLs, `http://10.0.0.1:2379` (`https://` for TLS; all hosts alike). A client is
   * made from them and `etcdOptions`, and closed with the source or registration. Not with
   * `client`.
   */
  readonly hosts?: string | readonly string[];
  /**
   * Options of the client made from `hosts` (`etcd3`'s `IOptions` less `hosts`): `auth`,
   * `credentials` (TLS), `grpcOptions`, `defaultCallOptions`, `faultHandling`. Default none, but
   * gRPC keepalive pings every 10 s (`grpc.keepalive_time_ms` 10000, `grpc.keepalive_timeout_ms`
   * 5000, unless `grpcOptions` sets them), so that an etcd gone without a TCP reset is noticed
   * within 15 s instead of holding a silent watch forever.
   */
  readonly etcdOptions?: EtcdClientSettings;
}

export const etcdConnectionOptionKeys: readonly string[] = ['client', 'hosts', 'etcdOptions'];

const etcdOptionKeys = [
  'auth',
  'credentials',
  'grpcOptions',
  'defaultCallOptions',
  'dialTimeout',
  'faultHandling',
];

/** The keepalive an owned client gets unless `etcdOptions.grpcOptions` says otherwise. */
const defaultGrpcOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
};

/** A checked way to get the client. */
export interface EtcdConnection {
  /** Whether `create()` makes a client of ours, to be closed when done. */
  readonly owned: boolean;
  /** The caller's client, or a new one from `hosts`. */
  create(): Etcd3;
}

/** Checks that `options` is an object of known keys: a typo fails loudly. */
export function checkOptionKeys(options: unknown, keys: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new DetourConfigError('options', options, 'must be an object');
  }
  v.knownKeys('', options, keys);
}

function isEtcd3(value: unknown): value is Etcd3 {
  const client = value as Partial<Etcd3> | null;
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof client.kv?.range === 'function' &&
    typeof client.watchClient?.watch === 'function' &&
    typeof client.leaseClient?.leaseGrant === 'function' &&
    typeof client.close === 'function'
  );
}

/**
 * Checks `client` / `hosts` / `etcdOptions` at construction time. A client made from `hosts` is
 * made once here too, and closed, so that what `etcd3` rejects (a mix of `http` and `https`
 * hosts, bad TLS material) fails now.
 */
export function resolveEtcdConnection(options: EtcdConnectionOptions): EtcdConnection {
  const { client, hosts, etcdOptions } = options;
  if (client !== undefined) {
    if (!isEtcd3(client)) {
      throw new DetourConfigError('client', client, 'must be an Etcd3 client (package etcd3)');
    }
    if (hosts !== undefined) {
      throw new DetourConfigError('hosts', hosts, 'must not be given with client');
    }
    if (etcdOptions !== undefined) {
      throw new DetourConfigError('etcdOptions', etcdOptions, 'apply to hosts, not to client');
    }
    return { owned: false, create: () => client };
  }
  if (hosts === undefined) {
    throw new DetourConfigError('hosts', hosts, 'is required (or pass client)');
  }
  const given: unknown = hosts;
  const list: unknown[] | undefined =
    typeof given === 'string'
      ? [given]
      : Array.isArray(given)
        ? [...(given as unknown[])]
        : undefined;
  if (list === undefined || list.length === 0) {
    throw new DetourConfigError('hosts', hosts, 'must be a URL or a non-empty array of URLs');
  }
  const urls = list.map((host, i) => v.nonEmptyString(`hosts[${i}]`, host));
  v.knownKeys('etcdOptions', etcdOptions, etcdOptionKeys);
  const settings: IOptions = {
    ...etcdOptions,
    hosts: urls,
    grpcOptions: { ...defaultGrpcOptions, ...etcdOptions?.grpcOptions },
  };
  const create = (): Etcd3 => new Etcd3(settings);
  try {
    create().close();
  } catch (error) {
    const message = (error as Error).message;
    // etcd3 names the hosts when they mix http and https; anything else is in the settings.
    if (/hosts/i.test(message)) throw new DetourConfigError('hosts', hosts, `rejected: ${message}`);
    throw new DetourConfigError('etcdOptions', etcdOptions, `rejected: ${message}`);
  }
  return { owned: true, create };
}

/**
 * Ends a watch (or keepalive) stream of ours. `end()` first: `etcd3` counts a stream error as a
 * failure of the etcd host (its circuit breaker, and a reset of the host's connections) only
 * while the stream is writable, and the CANCELLED that `cancel()` causes is no failure of etcd.
 */
export function endStream(stream: { end(): void; cancel(): void }): void {
  try {
    stream.end();
  } catch {
    // Already ended or failed.
  }
  stream.cancel();
}
