/**
 * SRV records (RFC 2782) as detour endpoints: the SRV priority becomes the endpoint's priority
 * group, the SRV weight its weight.
 *
 * - **Priority.** The distinct SRV priorities of the records that have addresses, in ascending
 *   order, become groups 0, 1, 2… (0 is the primary group; a client "MUST attempt to contact
 *   the target host with the lowest-numbered priority it can reach"). The group is named
 *   `srv-<SRV priority>`. Only the order counts: priorities 10 and 20 give groups 0 and 1.
 * - **Weight.** Within a priority, a record's weight is its SRV weight. Weight 0 is RFC 2782's
 *   "very small chance of being selected" when other records of that priority weigh more:
 *   `srvZeroWeight` (0.01, at most 1 % of the share of a record of weight 1). When every record
 *   of a priority has weight 0, they share equally (weight 1 each).
 * - **Addresses.** A target with several addresses splits its record's weight evenly among
 *   them (the RFC picks a target by weight, then any of its addresses).
 * - **One endpoint per address and port.** Records that lead to the same address and port
 *   merge: the endpoint takes the lowest priority among them, and the weights of the records
 *   at that priority add up (each is a share of traffic that goes there).
 */
import type { EndpointInit } from '@detour/core';
import type { SkippedRecord } from '../source.js';
import { endpointAddress } from './address-records.js';
import type { FoundAddress } from './address-records.js';
import type { DnsToAddress } from './dns-options.js';

/** The weight of an SRV record of weight 0 beside heavier records of its priority. */
export const srvZeroWeight = 0.01;

/** One usable SRV record and the addresses of its target. */
export interface SrvTarget {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  /** The target name, without the trailing dot. */
  readonly target: string;
  /** Not empty. */
  readonly addresses: readonly FoundAddress[];
}

interface Entry {
  readonly host: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly target: string;
  readonly srvPriority: number;
  readonly srvWeight: number;
  weight: number;
}

/** Maps SRV records with addresses to endpoints, as the module comment says. */
export function srvEndpoints(
  targets: readonly SrvTarget[],
  toAddress: DnsToAddress,
): { endpoints: EndpointInit[]; skipped: SkippedRecord[] } {
  const allZero = new Map<number, boolean>();
  for (const t of targets)
    allZero.set(t.priority, (allZero.get(t.priority) ?? true) && t.weight === 0);
  const entries = new Map<string, Entry>();
  for (const t of targets) {
    const share = allZero.get(t.priority) ? 1 : t.weight === 0 ? srvZeroWeight : t.weight;
    const weight = share / t.addresses.length;
    for (const { host, family } of t.addresses) {
      const key = `${host} ${t.port}`;
      const existing = entries.get(key);
      if (existing && existing.srvPriority < t.priority) continue;
      if (existing && existing.srvPriority === t.priority) {
        existing.weight += weight;
        continue;
      }
      entries.set(key, {
        host,
        family,
        port: t.port,
        target: t.target,
        srvPriority: t.priority,
        srvWeight: t.weight,
        weight,
      });
    }
  }
  const priorities = [...new Set([...entries.values()].map((e) => e.srvPriority))].sort(
    (a, b) => a - b,
  );
  const group = new Map(priorities.map((p, i) => [p, Math.min(i, 1000)]));
  const sorted = [...entries.values()].sort(
    (a, b) =>
      a.srvPriority - b.srvPriority ||
      (a.host < b.host ? -1 : a.host > b.host ? 1 : 0) ||
      a.port - b.port,
  );
  const endpoints: EndpointInit[] = [];
  const skipped: SkippedRecord[] = [];
  for (const e of sorted) {
    const made = endpointAddress(toAddress, {
      host: e.host,
      port: e.port,
      family: e.family,
      name: e.target,
    });
    if ('skipped' in made) {
      skipped.push(made.skipped);
      continue;
    }
    endpoints.push({
      address: made.address,
      weight: e.weight,
      priority: group.get(e.srvPriority)!,
      group: `srv-${e.srvPriority}`,
      metadata: {
        target: e.target,
        host: e.host,
        port: e.port,
        family: e.family,
        srvPriority: e.srvPriority,
        srvWeight: e.srvWeight,
      },
    });
  }
  return { endpoints, skipped };
}
