/**
 * The shortcut to an endpoint's connection: its grpc-js subchannel's own channel.
 *
 * A call on an ordinary grpc-js channel passes through four layers before it reaches the
 * connection: the resolving call (service config, deadline timer), the retrying call (grpc-js's
 * own retries and their buffer), the load-balancing call (the pick) and the subchannel call.
 * Each detour attempt already has its endpoint picked, its retries planned and its time limited
 * by detour, so for a unary attempt the first three layers do nothing but cost CPU (see the
 * package README, "Unary attempts go straight on the connection", for what `pnpm bench` measured).
 * grpc-js ≥ 1.14 gives every subchannel a channel of its own for calls straight on its
 * connection (`SubchannelInterface.getChannel()`, made for ORCA and health streams).
 *
 * Each endpoint channel gets the `detour-endpoint` policy: grpc-js's `pick_first`, unchanged,
 * whose subchannels are noted under the channel's key, so that `readyChannel(key)` can give an
 * attempt the channel of the subchannel that is READY now. Anything else (not READY, an older
 * grpc-js, streams, per-call credentials) takes the endpoint channel as before.
 *
 * The policy is registered with grpc-js when the first endpoint channel that uses it is made
 * (`useEndpointPolicy()`), never on import.
 */
import * as grpc from '@grpc/grpc-js';
import type { Channel, ChannelOptions } from '@grpc/grpc-js';

const exp = grpc.experimental;
type SubchannelInterface = grpc.experimental.SubchannelInterface;
type ChannelControlHelper = grpc.experimental.ChannelControlHelper;
type LoadBalancer = grpc.experimental.LoadBalancer;
type TypedLoadBalancingConfig = grpc.experimental.TypedLoadBalancingConfig;

/** The policy's name in the endpoint channels' service config. */
export const endpointPolicyName = 'detour-endpoint';

/** Subchannels made by each endpoint channel's policy, by the channel's key. */
const subchannels = new Map<string, Set<SubchannelInterface>>();

class EndpointPolicyConfig implements TypedLoadBalancingConfig {
  readonly key: string;
  constructor(key: string) {
    this.key = key;
  }
  getLoadBalancerName(): string {
    return endpointPolicyName;
  }
  toJsonObject(): object {
    return { [endpointPolicyName]: { key: this.key } };
  }
  static createFromJson(obj: unknown): EndpointPolicyConfig {
    const key = (obj as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') throw new Error(`${endpointPolicyName}: key must be a string`);
    return new EndpointPolicyConfig(key);
  }
}

/** `pick_first`, whose subchannels are noted under the channel's key. */
class EndpointPolicy implements LoadBalancer {
  readonly #child: grpc.experimental.ChildLoadBalancerHandler;
  #key: string | undefined;
  readonly #made = new Set<SubchannelInterface>();

  constructor(helper: ChannelControlHelper) {
    this.#child = new exp.ChildLoadBalancerHandler(
      exp.createChildChannelControlHelper(helper, {
        createSubchannel: (address, options) => {
          const subchannel = helper.createSubchannel(address, options);
          this.#made.add(subchannel);
          return subchannel;
        },
      }),
    );
  }

  updateAddressList(
    endpointList: Parameters<LoadBalancer['updateAddressList']>[0],
    lbConfig: TypedLoadBalancingConfig,
    options: ChannelOptions,
    resolutionNote: string,
  ): boolean {
    const key = (lbConfig as EndpointPolicyConfig).key;
    // pick_first makes a subchannel for every address of every list it gets (those it keeps
    // included), so the ones noted are those of the latest list.
    this.#made.clear();
    if (this.#key !== key) {
      if (this.#key !== undefined) subchannels.delete(this.#key);
      this.#key = key;
      subchannels.set(key, this.#made);
    }
    return this.#child.updateAddressList(endpointList, pickFirst(), options, resolutionNote);
  }

  exitIdle(): void {
    this.#child.exitIdle();
  }

  resetBackoff(): void {
    this.#child.resetBackoff();
  }

  destroy(): void {
    this.#child.destroy();
    if (this.#key !== undefined && subchannels.get(this.#key) === this.#made) {
      subchannels.delete(this.#key);
    }
    this.#made.clear();
  }

  getTypeName(): string {
    return endpointPolicyName;
  }
}

let pickFirstConfig: TypedLoadBalancingConfig | undefined;

function pickFirst(): TypedLoadBalancingConfig {
  return (pickFirstConfig ??= exp.parseLoadBalancingConfig({ pick_first: {} }));
}

/** Whether this grpc-js gives subchannels a channel of their own (1.14 and later). */
const supported =
  typeof (exp.BaseSubchannelWrapper?.prototype as { getChannel?: unknown } | undefined)
    ?.getChannel === 'function';

let registered = false;
let nextKey = 1;

/**
 * Channel options for an endpoint channel that notes its subchannels under a new key: `options`
 * with a service config choosing the `detour-endpoint` policy (registered now if it is not yet).
 * Undefined, and nothing registered, where the shortcut cannot be taken: an older grpc-js,
 * options that bring a service config of their own (it is theirs to keep), or a default
 * authority (a subchannel's channel always sends the address as `:authority`).
 */
export function useEndpointPolicy(
  options: ChannelOptions,
): { readonly key: string; readonly options: ChannelOptions } | undefined {
  if (
    !supported ||
    options['grpc.service_config'] !== undefined ||
    options['grpc.default_authority'] !== undefined
  ) {
    return undefined;
  }
  if (!registered) {
    exp.registerLoadBalancerType(endpointPolicyName, EndpointPolicy, EndpointPolicyConfig);
    registered = true;
  }
  const key = `e${nextKey++}`;
  const serviceConfig = { loadBalancingConfig: [{ [endpointPolicyName]: { key } }] };
  return { key, options: { ...options, 'grpc.service_config': JSON.stringify(serviceConfig) } };
}

/** The channel of the endpoint channel's subchannel that is READY now, if one is. */
export function readyChannel(key: string): Channel | undefined {
  const made = subchannels.get(key);
  if (made === undefined) return undefined;
  for (const subchannel of made) {
    if (subchannel.getConnectivityState() === grpc.connectivityState.READY) {
      return subchannel.getChannel() as Channel;
    }
  }
  return undefined;
}

/**
 * The `grpc-timeout` request header for `ms` from now, as grpc-js writes it: the smallest unit
 * (ms, s, min, h) that keeps the number under 10^8, rounded up; 0 once the time has passed.
 */
export function grpcTimeout(ms: number): string {
  const left = Math.max(0, ms);
  for (const [unit, factor] of timeoutUnits) {
    const amount = left / factor;
    if (amount < 1e8) return `${Math.ceil(amount)}${unit}`;
  }
  return '99999999H';
}

const timeoutUnits: readonly (readonly [string, number])[] = [
  ['m', 1],
  ['S', 1000],
  ['M', 60_000],
  ['H', 3_600_000],
];

/** @internal Endpoint channels whose subchannels are noted now (tests check that none is left). */
export function notedChannels(): number {
  return subchannels.size;
}
