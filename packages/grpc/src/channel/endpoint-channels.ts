/**
 * One real grpc-js channel per endpoint, made when the endpoint first gets an attempt and closed
 * when the endpoint leaves the pool or the failover closes. A channel is keyed by endpoint id;
 * an endpoint whose address changed gets a new channel. Where grpc-js allows it, each channel
 * also offers the shortcut to its connection (`direct()`, `endpoint-subchannel.ts`).
 */
import { Channel } from '@grpc/grpc-js';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import type { Endpoint } from '@detour/core';
import { readyChannel, useEndpointPolicy } from './endpoint-subchannel.js';

interface Entry {
  readonly address: string;
  readonly channel: Channel;
  /** The channel's key with the `detour-endpoint` policy; undefined without the shortcut. */
  readonly key: string | undefined;
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
    const tapped = useEndpointPolicy(this.#options);
    const channel = new Channel(
      endpoint.address,
      this.#credentials,
      tapped ? tapped.options : this.#options,
    );
    this.#entries.set(endpoint.id, { address: endpoint.address, channel, key: tapped?.key });
    return channel;
  }

  /**
   * The channel straight on the connection of the endpoint's channel (`get()` first), when it is
   * READY and grpc-js offers one; undefined otherwise. Its calls skip grpc-js's name resolution,
   * retries and pick, and set no deadline timer and send no `grpc-timeout` of their own.
   */
  direct(endpoint: Endpoint): Channel | undefined {
    const key = this.#entries.get(endpoint.id)?.key;
    return key === undefined ? undefined : readyChannel(key);
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
