/**
 * A/AAAA resolution: one endpoint per address of the hostname, all on the configured port, in
 * one priority group. This is what a Kubernetes headless service gives (one A record per ready
 * pod) and what gRPC's own `dns:` resolver does.
 */
import type { EndpointInit } from '@detour/core';
import type { Resolution, SkippedRecord } from '../source.js';
import { endpointAddress, lookupAddresses, smallestTtlMs } from './address-records.js';
import type { DnsClient } from './dns-client.js';
import type { DnsFamily, DnsToAddress } from './dns-options.js';

/** What `resolveHostname` asks, and how it makes addresses. */
export interface HostnameLookup {
  readonly client: DnsClient;
  readonly hostname: string;
  readonly port: number;
  readonly family: DnsFamily;
  readonly toAddress: DnsToAddress;
}

/**
 * Resolves the hostname. NXDOMAIN and NODATA give no endpoints (the source's `allowEmpty`
 * decides what that means); a failed query rejects.
 */
export async function resolveHostname(
  lookup: HostnameLookup,
  signal: AbortSignal,
): Promise<Resolution> {
  const { client, hostname, port, family, toAddress } = lookup;
  const found = await lookupAddresses(client, hostname, family, signal);
  const skipped: SkippedRecord[] = [...found.skipped];
  const endpoints: EndpointInit[] = [];
  for (const { host, family: addressFamily } of found.addresses) {
    const made = endpointAddress(toAddress, { host, port, family: addressFamily, name: hostname });
    if ('skipped' in made) {
      skipped.push(made.skipped);
      continue;
    }
    endpoints.push({
      address: made.address,
      metadata: { hostname, host, port, family: addressFamily },
    });
  }
  endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { endpoints, skipped, ttlMs: smallestTtlMs(found.ttls) };
}
