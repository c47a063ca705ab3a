/**
 * A test server (dnsmasq, etcd) as a child process that cannot outlive the test runner, and what
 * starting one on 127.0.0.1 takes: free ports, and trying again while a port is still taken.
 *
 * Two safety nets: a watchdog (`sh` reading a pipe from this process) SIGKILLs the child when
 * this process dies, however it dies; and at this process's `exit`, every child still running
 * (watchdogs included) gets a SIGKILL.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { delay, waitFor } from './wait-for.js';

/** How much of the child's stderr is kept, characters. */
const stderrTail = 8192;
/** How long `startWhilePortTaken` tries again while a port is still taken, ms. */
const rebindTimeoutMs = 5_000;

/** A server's child process, SIGKILLed if this process dies first. */
export interface ServerProcess {
  /** The pid while it runs. */
  readonly pid: number | undefined;
  /** Whether it runs: false once it exited and its stderr closed. */
  readonly running: boolean;
  /** Its exit code, or the signal that ended it, once it no longer runs. */
  readonly exitStatus: number | string | undefined;
  /** The last 8 KiB it wrote to stderr, for failure messages. */
  readonly stderr: string;
  /** Resolves once it no longer runs and its watchdog has exited. */
  readonly exited: Promise<void>;
  /** Sends `signal` while it runs. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (and SIGCONT, in case it is frozen), SIGKILL after `graceMs`; waits for `exited`. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL; waits for `exited`. */
  kill(): Promise<void>;
  /**
   * Polls `ready` every `intervalMs` until it holds; fails at once if the process exits, and
   * after `timeoutMs`. Either error names `what` and ends with the process's stderr.
   */
  waitUntil(
    what: string,
    ready: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs: number,
  ): Promise<void>;
}

const live = new Set<ChildProcess>();
let safetyNetInstalled = false;

/** SIGKILLs `child` at this process's `exit` if it is still running then. */
function track(child: ChildProcess): void {
  if (!safetyNetInstalled) {
    safetyNetInstalled = true;
    process.on('exit', () => {
      for (const each of live) each.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('close', () => live.delete(child));
}

/** `sh` that SIGKILLs `pid` once its stdin (a pipe from this process) closes. */
function startWatchdog(pid: number | undefined): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  const watchdog = spawn('sh', ['-c', `cat >/dev/null; kill -KILL ${pid} 2>/dev/null`], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.stdin.on('error', () => undefined);
  track(watchdog);
  return watchdog;
}

/** Ends the watchdog without letting it signal a pid that may be reused; waits for its exit. */
function stopWatchdog(watchdog: ChildProcess | undefined): Promise<void> {
  if (!watchdog || watchdog.exitCode !== null || watchdog.signalCode !== null) {
    return Promise.resolve();
  }
  const exited = new Promise<void>((resolve) => watchdog.once('close', () => resolve()));
  watchdog.kill('SIGKILL');
  return exited;
}

class WatchedProcess implements ServerProcess {
  readonly exited: Promise<void>;
  readonly #child: ChildProcess;
  #running = true;
  #exitStatus: number | string | undefined;
  #stderr = '';

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv | undefined) {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.#child = child;
    track(child);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-stderrTail);
    });
    child.on('error', () => undefined);
    const watchdog = startWatchdog(child.pid);
    this.exited = new Promise((resolve) => {
      // 'close': exited, and its stderr pipe is closed too.
      child.once('close', (code, signal) => {
        this.#running = false;
        this.#exitStatus = code ?? signal ?? undefined;
        // A turn of the event loop more, for Node to release the processes' handles.
        void stopWatchdog(watchdog).then(() => setTimeout(resolve, 0));
      });
    });
  }

  get pid(): number | undefined {
    return this.#running ? this.#child.pid : undefined;
  }

  get running(): boolean {
    return this.#running;
  }

  get exitStatus(): number | string | undefined {
    return this.#exitStatus;
  }

  get stderr(): string {
    return this.#stderr;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#running) this.#child.kill(signal);
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.#running) return this.exited;
    this.#child.kill('SIGTERM');
    this.#child.kill('SIGCONT');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<void> {
    this.signal('SIGKILL');
    return this.exited;
  }

  async waitUntil(
    what: string,
    ready: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs: number,
  ): Promise<void> {
    try {
      await waitFor(
        what,
        () => {
          if (!this.#running) throw new Error(`${what}: exited (${this.#exitStatus}) first`);
          return ready();
        },
        timeoutMs,
        intervalMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}:\n${this.#stderr}`);
    }
  }
}

/**
 * Spawns `command` with its stdin and stdout ignored and its stderr kept, watched (see above).
 * `env` defaults to this process's environment.
 */
export function spawnServer(
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): ServerProcess {
  return new WatchedProcess(command, args, env);
}

/** A port that was free on 127.0.0.1 a moment ago, for TCP (and UDP too with `udp`). */
export async function freePort(options: { readonly udp?: boolean } = {}): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const found = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (!options.udp) return port;
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

/**
 * Runs `spawn` again every `retryMs`, for up to 5 s, while it fails with "address already in
 * use" (after a stop, a port may stay taken for a moment by a socket still closing).
 */
export async function startWhilePortTaken(
  spawn: () => Promise<void>,
  retryMs: number,
): Promise<void> {
  const giveUpAt = Date.now() + rebindTimeoutMs;
  for (;;) {
    try {
      await spawn();
      return;
    } catch (error) {
      if (!/address already in use/i.test(String(error)) || Date.now() > giveUpAt) throw error;
      await delay(retryMs);
    }
  }
}

/**
 * Creates a server on free ports and starts it, up to three times: a port found free may be
 * taken before the server binds it. A server that did not start is disposed; the last error is
 * thrown.
 */
export async function startOnFreePorts<
  T extends { start(): Promise<void>; dispose(): Promise<void> },
>(create: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = await create();
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
