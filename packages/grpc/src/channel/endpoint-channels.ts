/**
 * One real grpc-js channel per endpoint, made when the endpoint first gets an attempt and closed
 * when the endpoint leaves the pool or the failover closes. A channel is keyed by endpoint id;
 * an endpoint whose address changed gets a new channel.
 */
import { Channel } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import type { Endpoint } from '@detour/core';

interface Entry {
  readonly address: string;
  readonly channel: Channel;
}

export class EndpointChannels {
  readonly #credentials: ChannelCredentials;
  readonly #options: ChannelOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(credentials: ChannelCredentials, options: ChannelOptions) {
    this.#credentials = credentials;
    this.#options = options;
  }

  /** The endpoint's channel, made now if it has none. Throws once closed. */
  get(endpoint: Endpoint): Channel {
    if (this.#closed) throw new Error('Channel has been shut down');
    const entry = this.#entries.get(endpoint.id);
    if (entry && entry.address === endpoint.address) return entry.channel;
    entry?.channel.close();
    const channel = new Channel(endpoint.address, this.#credentials, this.#options);
    this.#entries.set(endpoint.id, { address: endpoint.address, channel });
    return channel;
  }

  /** The endpoint's channel if it has one. */
  peek(id: string): Channel | undefined {
    return this.#entries.get(id)?.channel;
  }

  /** Closes the endpoint's channel (calls on it end with UNAVAILABLE). */
  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    entry.channel.close();
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Closes every channel; later `get()` calls throw. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) entry.channel.close();
    this.#entries.clear();
  }
}
