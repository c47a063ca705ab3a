/**
 * A grpc-js load-balancing policy named `detour`, for applications that configure plain grpc-js
 * channels through service config:
 *
 *   { "loadBalancingConfig": [{ "detour": { "selector": "p2c-peak-ewma" } }] }
 *
 * Every endpoint the resolver reports gets a subchannel and a place in a detour pool. Picks go
 * through the pool's selector (P2C peak-EWMA by default: latency-aware, without ORCA), each
 * call's status and latency feed the pool's detectors (consecutive failures, outliers), and a
 * subchannel that cannot connect is held out until it is READY again. Ejection works for two or
 * three backends, unlike outlier_detection's defaults.
 *
 * Nothing is registered on import: call `registerDetourBalancer()` once. Relies on grpc-js's
 * `experimental` load-balancer API (registerLoadBalancerType, ChannelControlHelper, Picker,
 * PickResultType, SubchannelInterface).
 */
import * as grpc from '@grpc/grpc-js';
import type {
  Detector,
  DetectorHost,
  EndpointRecord,
  Outcome,
  Pool,
  SelectorName,
} from '@detour/core';
import {
  DetourConfigError,
  consecutiveFailures,
  createPool,
  isSelectorName,
  latencyOutlier,
  outlierDetection,
  validate as v,
} from '@detour/core';

const exp = grpc.experimental;
type SubchannelInterface = grpc.experimental.SubchannelInterface;
type ChannelControlHelper = grpc.experimental.ChannelControlHelper;
type Picker = grpc.experimental.Picker;
type PickResult = grpc.experimental.PickResult;
type Endpoint = grpc.experimental.Endpoint;

/** The policy's name in service config. */
export const detourPolicyName = 'detour';

/** The `detour` policy's configuration (its JSON object in service config). */
export interface DetourBalancerConfig {
  /** Selector name. Default `p2c-peak-ewma`. */
  readonly selector?: SelectorName;
  /** Consecutive failures that eject an endpoint. Default 5. */
  readonly consecutiveFailures?: number;
  /** First ejection time, ms. Default 5000. */
  readonly baseEjectionMs?: number;
  /** Largest share of endpoints ejected at once, percent. Default 50. */
  readonly maxEjectedPercent?: number;
}

const configKeys = ['selector', 'consecutiveFailures', 'baseEjectionMs', 'maxEjectedPercent'];

class DetourLbConfig implements grpc.experimental.TypedLoadBalancingConfig {
  readonly config: DetourBalancerConfig;
  constructor(config: DetourBalancerConfig) {
    this.config = config;
  }
  getLoadBalancerName(): string {
    return detourPolicyName;
  }
  toJsonObject(): object {
    return { [detourPolicyName]: this.config };
  }
  static createFromJson(obj: unknown): DetourLbConfig {
    const raw = (obj ?? {}) as Record<string, unknown>;
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new DetourConfigError('loadBalancingConfig.detour', obj, 'must be an object');
    }
    for (const key of Object.keys(raw)) {
      if (!configKeys.includes(key))
        throw new DetourConfigError(
          `loadBalancingConfig.detour.${key}`,
          raw[key],
          'is not a known option',
        );
    }
    if (raw.selector !== undefined && !isSelectorName(raw.selector)) {
      throw new DetourConfigError(
        'loadBalancingConfig.detour.selector',
        raw.selector,
        'is not a selector name',
      );
    }
    const path = 'loadBalancingConfig.detour';
    v.integer(`${path}.consecutiveFailures`, raw.consecutiveFailures, 5, 1, 1000);
    v.positive(`${path}.baseEjectionMs`, raw.baseEjectionMs, 5000);
    v.percent(`${path}.maxEjectedPercent`, raw.maxEjectedPercent, 50);
    return new DetourLbConfig(raw);
  }
}

/** Holds an endpoint out while its subchannel cannot connect. */
class Connectivity implements Detector {
  readonly name = 'connectivity';
  host: DetectorHost | undefined;
  attach(host: DetectorHost) {
    this.host = host;
    return {
      close: () => {
        this.host = undefined;
      },
    };
  }
}

/** What a finished call means for its endpoint; undefined when the caller caused it. */
function outcomeOf(code: grpc.status, details: string, latencyMs: number): Outcome | undefined {
  switch (code) {
    case grpc.status.OK:
      return { kind: 'success', latencyMs };
    case grpc.status.DEADLINE_EXCEEDED:
      return { kind: 'timeout', latencyMs, code: 'DEADLINE_EXCEEDED', message: details };
    case grpc.status.RESOURCE_EXHAUSTED:
      return { kind: 'rejected', latencyMs, code: 'RESOURCE_EXHAUSTED', message: details };
    case grpc.status.UNAVAILABLE:
    case grpc.status.INTERNAL:
    case grpc.status.UNKNOWN:
    case grpc.status.DATA_LOSS:
    case grpc.status.UNIMPLEMENTED:
      return { kind: 'error', latencyMs, code: grpc.status[code], message: details };
    default:
      return undefined; // CANCELLED, INVALID_ARGUMENT, NOT_FOUND…: not the endpoint's fault
  }
}

class DetourLoadBalancer implements grpc.experimental.LoadBalancer {
  readonly #helper: ChannelControlHelper;
  readonly #subchannels = new Map<string, SubchannelInterface>();
  readonly #connectivity = new Connectivity();
  #pool: Pool | undefined;
  #config: DetourBalancerConfig | undefined;
  readonly #notReady = {
    has: (r: EndpointRecord) =>
      this.#subchannels.get(r.id)?.getConnectivityState() !== grpc.connectivityState.READY,
  };

  constructor(helper: ChannelControlHelper) {
    this.#helper = helper;
  }

  updateAddressList(
    endpointList: unknown,
    lbConfig: grpc.experimental.TypedLoadBalancingConfig,
    channelOptions: unknown,
  ): boolean {
    // grpc-js ≥ 1.12 passes a StatusOr; older versions a plain array.
    let endpoints: Endpoint[];
    if (Array.isArray(endpointList)) endpoints = endpointList as Endpoint[];
    else {
      const status = endpointList as { ok: boolean; value?: Endpoint[] };
      if (!status.ok) {
        if (this.#subchannels.size === 0) {
          this.#helper.updateState(
            grpc.connectivityState.TRANSIENT_FAILURE,
            new exp.UnavailablePicker(),
            'resolution failed',
          );
        }
        return true;
      }
      endpoints = status.value ?? [];
    }
    const config = (lbConfig as DetourLbConfig).config ?? {};
    if (!this.#pool || JSON.stringify(config) !== JSON.stringify(this.#config))
      this.#makePool(config);
    const addresses: string[] = [];
    for (const endpoint of endpoints) {
      const address = endpoint.addresses[0];
      if (!address || !('host' in address)) continue;
      const id = address.host.includes(':')
        ? `[${address.host}]:${address.port}`
        : `${address.host}:${address.port}`;
      addresses.push(id);
      if (!this.#subchannels.has(id)) {
        const subchannel = this.#helper.createSubchannel(address, channelOptions ?? {});
        subchannel.ref();
        subchannel.addConnectivityStateListener(() => this.#onConnectivity(id));
        this.#subchannels.set(id, subchannel);
        subchannel.startConnecting();
      }
    }
    for (const [id, subchannel] of [...this.#subchannels]) {
      if (!addresses.includes(id)) {
        subchannel.unref();
        this.#subchannels.delete(id);
      }
    }
    this.#pool!.update({ type: 'full', endpoints: addresses });
    this.#publish();
    return true;
  }

  exitIdle(): void {
    for (const subchannel of this.#subchannels.values()) subchannel.startConnecting();
  }

  resetBackoff(): void {}

  destroy(): void {
    for (const subchannel of this.#subchannels.values()) subchannel.unref();
    this.#subchannels.clear();
    this.#pool?.close();
    this.#pool = undefined;
  }

  getTypeName(): string {
    return detourPolicyName;
  }

  #makePool(config: DetourBalancerConfig): void {
    this.#pool?.close();
    this.#config = config;
    this.#pool = createPool({
      endpoints: [],
      source: { subscribe: () => () => {} },
      selector: config.selector ?? 'p2c-peak-ewma',
      detectors: [
        consecutiveFailures({ threshold: config.consecutiveFailures ?? 5 }),
        outlierDetection(),
        latencyOutlier(),
        this.#connectivity,
      ],
      health: {
        baseEjectionMs: config.baseEjectionMs,
        maxEjectedPercent: config.maxEjectedPercent,
      },
      metrics: false,
    });
  }

  #onConnectivity(id: string): void {
    const subchannel = this.#subchannels.get(id);
    const record = this.#pool?.get(id);
    const host = this.#connectivity.host;
    if (subchannel && record && host) {
      const state = subchannel.getConnectivityState();
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
        host.hold(record, {
          kind: 'error',
          code: 'TRANSIENT_FAILURE',
          message: 'subchannel cannot connect',
        });
        subchannel.startConnecting();
      } else if (state === grpc.connectivityState.READY) host.release(record);
      else if (state === grpc.connectivityState.IDLE) subchannel.startConnecting();
    }
    this.#publish();
  }

  /** Tells the channel the aggregate state, with a picker that reads the pool live. */
  #publish(): void {
    const states = [...this.#subchannels.values()].map((s) => s.getConnectivityState());
    const state = states.includes(grpc.connectivityState.READY)
      ? grpc.connectivityState.READY
      : states.includes(grpc.connectivityState.CONNECTING) ||
          states.includes(grpc.connectivityState.IDLE)
        ? grpc.connectivityState.CONNECTING
        : grpc.connectivityState.TRANSIENT_FAILURE;
    const picker: Picker =
      state === grpc.connectivityState.READY
        ? { pick: () => this.#pick() }
        : state === grpc.connectivityState.CONNECTING
          ? new exp.QueuePicker(this)
          : new exp.UnavailablePicker({ details: 'detour: no backend can be reached' });
    this.#helper.updateState(state, picker, null);
  }

  #pick(): PickResult {
    const pool = this.#pool;
    const record = pool && !pool.closed ? pool.pick({ exclude: this.#notReady }) : undefined;
    const subchannel = record && this.#subchannels.get(record.id);
    if (
      !pool ||
      !record ||
      !subchannel ||
      subchannel.getConnectivityState() !== grpc.connectivityState.READY
    ) {
      return {
        pickResultType: exp.PickResultType.QUEUE,
        subchannel: null,
        status: null,
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    let started = 0;
    return {
      pickResultType: exp.PickResultType.COMPLETE,
      subchannel,
      status: null,
      onCallStarted: () => {
        started = pool.clock.now();
        pool.startAttempt(record);
      },
      onCallEnded: (code, details) => {
        if (started === 0 || pool.closed) return;
        pool.endAttempt(record, outcomeOf(code, details, pool.clock.now() - started));
      },
    };
  }
}

let registered = false;

/**
 * Registers the `detour` load-balancing policy with grpc-js (once per process; later calls do
 * nothing). Then select it in service config: `{ "loadBalancingConfig": [{ "detour": {} }] }`.
 */
export function registerDetourBalancer(): void {
  if (registered) return;
  exp.registerLoadBalancerType(detourPolicyName, DetourLoadBalancer, DetourLbConfig);
  registered = true;
}
