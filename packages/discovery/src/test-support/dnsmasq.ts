/**
 * A real DNS server for tests: dnsmasq (2.90 here; `dnsmasq-base` on CI) as a child process in
 * the foreground, answering on 127.0.0.1 on a free port (UDP and TCP) from records the test
 * gives it, with no upstream server, no `/etc/hosts` and a low TTL:
 *
 * - host records (A, AAAA) in an `--addn-hosts` file, which SIGHUP makes dnsmasq read again;
 * - SRV records (`srv-host=` lines of a generated `--conf-file`), which dnsmasq reads only at
 *   start: `setSrv()` restarts it on the same port;
 * - `--local=/<domain>/`, so that a name of the domain with no record is NXDOMAIN (not REFUSED,
 *   which dnsmasq answers for names it would have to forward).
 *
 * Every change waits until dnsmasq answers with it: each version of the hosts file holds a
 * marker name (`generation-<n>.<domain>`), and the change is done when the marker resolves. As
 * root, dnsmasq is told to stay root (`--user=root`): it would otherwise drop to `nobody`, which
 * cannot read the temporary folder. Not as root, it keeps the test's user.
 *
 * dnsmasq runs watched (`child-process.ts`): no dnsmasq outlives a killed test runner.
 *
 * ```ts
 * const dns = await startDnsmasq({
 *   hosts: [{ name: 'r1.detour.test', address: '127.0.0.1' }],
 *   srv: [{ name: '_grpc._tcp.greeter.detour.test', target: 'r1.detour.test', port: 50051 }],
 * });
 * try {
 *   // dnsSource({ srv: '_grpc._tcp.greeter.detour.test', servers: [dns.server] }) …
 *   await dns.setHosts([{ name: 'r1.detour.test', address: '127.0.0.2' }]);
 *   await dns.stop(); // the server is down…
 *   await dns.start(); // …and back, same port
 * } finally {
 *   await dns.dispose();
 * }
 * ```
 */
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnServer, startOnFreePorts, startWhilePortTaken } from './child-process.js';
import type { ServerProcess } from './child-process.js';

/** An A (IPv4 `address`) or AAAA (IPv6) record. */
export interface DnsmasqHost {
  readonly name: string;
  readonly address: string;
}

/** An SRV record; no `target` makes dnsmasq's "no service" record (target "."). */
export interface DnsmasqSrv {
  readonly name: string;
  readonly target?: string;
  readonly port?: number;
  /** Default 0. */
  readonly priority?: number;
  /** Default 0. */
  readonly weight?: number;
}

export interface DnsmasqOptions {
  readonly hosts?: readonly DnsmasqHost[];
  readonly srv?: readonly DnsmasqSrv[];
  /** TTL of every answer, s (`--local-ttl`). Default 1. */
  readonly ttl?: number;
  /** Names under it without records are NXDOMAIN (`--local`). Default `detour.test`. */
  readonly domain?: string;
}

export interface Dnsmasq {
  /** The UDP and TCP port on 127.0.0.1. */
  readonly port: number;
  /** `127.0.0.1:<port>`: give it to `dnsSource` as `servers: [dns.server]`. */
  readonly server: string;
  readonly domain: string;
  /** Whether dnsmasq is running. */
  readonly running: boolean;
  /** The dnsmasq process's pid while it runs. */
  readonly pid: number | undefined;
  /** Replaces the host records (SIGHUP) and waits until dnsmasq answers with them. */
  setHosts(hosts: readonly DnsmasqHost[]): Promise<void>;
  /** Replaces the SRV records: restarts dnsmasq on the same port and waits until it answers. */
  setSrv(srv: readonly DnsmasqSrv[]): Promise<void>;
  /** Starts dnsmasq again (same port, same records) and waits until it answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s; waits for the process to exit. */
  stop(): Promise<void>;
  /** The last lines dnsmasq logged (stderr), for failure messages. */
  log(): string;
  /** Stops dnsmasq and removes its files. Safe to call more than once. */
  dispose(): Promise<void>;
}

/** Time allowed for dnsmasq to answer after spawn or SIGHUP, ms. */
const readyTimeoutMs = 10_000;
/** Grace after SIGTERM before SIGKILL, ms. */
const stopGraceMs = 3_000;

const binary = existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';

function hostsFile(hosts: readonly DnsmasqHost[], marker: string): string {
  return [...hosts.map((h) => `${h.address} ${h.name}`), `127.0.0.1 ${marker}`, ''].join('\n');
}

function confFile(srv: readonly DnsmasqSrv[]): string {
  const lines = srv.map((r) => {
    if (r.target === undefined) return `srv-host=${r.name}`;
    return `srv-host=${r.name},${r.target},${r.port ?? 0},${r.priority ?? 0},${r.weight ?? 0}`;
  });
  return [...lines, ''].join('\n');
}

class Server implements Dnsmasq {
  readonly server: string;
  readonly #dir: string;
  readonly #ttl: number;
  #hosts: readonly DnsmasqHost[];
  #srv: readonly DnsmasqSrv[];
  #generation = 0;
  #process: ServerProcess | undefined;
  #disposed = false;

  constructor(
    readonly port: number,
    readonly domain: string,
    options: DnsmasqOptions,
  ) {
    this.server = `127.0.0.1:${port}`;
    this.#dir = mkdtempSync(join(tmpdir(), 'detour-dnsmasq-'));
    this.#ttl = options.ttl ?? 1;
    this.#hosts = options.hosts ?? [];
    this.#srv = options.srv ?? [];
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  log(): string {
    return this.#process?.stderr ?? '';
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error('dnsmasq: disposed');
    if (this.running) return;
    await startWhilePortTaken(() => this.#spawn(), 100);
  }

  async stop(): Promise<void> {
    await this.#process?.stop(stopGraceMs);
  }

  async setHosts(hosts: readonly DnsmasqHost[]): Promise<void> {
    this.#hosts = hosts;
    const marker = this.#writeFiles();
    const child = this.#process;
    if (!child?.running) return;
    child.signal('SIGHUP');
    await this.#waitForAnswer(marker, child);
  }

  async setSrv(srv: readonly DnsmasqSrv[]): Promise<void> {
    this.#srv = srv;
    const wasRunning = this.running;
    await this.stop();
    if (wasRunning) await this.start();
    else this.#writeFiles();
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    await this.stop();
    this.#disposed = true;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Writes the hosts and config files; returns the marker name of this version. */
  #writeFiles(): string {
    const marker = `generation-${++this.#generation}.${this.domain}`;
    writeFileSync(join(this.#dir, 'hosts'), hostsFile(this.#hosts, marker));
    writeFileSync(join(this.#dir, 'dnsmasq.conf'), confFile(this.#srv));
    return marker;
  }

  async #spawn(): Promise<void> {
    const marker = this.#writeFiles();
    const args = [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      '--listen-address=127.0.0.1',
      `--port=${this.port}`,
      `--conf-file=${join(this.#dir, 'dnsmasq.conf')}`,
      `--addn-hosts=${join(this.#dir, 'hosts')}`,
      `--local-ttl=${this.#ttl}`,
      `--local=/${this.domain}/`,
      '--log-facility=-',
      // No pid file (the default is /run/dnsmasq.pid).
      '--pid-file=',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ];
    const child = spawnServer(binary, args);
    this.#process = child;
    try {
      await this.#waitForAnswer(marker, child);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Polls until dnsmasq answers `marker`; fails at once if `child` exits. */
  async #waitForAnswer(marker: string, child: ServerProcess): Promise<void> {
    const resolver = new Resolver({ timeout: 250, tries: 1 });
    resolver.setServers([this.server]);
    const answers = async (): Promise<boolean> => {
      try {
        await resolver.resolve4(marker);
        return true;
      } catch {
        return false; // Not up yet, or still reading the old file.
      }
    };
    await child.waitUntil(`dnsmasq answering ${marker}`, answers, readyTimeoutMs, 20);
  }
}

/**
 * Starts dnsmasq on a free port of 127.0.0.1 with the given records and resolves once it
 * answers (about 50 ms). Tries other ports if the port was taken in the meantime. Always
 * `dispose()` it.
 */
export function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  const domain = options.domain ?? 'detour.test';
  return startOnFreePorts(async () => new Server(await freePort({ udp: true }), domain, options));
}
