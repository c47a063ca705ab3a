/**
 * An endpoint is one replica of a service. Plain, immutable data: the pool keeps the mutable
 * state (health, load, statistics) beside it in an `EndpointRecord`.
 */
import { DetourConfigError } from './errors.js';
import * as v from './validate.js';

export interface EndpointInit {
  /** Stable identity across updates. Defaults to `address`. */
  readonly id?: string;
  /** Where the adapter sends attempts: `host:port` for gRPC, a base URL for HTTP. */
  readonly address: string;
  /** Relative share of traffic for weighted selectors. Default 1; must be > 0. */
  readonly weight?: number;
  /** Concurrent work the endpoint can take, relative to its peers (weighted least-load). Default 1. */
  readonly capacity?: number;
  /** Priority group: 0 is the primary, 1 the first fallback, and so on. Default 0. */
  readonly priority?: number;
  /** Optional group name, for display and metrics. Default: `p<priority>`. */
  readonly group?: string;
  /** Optional zone or locality label. */
  readonly zone?: string;
  /** Free-form data carried to the adapter and to events. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface Endpoint {
  readonly id: string;
  readonly address: string;
  readonly weight: number;
  readonly capacity: number;
  readonly priority: number;
  readonly group: string;
  readonly zone: string | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
}

const endpointKeys = [
  'id',
  'address',
  'weight',
  'capacity',
  'priority',
  'group',
  'zone',
  'metadata',
];
const emptyMetadata: Readonly<Record<string, unknown>> = Object.freeze({});

/** Validates one endpoint description and fills in its defaults. `path` names it in errors. */
export function normalizeEndpoint(init: EndpointInit | string, path: string): Endpoint {
  const value: EndpointInit = typeof init === 'string' ? { address: init } : init;
  v.knownKeys(path, value, endpointKeys);
  const address = v.nonEmptyString(`${path}.address`, value.address);
  const id = value.id === undefined ? address : v.nonEmptyString(`${path}.id`, value.id);
  const priority = v.integer(`${path}.priority`, value.priority, 0, 0, 1000);
  if (
    value.metadata !== undefined &&
    (typeof value.metadata !== 'object' || value.metadata === null)
  ) {
    throw new DetourConfigError(`${path}.metadata`, value.metadata, 'must be an object');
  }
  if (value.zone !== undefined) v.nonEmptyString(`${path}.zone`, value.zone);
  return Object.freeze({
    id,
    address,
    weight: v.positive(`${path}.weight`, value.weight, 1),
    capacity: v.positive(`${path}.capacity`, value.capacity, 1),
    priority,
    group:
      value.group === undefined ? `p${priority}` : v.nonEmptyString(`${path}.group`, value.group),
    zone: value.zone,
    metadata: value.metadata ?? emptyMetadata,
  });
}

/** Normalizes a list and rejects duplicate ids. */
export function normalizeEndpoints(list: unknown, path: string, requireOne: boolean): Endpoint[] {
  if (!Array.isArray(list))
    throw new DetourConfigError(path, list, 'must be an array of endpoints');
  if (requireOne && list.length === 0) {
    throw new DetourConfigError(path, list, 'must name at least one endpoint');
  }
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    const endpoint = normalizeEndpoint(item as EndpointInit, `${path}[${i}]`);
    if (seen.has(endpoint.id)) {
      throw new DetourConfigError(
        `${path}[${i}].id`,
        endpoint.id,
        'duplicates the id of another endpoint',
      );
    }
    seen.add(endpoint.id);
    return endpoint;
  });
}
