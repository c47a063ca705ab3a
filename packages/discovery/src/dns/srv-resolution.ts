/**
 * SRV resolution (RFC 2782): the SRV records of a name, their targets' addresses from the
 * additional section when the server put them there (CoreDNS, Consul and dnsmasq do), else
 * asked for through the same servers, mapped to endpoints by `srvEndpoints`.
 *
 * - A lone target of "." means the service is decidedly not available: no endpoints.
 * - Records that cannot be used are skipped, each with its reason: port 0, a target that is not
 *   a host name, a target with no address, data that does not fit the record type, and "."
 *   among other records.
 * - A target whose address query fails (SERVFAIL, timeout) fails the whole resolution, so the
 *   source keeps its last good list rather than losing that target's endpoints to a passing
 *   fault.
 */
import type { Resolution, SkippedRecord } from '../source.js';
import {
  addressTypes,
  addressesIn,
  aliasChain,
  familyRecords,
  lookupAddresses,
  malformedOf,
  negativeTtl,
  smallestTtlMs,
} from './address-records.js';
import type { AddressLookup } from './address-records.js';
import type { DnsClient } from './dns-client.js';
import { canonicalName, describeRecord } from './dns-message.js';
import type { DnsRecord } from './dns-message.js';
import { isDomainName } from './dns-options.js';
import type { DnsFamily, DnsToAddress } from './dns-options.js';
import { srvEndpoints } from './srv-endpoints.js';
import type { SrvTarget } from './srv-endpoints.js';

/** What `resolveSrv` asks, and how it makes addresses. */
export interface SrvLookup {
  readonly client: DnsClient;
  readonly srv: string;
  readonly family: DnsFamily;
  readonly toAddress: DnsToAddress;
}

/** Targets whose addresses are asked for at once, at most. */
const parallelTargets = 8;

type SrvRecord = Extract<DnsRecord, { type: 'SRV' }>;

/** Resolves the SRV name into endpoints (see the module comment). */
export async function resolveSrv(lookup: SrvLookup, signal: AbortSignal): Promise<Resolution> {
  const { client, srv, family, toAddress } = lookup;
  const { response } = await client.query(srv, 'SRV', signal);
  const chain = aliasChain(response.answers, srv);
  const skipped: SkippedRecord[] = malformedOf(response.malformed, chain.names);
  const ttls: number[] = chain.cnames.map((r) => r.ttl);
  const records = response.answers.filter(
    (r): r is SrvRecord =>
      r.type === 'SRV' && r.class === 'IN' && chain.names.has(canonicalName(r.name)),
  );
  if (records.length === 0) {
    const negative = negativeTtl(response);
    return {
      endpoints: [],
      skipped,
      ttlMs: smallestTtlMs(negative === undefined ? ttls : [negative]),
    };
  }
  ttls.push(...records.map((r) => r.ttl));
  if (records.every((r) => r.data.target === '.')) {
    // RFC 2782: "A Target of '.' means that the service is decidedly not available".
    return { endpoints: [], skipped, ttlMs: smallestTtlMs(ttls) };
  }

  const usable: SrvRecord[] = [];
  for (const record of records) {
    const reason =
      record.data.target === '.'
        ? 'target "." (service not available) among records with targets'
        : record.data.port === 0
          ? 'port 0'
          : !isDomainName(record.data.target)
            ? `target ${JSON.stringify(record.data.target)} is not a host name`
            : undefined;
    if (reason === undefined) usable.push(record);
    else skipped.push({ record: describeRecord(record), reason });
  }

  // Addresses: from the additional section when it has any for the target, else asked for.
  const types = addressTypes(family);
  const byTarget = new Map<string, AddressLookup>();
  const toAsk: string[] = [];
  for (const record of usable) {
    const target = canonicalName(record.data.target);
    if (byTarget.has(target) || toAsk.includes(target)) continue;
    const given = addressesIn(response.additionals, target, types);
    if (given.addresses.length > 0) {
      byTarget.set(target, {
        addresses: given.addresses,
        ttls: given.used.map((r) => r.ttl),
        skipped: [],
        none: undefined,
      });
    } else {
      toAsk.push(target);
    }
  }
  const targetNames = new Set([...byTarget.keys(), ...toAsk]);
  skipped.push(...malformedOf(response.malformed, targetNames));
  const asked = await inParallel(toAsk, parallelTargets, (target) =>
    lookupAddresses(client, target, family, signal),
  );
  toAsk.forEach((target, i) => byTarget.set(target, asked[i]!));

  const targets: SrvTarget[] = [];
  for (const found of byTarget.values()) {
    ttls.push(...found.ttls);
    skipped.push(...found.skipped);
  }
  for (const record of usable) {
    const found = byTarget.get(canonicalName(record.data.target))!;
    if (found.addresses.length === 0) {
      skipped.push({
        record: describeRecord(record),
        reason: `its target ${canonicalName(record.data.target)} ${found.none ?? `has no ${familyRecords(family)} record`}`,
      });
      continue;
    }
    targets.push({
      priority: record.data.priority ?? 0,
      weight: record.data.weight ?? 0,
      port: record.data.port,
      target: canonicalName(record.data.target),
      addresses: found.addresses,
    });
  }
  const mapped = srvEndpoints(targets, toAddress);
  return {
    endpoints: mapped.endpoints,
    skipped: [...skipped, ...mapped.skipped],
    ttlMs: smallestTtlMs(ttls),
  };
}

/** `work` on each item, at most `limit` at a time; results in the items' order. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
