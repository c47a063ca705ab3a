/**
 * The key/value layout of gRPC-Go's etcd naming (`go.etcd.io/etcd/client/v3/naming`), read and
 * written here so that Go and Node services share one registry:
 *
 * - key: `<service>/<anything>`, by convention `<service>/<address>`;
 * - value: JSON, `{"Addr":"10.0.0.1:50051","Metadata":<any JSON>}`. gRPC-Go's
 *   `endpoints.Manager` writes its internal `Update`, the same with `"Op":0` in front; the
 *   older `grpc/naming` resolver wrote `naming.Update`, where `"Op":1` meant delete.
 *
 * Field names are matched as Go's `encoding/json` matches them: exactly, else ignoring case.
 *
 * Spec: https://etcd.io/docs/v3.5/dev-guide/grpc_naming/ and
 * https://github.com/etcd-io/etcd/blob/main/client/v3/naming/endpoints/internal/update.go
 */
import type { EndpointInit } from '@detour/core';
import { DetourConfigError, normalizeEndpoint, validate as v } from '@detour/core';

/** What one etcd key says. */
export type EtcdRecord =
  | { readonly kind: 'endpoint'; readonly endpoint: EndpointInit }
  /** An `Update` with `"Op":1` (delete): the key names no endpoint. */
  | { readonly kind: 'deleted' }
  | { readonly kind: 'skipped'; readonly reason: string };

/** The keys of the endpoint metadata a source makes from a record. */
export const etcdMetadataKeys = {
  /** The etcd key the endpoint came from. */
  key: 'etcdKey',
  /** The value's `Metadata`, as stored (any JSON). Absent when the value has none or `null`. */
  metadata: 'etcdMetadata',
} as const;

/** The detour endpoint fields read from an object `Metadata`, when present. */
const detourFields = ['weight', 'priority', 'group', 'zone', 'capacity'] as const;

/** Longest part of a bad value quoted in a skip reason, in characters. */
const quoteLimit = 80;

function quote(value: string): string {
  return JSON.stringify(value.length > quoteLimit ? `${value.slice(0, quoteLimit)}…` : value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field as Go's `encoding/json` finds it: the exact name, else the first case-insensitive match. */
function field(object: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(object, name)) return object[name];
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

/**
 * Reads one key's value. Never throws: a value that is not JSON, has no `Addr`, or carries
 * invalid detour fields in its `Metadata` comes back as `skipped` with the reason.
 */
export function parseEtcdRecord(key: string, value: string): EtcdRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { kind: 'skipped', reason: `the value is not JSON: ${quote(value)}` };
  }
  if (!isObject(parsed)) {
    return { kind: 'skipped', reason: `the value is not a JSON object: ${quote(value)}` };
  }
  const op = field(parsed, 'Op');
  if (op !== undefined && op !== 0 && op !== 1) {
    return {
      kind: 'skipped',
      reason: `"Op" must be 0 (add) or 1 (delete), not ${JSON.stringify(op)}`,
    };
  }
  if (op === 1) return { kind: 'deleted' };
  const addr = field(parsed, 'Addr');
  if (typeof addr !== 'string' || addr.length === 0) {
    return {
      kind: 'skipped',
      reason:
        addr === undefined
          ? 'the value has no "Addr"'
          : `"Addr" must be a non-empty string, not ${JSON.stringify(addr)}`,
    };
  }
  const metadata = field(parsed, 'Metadata');
  const init: Record<string, unknown> = { id: addr, address: addr };
  if (isObject(metadata)) {
    for (const name of detourFields) {
      if (metadata[name] !== undefined) init[name] = metadata[name];
    }
  }
  init.metadata =
    metadata === undefined || metadata === null
      ? { [etcdMetadataKeys.key]: key }
      : { [etcdMetadataKeys.key]: key, [etcdMetadataKeys.metadata]: metadata };
  try {
    // The path names the fields as they appear in the value (`Metadata.weight`).
    normalizeEndpoint(init as unknown as EndpointInit, 'Metadata');
  } catch (error) {
    return { kind: 'skipped', reason: (error as Error).message };
  }
  return { kind: 'endpoint', endpoint: init as unknown as EndpointInit };
}

/**
 * Checks a service name (gRPC-Go's target) and returns its key prefix, `<service>/`. The name may
 * hold slashes (`prod/greeter`) but must not end with one: `greeter/` would watch `greeter//`.
 */
export function servicePrefix(service: unknown): string {
  const name = v.nonEmptyString('service', service);
  if (name.endsWith('/')) {
    throw new DetourConfigError(
      'service',
      service,
      'must not end with "/" (the prefix is "<service>/")',
    );
  }
  return `${name}/`;
}

/** The value `registerEndpoint` writes: what gRPC-Go's `endpoints.Endpoint` marshals to. */
export function formatEtcdValue(address: string, metadata: unknown): string {
  return JSON.stringify({ Addr: address, Metadata: metadata ?? null });
}
