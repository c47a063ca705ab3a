/**
 * The resolver servers a DNS source asks: `'127.0.0.1'`, `'127.0.0.1:5353'`, `'::1'`,
 * `'[::1]:53'`, the forms `dns.getServers()` returns. Hosts must be IP addresses: the servers are
 * how names are resolved, so they cannot be names themselves.
 */
import { isIP } from 'node:net';
import { DetourConfigError } from '@detour/core';

/** One resolver server, parsed. */
export interface DnsServer {
  /** The IP address, without brackets. */
  readonly host: string;
  /** The UDP and TCP port. Default 53. */
  readonly port: number;
  readonly family: 4 | 6;
  /** `host:port`, IPv6 in brackets: how errors name the server. */
  readonly label: string;
}

/** The DNS port (RFC 1035 §4.2). */
export const dnsPort = 53;

/** `host:port`, with an IPv6 host in brackets (RFC 3986 §3.2.2). */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parses one server; `option` names it in the error (`servers[1]`).
 * @throws DetourConfigError when it is not an IP address with an optional port.
 */
export function parseServer(option: string, value: unknown): DnsServer {
  if (typeof value !== 'string' || value.length === 0) {
    throw new DetourConfigError(option, value, 'must be a non-empty string');
  }
  let host = value;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (value.split(':').length === 2) {
    // One colon: IPv4 (or a name) with a port. More than one: a bare IPv6 address.
    [host, portText] = value.split(':') as [string, string];
  }
  const family = isIP(host);
  if (family === 0 || (bracketed && family !== 6)) {
    throw new DetourConfigError(
      option,
      value,
      "must be an IP address with an optional port ('10.0.0.2', '127.0.0.1:5353', '::1', '[::1]:53')",
    );
  }
  let port = dnsPort;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65_535)) {
      throw new DetourConfigError(option, value, 'has a port that is not from 1 to 65535');
    }
  }
  return { host, port, family: family as 4 | 6, label: hostPort(host, port) };
}
