/**
 * A real single-member etcd server (`/usr/bin/etcd`, 3.4 on CI) as a child process, for tests:
 * free client and peer ports on 127.0.0.1, a temporary data dir, ready once `/health` says so.
 * It can be stopped (SIGTERM, then SIGKILL) or killed and started again on the same ports and
 * data, so the keys survive. `dispose()` stops it and removes the data dir.
 *
 * etcd runs watched (`child-process.ts`): no etcd outlives a killed test runner.
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
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnServer, startOnFreePorts, startWhilePortTaken } from './child-process.js';
import type { ServerProcess } from './child-process.js';

/** Time allowed for etcd to answer `/health` after spawn, ms. */
const readyTimeoutMs = 20_000;
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
  #process: ServerProcess | undefined;
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
    return this.#process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.#disposed) throw new Error('etcd server: disposed');
    if (this.running) return;
    await startWhilePortTaken(() => this.#spawn(), 200);
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
    const child = spawnServer('etcd', args, env);
    this.#process = child;
    try {
      await child.waitUntil('etcd ready', () => healthy(this.url), readyTimeoutMs, 50);
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#process?.stop(stopGraceMs);
  }

  async kill(): Promise<void> {
    await this.#process?.kill();
  }

  freeze(): void {
    this.#process?.signal('SIGSTOP');
  }

  thaw(): void {
    this.#process?.signal('SIGCONT');
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
}

/**
 * Starts etcd on free ports of 127.0.0.1 with a fresh data dir and resolves once it is healthy
 * (about 0.5 s). Retries on other ports if a port was taken in the meantime.
 */
export function startEtcdServer(): Promise<EtcdServer> {
  return startOnFreePorts(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'detour-etcd-'));
    return new Server(await freePort(), await freePort(), dataDir);
  });
}
