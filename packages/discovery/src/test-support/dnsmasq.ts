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
 * A watchdog (`sh` reading a pipe from this process) SIGKILLs dnsmasq when this process dies,
 * however it dies, so no dnsmasq outlives a killed test runner.
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
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
/** How long `start()` retries while the port is still taken, ms. */
const rebindTimeoutMs = 5_000;

const binary = existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';

const live = new Set<ChildProcess>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port free for both TCP and UDP on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const found = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

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
  #child: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';
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
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  log(): string {
    return this.#stderr;
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error('dnsmasq: disposed');
    if (this.#child) return;
    const giveUpAt = Date.now() + rebindTimeoutMs;
    for (;;) {
      try {
        await this.#spawn();
        return;
      } catch (error) {
        const portTaken = /Address already in use/.test(this.#stderr);
        if (!portTaken || Date.now() > giveUpAt) throw error;
        await delay(100);
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async setHosts(hosts: readonly DnsmasqHost[]): Promise<void> {
    this.#hosts = hosts;
    const marker = this.#writeFiles();
    if (!this.#child) return;
    this.#child.kill('SIGHUP');
    await this.#waitForAnswer(marker, this.#child);
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
    installSafetyNet();
    this.#stderr = '';
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    this.#child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8192);
    });
    child.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      // 'close': exited, and its stderr pipe is closed too.
      child.once('close', () => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        // A turn of the event loop more, for Node to release the processes' handles.
        void this.#stopWatchdog().then(() => setTimeout(resolve, 0));
      });
    });
    this.#startWatchdog(child.pid);
    try {
      await this.#waitForAnswer(marker, child);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Polls until dnsmasq answers `marker`; fails at once if `child` exits. */
  async #waitForAnswer(marker: string, child: ChildProcess): Promise<void> {
    const resolver = new Resolver({ timeout: 250, tries: 1 });
    resolver.setServers([this.server]);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (this.#child !== child) {
        throw new Error(`dnsmasq exited (${child.exitCode ?? child.signalCode}):\n${this.#stderr}`);
      }
      try {
        await resolver.resolve4(marker);
        return;
      } catch {
        // Not up yet, or still reading the old file.
      }
      if (Date.now() > deadline) {
        throw new Error(
          `dnsmasq did not answer ${marker} within ${readyTimeoutMs} ms:\n${this.#stderr}`,
        );
      }
      await delay(20);
    }
  }

  /** `sh` that SIGKILLs dnsmasq once its stdin (a pipe from this process) closes. */
  #startWatchdog(pid: number | undefined): void {
    if (pid === undefined) return;
    const watchdog = spawn('sh', ['-c', `cat >/dev/null; kill -KILL ${pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => undefined);
    watchdog.stdin.on('error', () => undefined);
    live.add(watchdog);
    watchdog.once('exit', () => live.delete(watchdog));
    this.#watchdog = watchdog;
  }

  /** Ends the watchdog without letting it signal a pid that may be reused; waits for its exit. */
  #stopWatchdog(): Promise<void> {
    const watchdog = this.#watchdog;
    this.#watchdog = undefined;
    if (!watchdog || watchdog.exitCode !== null || watchdog.signalCode !== null) {
      return Promise.resolve();
    }
    const exited = new Promise<void>((resolve) => watchdog.once('close', () => resolve()));
    watchdog.kill('SIGKILL');
    return exited;
  }
}

/**
 * Starts dnsmasq on a free port of 127.0.0.1 with the given records and resolves once it
 * answers (about 50 ms). Tries other ports if the port was taken in the meantime. Always
 * `dispose()` it.
 */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<Dnsmasq> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = new Server(await freePort(), options.domain ?? 'detour.test', options);
    try {
      await server.start();
      return server;
    } catch (error) {
      lastError = error;
      await server.dispose();
    }
  }
  throw lastError;
}
