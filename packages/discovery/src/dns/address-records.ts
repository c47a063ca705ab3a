/**
 * A and AAAA records of one name: read from a response (following its CNAME chain) or asked
 * for, with the TTLs that bound how long they hold and the records that could not be used.
 */
import type { SkippedRecord } from '../source.js';
import type { DnsClient } from './dns-client.js';
import { canonicalName, describeRecord, rcodes } from './dns-message.js';
import type { DnsRecord, DnsResponse, MalformedRecord } from './dns-message.js';
import type { DnsAddressTarget, DnsFamily, DnsToAddress } from './dns-options.js';

/** An address of a name. */
export interface FoundAddress {
  readonly host: string;
  readonly family: 4 | 6;
}

/** The addresses of a name, and what bounds them. */
export interface AddressLookup {
  readonly addresses: readonly FoundAddress[];
  /** TTLs of the records used (address records and CNAMEs), and negative TTLs, s. */
  readonly ttls: readonly number[];
  readonly skipped: readonly SkippedRecord[];
  /** Why there is no address, when there is none: `NXDOMAIN`, or `no A record`. */
  readonly none: string | undefined;
}

/** The record types of a family. */
export function addressTypes(family: DnsFamily): readonly ('A' | 'AAAA')[] {
  return family === 4 ? ['A'] : family === 6 ? ['AAAA'] : ['A', 'AAAA'];
}

/** `A`, `AAAA` or `A or AAAA`, for messages. */
export function familyRecords(family: DnsFamily): string {
  return addressTypes(family).join(' or ');
}

/** Longest CNAME chain followed within one response (resolvers stop at 8 to 16). */
const maxChain = 8;

/**
 * The names that stand for `name` in `records`: itself and the CNAME chain from it (RFC 1034
 * §3.6.2), with the CNAME records that make the chain.
 */
export function aliasChain(
  records: readonly DnsRecord[],
  name: string,
): { names: Set<string>; cnames: DnsRecord[] } {
  const names = new Set([canonicalName(name)]);
  const cnames: DnsRecord[] = [];
  let current = canonicalName(name);
  for (let i = 0; i < maxChain; i++) {
    const alias = records.find(
      (r) => r.type === 'CNAME' && r.class === 'IN' && canonicalName(r.name) === current,
    );
    if (!alias) break;
    cnames.push(alias);
    current = canonicalName(alias.data as string);
    if (names.has(current)) break;
    names.add(current);
  }
  return { names, cnames };
}

/** The address records of `name` (through CNAMEs) among `records`, of the given types. */
export function addressesIn(
  records: readonly DnsRecord[],
  name: string,
  types: readonly ('A' | 'AAAA')[],
): { addresses: FoundAddress[]; used: DnsRecord[] } {
  const { names, cnames } = aliasChain(records, name);
  const used: DnsRecord[] = [];
  const addresses: FoundAddress[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    if (record.class !== 'IN' || !names.has(canonicalName(record.name))) continue;
    if (record.type !== 'A' && record.type !== 'AAAA') continue;
    if (!types.includes(record.type)) continue;
    used.push(record);
    const host = record.data;
    if (seen.has(host)) continue;
    seen.add(host);
    addresses.push({ host, family: record.type === 'A' ? 4 : 6 });
  }
  return { addresses, used: addresses.length > 0 ? [...cnames, ...used] : [] };
}

/** Records of `names` left out as malformed, as `skipped` entries. */
export function malformedOf(
  malformed: readonly MalformedRecord[],
  names: ReadonlySet<string>,
): SkippedRecord[] {
  return malformed
    .filter((m) => names.has(canonicalName(m.name)))
    .map((m) => ({ record: describeRecord(m), reason: m.reason }));
}

/**
 * How long an empty answer holds (RFC 2308 §5): the smaller of the SOA record's TTL and its
 * MINIMUM field, when the authority section has a SOA record. Seconds.
 */
export function negativeTtl(response: DnsResponse): number | undefined {
  const soa = response.authorities.find((r) => r.type === 'SOA');
  if (soa?.type !== 'SOA') return undefined;
  return Math.min(soa.ttl, soa.data.minimum ?? soa.ttl);
}

/** Asks for the A and/or AAAA records of `name` (both at once for `'any'`). */
export async function lookupAddresses(
  client: DnsClient,
  name: string,
  family: DnsFamily,
  signal: AbortSignal,
): Promise<AddressLookup> {
  const types = addressTypes(family);
  const answers = await Promise.all(types.map((type) => client.query(name, type, signal)));
  const addresses: FoundAddress[] = [];
  const ttls: number[] = [];
  const skipped: SkippedRecord[] = [];
  let nxdomain = false;
  answers.forEach(({ response }, i) => {
    const found = addressesIn(response.answers, name, [types[i]!]);
    addresses.push(...found.addresses);
    ttls.push(...found.used.map((r) => r.ttl));
    skipped.push(...malformedOf(response.malformed, aliasChain(response.answers, name).names));
    if (found.addresses.length === 0) {
      const negative = negativeTtl(response);
      if (negative !== undefined) ttls.push(negative);
      if (response.rcode === rcodes.NXDOMAIN) nxdomain = true;
    }
  });
  const none =
    addresses.length > 0
      ? undefined
      : nxdomain
        ? 'does not exist (NXDOMAIN)'
        : `has no ${familyRecords(family)} record`;
  return { addresses, ttls, skipped, none };
}

/**
 * The endpoint address `toAddress` makes for a target, or why there is none: it threw, or gave
 * something other than a non-empty string.
 */
export function endpointAddress(
  toAddress: DnsToAddress,
  target: DnsAddressTarget,
): { address: string } | { skipped: SkippedRecord } {
  const record = `${target.name} ${target.family === 4 ? 'A' : 'AAAA'} ${target.host}, port ${target.port}`;
  let address: unknown;
  try {
    address = toAddress(target);
  } catch (error) {
    return { skipped: { record, reason: `toAddress threw: ${(error as Error).message}` } };
  }
  if (typeof address !== 'string' || address.length === 0) {
    return {
      skipped: { record, reason: `toAddress returned ${JSON.stringify(address)}, not an address` },
    };
  }
  return { address };
}

/** The smallest TTL, in ms, or undefined when there is none. */
export function smallestTtlMs(ttls: readonly number[]): number | undefined {
  return ttls.length === 0 ? undefined : Math.min(...ttls) * 1000;
}
