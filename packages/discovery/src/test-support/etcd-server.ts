/**
 * A real single-member etcd server (`/usr/bin/etcd`, 3.4 on CI) as a child process, for tests:
 * free client and peer ports on 127.0.0.1, a temporary data dir, ready once `/health` says so.
 * It can be stopped (SIGTERM, then SIGKILL) or killed and started again on the same ports and
 * data, so the keys survive. `dispose()` stops it and removes the data dir.
 *
 * A watchdog (`sh` reading a pipe from this process) SIGKILLs etcd when this process dies,
 * however it dies, so no etcd outlives a killed test runner.
 *
 * ```ts
 * const etcd = await startEtcdServer();
 * try {
 *   await etcd.ctl('put', 'greeter/127.0.0.1:1234', '{"Addr":"127.0.0.1:1234"}');
 *   await etcd.stop();
 *   await etcd.start();
 * } finally {
 *   await etcd.dispose();
 * }
 * ```
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Time allowed for etcd to answer `/health` after spawn, ms. */
const readyTimeoutMs = 20_000;
/** How long `start()` retries while a port is still taken, ms. */
const rebindTimeoutMs = 5_000;
/** Grace after SIGTERM before SIGKILL, ms. */
const stopGraceMs = 5_000;

export interface EtcdServer {
  /** `http://127.0.0.1:<client port>`: give it to `Etcd3` as `hosts`. */
  readonly url: string;
  /** `127.0.0.1:<client port>`. */
  readonly address: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Whether the etcd process is running. */
  readonly running: boolean;
  /** Starts etcd again (same ports, same data) and waits until it is ready. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL; waits for the exit. */
  kill(): Promise<void>;
  /** `stop()`, then `start()`: same ports, same data. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers (a black-holed etcd). */
  freeze(): void;
  /** SIGCONT: answers again. */
  thaw(): void;
  /** Runs `etcdctl --endpoints <url> …args` and resolves with its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Stops etcd and removes the data dir. Safe to call more than once. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await response.json()) as { health?: unknown };
    return body.health === 'true';
  } catch {
    return false;
  }
}

class Server implements EtcdServer {
  readonly url: string;
  readonly address: string;
  #child: ChildProcess | undefined;
  #watchdog: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';
  #disposed = false;

  constructor(
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
  ) {
    this.address = `127.0.0.1:${clientPort}`;
    this.url = `http://${this.address}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error('etcd server: disposed');
    if (this.#child) return;
    // After a stop, a port may be taken for a moment (by a socket still closing): try again.
    const rebindDeadline = Date.now() + rebindTimeoutMs;
    for (;;) {
      try {
        await this.#spawn();
        return;
      } catch (error) {
        if (!/address already in use/.test(String(error)) || Date.now() > rebindDeadline)
          throw error;
        await delay(200);
      }
    }
  }

  async #spawn(): Promise<void> {
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name',
      'detour-test',
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      this.url,
      '--advertise-client-urls',
      this.url,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `detour-test=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      // A restarted single member waits one election timeout before it leads: 300 ms, not 1 s.
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '300',
      '--logger',
      'zap',
      '--log-level',
      'error',
    ];
    // Only what etcd needs from the environment: an ETCD_* variable would override a flag.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() };
    installSafetyNet();
    this.#stderr = '';
    const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    live.add(child);
    this.#child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8192);
    });
    child.on('error', () => undefined);
    let exitCode: number | string | undefined;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? signal ?? undefined;
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        this.#stopWatchdog();
        resolve();
      });
    });
    this.#startWatchdog(child.pid);

    const deadline = Date.now() + readyTimeoutMs;
    while (!(await healthy(this.url))) {
      if (exitCode !== undefined || this.#child !== child) {
        throw new Error(`etcd exited (${exitCode}) before it was ready:\n${this.#stderr}`);
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`etcd not ready after ${readyTimeoutMs} ms:\n${this.#stderr}`);
      }
      await delay(50);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // in case it is frozen
    const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  ctl(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        'etcdctl',
        ['--endpoints', this.url, '--dial-timeout', '2s', '--command-timeout', '5s', ...args],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' } },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`etcdctl ${args.join(' ')}: ${error.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    await this.stop();
    this.#disposed = true;
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** `sh` that SIGKILLs etcd once its stdin (a pipe from this process) closes. */
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

  /** Ends the watchdog without letting it signal a pid that may be reused. */
  #stopWatchdog(): void {
    this.#watchdog?.kill('SIGKILL');
    this.#watchdog = undefined;
  }
}

/**
 * Starts etcd on free ports of 127.0.0.1 with a fresh data dir and resolves once it is healthy
 * (about 0.5 s). Retries on other ports if a port was taken in the meantime.
 */
export async function startEtcdServer(): Promise<EtcdServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'detour-etcd-'));
    const server = new Server(await freePort(), await freePort(), dataDir);
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

/**
 * Polls `condition` every 25 ms until it holds, for at most `timeoutMs` (real time), and returns
 * how long that took; the error says what was awaited. Tests against etcd wait for what they
 * expect rather than for a fixed time.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(25);
  }
  return Date.now() - started;
}

/** How many resources of each kind keep the event loop alive (`process.getActiveResourcesInfo()`). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * Waits until no kind of resource that keeps the event loop alive is more numerous than in
 * `baseline`: what a test opened is closed (grpc-js closes a channel that was still connecting up
 * to 1 s later).
 */
export async function waitForNoLeaks(
  baseline: Map<string, number>,
  timeoutMs = 5_000,
): Promise<void> {
  const excess = (): string[] =>
    [...activeResources()]
      .filter(([kind, n]) => n > (baseline.get(kind) ?? 0))
      .map(([kind, n]) => `${kind} ${n} (was ${baseline.get(kind) ?? 0})`);
  try {
    await waitFor('resources back to the baseline', () => excess().length === 0, timeoutMs);
  } catch {
    throw new Error(`left open: ${excess().join(', ')}`);
  }
}
