/**
 * `pnpm demo --registry etcd`: the replicas register themselves in etcd (each under a lease, in
 * gRPC-Go's naming layout, see `examples/greeter-cluster/replica.ts`) and detour's clients watch
 * etcd for them, through `etcdSource` of `@detour/discovery`. A killed replica's key goes when its
 * lease expires (3 s here), a restarted one registers again. Without `--etcd` the demo starts an
 * etcd server of its own (Debian's `etcd-server` package) and removes it at the end.
 */
import type { EndpointInit } from '@detour/core';
import { etcdMetadataKeys, etcdSource } from '@detour/discovery';
import type { EtcdSource } from '@detour/discovery';
import type { ReplicaRegistryOptions } from '../greeter-cluster/replica-process.js';
import { startEtcdServer } from '../../packages/discovery/src/test-support/etcd-server.js';
import type { EtcdServer } from '../../packages/discovery/src/test-support/etcd-server.js';
import type { DemoSources } from './clients.js';

/** A killed replica's key lasts this long, s. */
const leaseTtlSeconds = 3;

/** What a replica puts in its key's `Metadata` (replica.ts). */
interface ReplicaMetadata {
  readonly replica: string;
  readonly http: string;
}

function replicaMetadata(endpoint: EndpointInit): ReplicaMetadata {
  const meta = endpoint.metadata?.[etcdMetadataKeys.metadata] as
    Partial<ReplicaMetadata> | undefined;
  if (typeof meta?.replica !== 'string' || typeof meta.http !== 'string') {
    throw new Error('Metadata has no replica name and HTTP URL: not a demo replica');
  }
  return meta as ReplicaMetadata;
}

/** The demo's registry: where replicas register, and the sources detour's clients watch. */
export class DemoRegistry {
  readonly hosts: readonly string[];
  /** Replicas register under `<service>/`; one per demo process, so runs sharing an etcd do not mix. */
  readonly service = `demo-greeter-${process.pid}`;
  readonly sources: DemoSources & { readonly grpc: EtcdSource; readonly http: EtcdSource };
  readonly #server: EtcdServer | undefined;

  private constructor(hosts: readonly string[], server: EtcdServer | undefined) {
    this.hosts = hosts;
    this.#server = server;
    // Endpoint ids are the replica names, as with the fixed list, so the live view and the
    // report can tell the replicas apart; the HTTP source takes the URL from the metadata.
    this.sources = {
      grpc: etcdSource({
        hosts: [...hosts],
        service: this.service,
        metrics: false,
        map: (e) => ({ ...e, id: replicaMetadata(e).replica }),
      }),
      http: etcdSource({
        hosts: [...hosts],
        service: this.service,
        metrics: false,
        map: (e) => {
          const meta = replicaMetadata(e);
          return { ...e, id: meta.replica, address: meta.http };
        },
      }),
    };
  }

  /** Uses the etcd at `hosts`, or starts one when `hosts` is undefined. */
  static async open(hosts: readonly string[] | undefined): Promise<DemoRegistry> {
    if (hosts !== undefined) return new DemoRegistry(hosts, undefined);
    let server: EtcdServer;
    try {
      server = await startEtcdServer();
    } catch (error) {
      throw new Error(
        `--registry etcd: could not start etcd (${(error as Error).message}); install Debian's etcd-server or give --etcd <url>`,
      );
    }
    return new DemoRegistry([server.url], server);
  }

  /** What the replicas are started with. */
  get replicaOptions(): ReplicaRegistryOptions {
    return { etcd: this.hosts, service: this.service, ttlSeconds: leaseTtlSeconds };
  }

  /** A line for the console. */
  describe(): string {
    const where = this.#server
      ? `its own etcd at ${this.hosts[0]}`
      : `etcd at ${this.hosts.join(', ')}`;
    return `Registry: ${where}; replicas register under ${this.service}/ with a ${leaseTtlSeconds} s lease`;
  }

  /** Waits until both sources list `names` (every replica registered and seen). */
  async waitFor(names: readonly string[], timeoutMs = 15_000): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    const stops = [this.sources.grpc, this.sources.http].map((s) =>
      s.subscribe({ next: () => {} }),
    );
    try {
      for (;;) {
        const seen = [this.sources.grpc, this.sources.http].map((s) =>
          s.endpoints().map((e) => e.id ?? e.address),
        );
        if (seen.every((ids) => names.every((n) => ids.includes(n)))) return;
        if (Date.now() > giveUpAt) {
          throw new Error(
            `etcd: replicas not all registered within ${timeoutMs} ms (seen ${JSON.stringify(seen)})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      for (const stop of stops) stop();
    }
  }

  async close(): Promise<void> {
    this.sources.grpc.close();
    this.sources.http.close();
    await this.#server?.dispose();
  }
}
