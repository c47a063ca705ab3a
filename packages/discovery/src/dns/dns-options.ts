/**
 * The options of `dnsSource()`, their defaults, and their checks at construction time: every
 * option, including the base classes' (`SourceOptions`, `PollingOptions`), is checked before
 * the source exists, and a wrong one throws a `DetourConfigError` naming it.
 */
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import { DetourConfigError, validate as v } from '@detour/core';
import {
  pollingOptionKeys,
  resolvePollingOptions,
  resolveSourceOptions,
  sourceOptionKeys,
} from '../source.js';
import type {
  PollingOptions,
  ResolvedPolling,
  ResolvedSourceOptions,
  SourceOptions,
} from '../source.js';
import { hostPort, parseServer } from './dns-servers.js';
import type { DnsServer } from './dns-servers.js';

/** Which address records to ask for: 4 (A), 6 (AAAA) or `'any'` (both). */
export type DnsFamily = 4 | 6 | 'any';

/** One address found in DNS, as `toAddress` receives it. */
export interface DnsAddressTarget {
  /** The IP address, without brackets (`10.0.0.7`, `fd00::7`). */
  readonly host: string;
  /** The port: the `port` option, or the SRV record's. */
  readonly port: number;
  /** 4 for an A record, 6 for AAAA. */
  readonly family: 4 | 6;
  /** The name the address record belongs to: the hostname, or the SRV record's target. */
  readonly name: string;
}

/**
 * Makes an endpoint's `address` from a DNS address. Default `host:port`, IPv6 in brackets
 * (`10.0.0.7:50051`, `[fd00::7]:50051`), which a gRPC channel takes. For `createFetch`, a base
 * URL: `({ host, port, family }) => family === 6 ? \`http://[${host}]:${port}\` : \`http://${host}:${port}\``.
 */
export type DnsToAddress = (target: DnsAddressTarget) => string;

/** What every DNS source takes, besides what it asks for. */
export interface DnsSourceCommonOptions extends SourceOptions, PollingOptions {
  /**
   * Which address records to ask for: 4 (A), 6 (AAAA) or `'any'` (both, at once). For SRV, the
   * families of the targets' addresses. Default `'any'`.
   */
  readonly family?: DnsFamily;
  /**
   * Recursive resolvers to ask, in order, the next only when the one before fails: IP addresses
   * with an optional port (`'10.0.0.2'`, `'127.0.0.1:5353'`, `'::1'`, `'[::1]:53'`). Default:
   * the system's, `dns.getServers()` of `node:dns` (from `/etc/resolv.conf`), read when the
   * source is made.
   */
  readonly servers?: readonly string[];
  /**
   * The wait for one server's answer, ms: for the UDP query, and again for the TCP query after
   * a truncated UDP answer. A server that does not answer in time counts as failed and the next
   * is asked. Default 2000 (the `timeout:2` of resolv.conf and c-ares's first try).
   */
  readonly timeoutMs?: number;
  /** Makes each endpoint's `address`. Default `host:port`, IPv6 in brackets. See `DnsToAddress`. */
  readonly toAddress?: DnsToAddress;
}

/** A/AAAA records: one endpoint per address of `hostname`, all on `port`. */
export interface DnsHostnameOptions extends DnsSourceCommonOptions {
  /**
   * The name to resolve, used as given (no search domains): `greeter.default.svc.cluster.local`.
   * A trailing dot is allowed.
   */
  readonly hostname: string;
  /** The port of every endpoint, from 1 to 65535. */
  readonly port: number;
  readonly srv?: undefined;
}

/** SRV records (RFC 2782): one endpoint per address and port of their targets. */
export interface DnsSrvOptions extends DnsSourceCommonOptions {
  /**
   * The SRV name, used as given: `_grpc._tcp.greeter.default.svc.cluster.local`,
   * `greeter.service.consul`. SRV records carry the ports, so there is no `port` option.
   */
  readonly srv: string;
  readonly hostname?: undefined;
  readonly port?: undefined;
}

/** Options of `dnsSource()`: exactly one of `hostname` (with `port`) and `srv`. */
export type DnsSourceOptions = DnsHostnameOptions | DnsSrvOptions;

/**
 * Defaults, ms. Polls follow the records' TTL, bounded: at most every second (a TTL of 0, as
 * Consul gives by default, would otherwise mean a query per pick) and at least every minute;
 * every 30 s when the answer carries no TTL (NXDOMAIN without SOA).
 */
export const dnsSourceDefaults = {
  intervalMs: 30_000,
  minIntervalMs: 1_000,
  maxIntervalMs: 60_000,
  timeoutMs: 2_000,
} as const;

const dnsOptionKeys = [
  ...sourceOptionKeys,
  ...pollingOptionKeys,
  'hostname',
  'port',
  'srv',
  'family',
  'servers',
  'timeoutMs',
  'toAddress',
];

/** What the source asks for. */
export type DnsQuery =
  | { readonly kind: 'hostname'; readonly hostname: string; readonly port: number }
  | { readonly kind: 'srv'; readonly srv: string };

/** Checked options, for `DnsSource`'s constructor. */
export interface DnsSettings {
  readonly base: ResolvedSourceOptions;
  readonly polling: ResolvedPolling;
  readonly query: DnsQuery;
  readonly family: DnsFamily;
  readonly servers: readonly DnsServer[];
  readonly timeoutMs: number;
  readonly toAddress: DnsToAddress;
}

/** The default `toAddress`: `host:port`, IPv6 in brackets. */
export const hostPortAddress: DnsToAddress = ({ host, port }) => hostPort(host, port);

const label = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Whether `name` is a domain name a source can ask for or connect to: labels of letters, digits,
 * `-` and `_` (SRV owner names have `_` labels, RFC 2782), 1 to 63 characters each, 253 in all,
 * an optional trailing dot.
 */
export function isDomainName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.length > 0 && bare.length <= 253 && bare.split('.').every((l) => label.test(l));
}

function domainName(option: string, value: unknown): string {
  const name = v.nonEmptyString(option, value);
  if (isIP(name) !== 0) {
    throw new DetourConfigError(
      option,
      value,
      'is an IP address, not a name: pass it to the pool as an endpoint instead',
    );
  }
  if (!isDomainName(name)) {
    throw new DetourConfigError(
      option,
      value,
      'must be a domain name (labels of letters, digits, "-" and "_", up to 63 characters each)',
    );
  }
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function family(value: unknown): DnsFamily {
  if (value === undefined) return 'any';
  if (value === 4 || value === 6 || value === 'any') return value;
  throw new DetourConfigError('family', value, "must be 4, 6 or 'any'");
}

function servers(value: unknown): DnsServer[] {
  if (value === undefined) {
    const system = getServers();
    if (system.length === 0) {
      throw new DetourConfigError(
        'servers',
        value,
        'is required: the system has no DNS server (dns.getServers() is empty)',
      );
    }
    return system.map((s, i) => parseServer(`dns.getServers()[${i}]`, s));
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new DetourConfigError('servers', value, 'must be a non-empty array of server addresses');
  }
  return value.map((s: unknown, i) => parseServer(`servers[${i}]`, s));
}

function query(options: DnsSourceOptions): DnsQuery {
  const { hostname, srv, port } = options as { hostname?: unknown; srv?: unknown; port?: unknown };
  if (hostname !== undefined && srv !== undefined) {
    throw new DetourConfigError('srv', srv, 'cannot be given with hostname: choose one');
  }
  if (srv !== undefined) {
    if (port !== undefined) {
      throw new DetourConfigError('port', port, 'is for hostname only: SRV records carry ports');
    }
    return { kind: 'srv', srv: domainName('srv', srv) };
  }
  if (hostname === undefined) {
    throw new DetourConfigError('hostname', hostname, 'or srv is required');
  }
  const name = domainName('hostname', hostname);
  if (port === undefined) {
    throw new DetourConfigError('port', port, 'is required with hostname (1 to 65535)');
  }
  return { kind: 'hostname', hostname: name, port: v.integer('port', port, 0, 1, 65_535) };
}

/** Checks every option; throws `DetourConfigError` naming the first wrong one. */
export function resolveDnsOptions(options: DnsSourceOptions): DnsSettings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new DetourConfigError('options', options, 'must be an object');
  }
  v.knownKeys('', options, dnsOptionKeys);
  const asked = query(options);
  const toAddress =
    options.toAddress === undefined
      ? hostPortAddress
      : v.func<DnsToAddress>('toAddress', options.toAddress);
  const settings: Omit<DnsSettings, 'base' | 'polling'> = {
    query: asked,
    family: family(options.family),
    servers: servers(options.servers),
    timeoutMs: v.positive('timeoutMs', options.timeoutMs, dnsSourceDefaults.timeoutMs),
    toAddress,
  };
  const defaultName =
    asked.kind === 'srv' ? `dns:${asked.srv}` : `dns:${asked.hostname}:${asked.port}`;
  return {
    ...settings,
    base: resolveSourceOptions(options, defaultName),
    polling: resolvePollingOptions(options, dnsSourceDefaults),
  };
}
