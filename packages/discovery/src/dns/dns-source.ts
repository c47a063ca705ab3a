/**
 * Endpoints from DNS: the A/AAAA records of a hostname, or the SRV records of a service, asked
 * of recursive resolvers again when their TTL runs out. See `dnsSource()`.
 */
import type { Resolution } from '../source.js';
import { PollingSource } from '../source.js';
import { DnsClient } from './dns-client.js';
import { resolveDnsOptions } from './dns-options.js';
import type { DnsFamily, DnsQuery, DnsSourceOptions } from './dns-options.js';
import type { DnsServer } from './dns-servers.js';
import { resolveHostname } from './hostname-resolution.js';
import { resolveSrv } from './srv-resolution.js';

/**
 * A source of endpoints from DNS, made by `dnsSource()`: an `EndpointSource` for a pool's
 * `source` option, with the health, events, `ready()` and `refresh()` of every discovery source.
 */
export class DnsSource extends PollingSource {
  /** What the source asks for: `{ kind: 'hostname', hostname, port }` or `{ kind: 'srv', srv }`. */
  readonly query: DnsQuery;
  /** The address families it asks for. */
  readonly family: DnsFamily;
  /** The resolvers it asks, in order (`label` is `host:port`). */
  readonly servers: readonly DnsServer[];
  readonly #lookup: (signal: AbortSignal) => Promise<Resolution>;
  /** One per poll in flight; aborted when the source stops, and when the poll ends. */
  readonly #polls = new Set<AbortController>();

  /**
   * Checks every option.
   * @throws DetourConfigError naming the first wrong option.
   */
  constructor(options: DnsSourceOptions) {
    const settings = resolveDnsOptions(options);
    super(settings.base, settings.polling);
    this.query = settings.query;
    this.family = settings.family;
    this.servers = settings.servers;
    const client = new DnsClient({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      clock: this.clock,
    });
    const { query, family, toAddress } = settings;
    this.#lookup =
      query.kind === 'srv'
        ? (signal) => resolveSrv({ client, srv: query.srv, family, toAddress }, signal)
        : (signal) =>
            resolveHostname(
              { client, hostname: query.hostname, port: query.port, family, toAddress },
              signal,
            );
  }

  protected override stop(): void {
    super.stop();
    for (const poll of this.#polls) poll.abort(new Error(`${this.name}: the source stopped`));
    this.#polls.clear();
  }

  protected async resolve(): Promise<Resolution> {
    const poll = new AbortController();
    this.#polls.add(poll);
    try {
      return await this.#lookup(poll.signal);
    } finally {
      // Ends queries still running (the AAAA query when the A query failed, say).
      this.#polls.delete(poll);
      poll.abort();
    }
  }
}

/**
 * A source of endpoints from DNS, for a pool's `source` option.
 *
 * - `{ hostname, port }`: one endpoint per A/AAAA address of `hostname` (a Kubernetes headless
 *   service: `greeter.default.svc.cluster.local`), all on `port`.
 * - `{ srv }`: one endpoint per address and port of the SRV records' targets (RFC 2782), the SRV
 *   priority as the priority group and the SRV weight as the weight (see `srvEndpoints`).
 *
 * Asked again when the smallest TTL of the records used runs out, within `minIntervalMs`
 * (default 1 s) and `maxIntervalMs` (default 60 s); every `intervalMs` (default 30 s) when the
 * answer has no TTL. NXDOMAIN and NODATA are empty answers (kept or applied as `allowEmpty`
 * says); SERVFAIL, REFUSED, timeouts and unreadable answers are failures (the last endpoints
 * stay, the source backs off). Unusable records are `skipped` events.
 *
 * ```ts
 * const source = dnsSource({ srv: '_grpc._tcp.greeter.default.svc.cluster.local' });
 * const failover = createGrpcFailover({ source, call: { attemptTimeoutMs: 300 } });
 * ```
 *
 * @throws DetourConfigError when an option is wrong, naming it.
 */
export function dnsSource(options: DnsSourceOptions): DnsSource {
  return new DnsSource(options);
}
