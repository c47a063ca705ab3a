/**
 * One greeter replica (`replica.ts`) as a child process: spawned with stdin as a pipe so it dies
 * with us, started when it prints its ready line, and SIGKILLed on our exit if still alive.
 * `local-cluster.ts` starts several; the tests' harness (`test/support/cluster.ts`) builds on that.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { guardFrozen } from './freeze-guard.js';
import type { FreezeGuard } from './freeze-guard.js';

/** TLS files for a replica; gRPC and HTTP then use TLS, admin stays plain HTTP. */
export interface ReplicaTls {
  readonly certPath: string;
  readonly keyPath: string;
  /** CA for client certificates; needed with `requireClientCert`. */
  readonly caPath?: string;
  /** Mutual TLS: clients must present a certificate signed by `caPath`. Default false. */
  readonly requireClientCert?: boolean;
}

/** How to start one replica. Ports default to 0 (any free port). */
export interface SpawnReplicaOptions {
  readonly name: string;
  readonly grpcPort?: number;
  readonly httpPort?: number;
  readonly adminPort?: number;
  readonly tls?: ReplicaTls;
  /** Register in etcd (the replica's `--etcd`, `--etcd-service`, `--etcd-ttl`). */
  readonly registry?: ReplicaRegistryOptions;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Time allowed from spawn to the ready line, in ms. Default 15 000 (first runs compile). */
  readonly readyTimeoutMs?: number;
}

/** Where a replica registers itself: etcd client URLs, the service (default `greeter`), the TTL. */
export interface ReplicaRegistryOptions {
  readonly etcd: readonly string[];
  readonly service?: string;
  /** The lease's TTL, s. Default 5. */
  readonly ttlSeconds?: number;
}

/** The line a replica prints when it is listening. */
export interface ReplicaReady {
  readonly ready: true;
  readonly name: string;
  readonly pid: number;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly adminPort: number;
  /** The key it registered in etcd (with `registry`). */
  readonly etcdKey?: string;
}

/** How a replica process ended. */
export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Exit code of a replica whose port was taken (see replica.ts). */
export const addressInUseExitCode = 98;

/** A replica that ended or failed before printing its ready line. */
export class ReplicaStartError extends Error {
  override readonly name = 'ReplicaStartError';

  constructor(
    message: string,
    /** The exit code, if it exited; `addressInUseExitCode` when a port was taken. */
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** Children still running, killed by the exit safety net. */
const live = new Set<ChildProcessWithoutNullStreams>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A started replica process. */
export class ReplicaProcess {
  #exit: ReplicaExit | undefined;
  #stderr: () => string;
  #guard: FreezeGuard | undefined;

  /** @internal Use `spawnReplica`. */
  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    /** What the replica printed when ready: its name, pid and ports. */
    readonly ready: ReplicaReady,
    /** Settles when the process has exited. */
    readonly exited: Promise<ReplicaExit>,
    stderr: () => string,
  ) {
    this.#stderr = stderr;
    void exited.then((exit) => {
      this.#exit = exit;
      this.#unguard();
    });
  }

  get pid(): number {
    return this.ready.pid;
  }

  /** Whether the process has not exited yet (a stopped process is alive). */
  get alive(): boolean {
    return (
      this.#exit === undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** The end of what the replica wrote to stderr (last 8 KiB), for diagnostics. */
  stderr(): string {
    return this.#stderr();
  }

  /** Sends `signal`; false if the process is gone. */
  signal(signal: NodeJS.Signals): boolean {
    return this.alive && this.child.kill(signal);
  }

  /** Whether the process is stopped by `freeze()`. */
  get frozen(): boolean {
    return this.#guard !== undefined;
  }

  /**
   * SIGSTOP: the process keeps its sockets but runs no code. A guard process (freeze-guard.ts)
   * resumes it if we die meanwhile, so that it can exit. False if the process is gone.
   */
  freeze(): boolean {
    if (!this.signal('SIGSTOP')) return false;
    this.#guard ??= guardFrozen(this.pid);
    return true;
  }

  /** SIGCONT after `freeze()`. False if the process is gone. */
  thaw(): boolean {
    const resumed = this.signal('SIGCONT');
    this.#unguard();
    return resumed;
  }

  #unguard(): void {
    this.#guard?.release();
    this.#guard = undefined;
  }

  /** SIGKILL, then waits for the exit. */
  async kill(): Promise<ReplicaExit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /**
   * SIGTERM (and SIGCONT, in case it is frozen), then SIGKILL if it has not exited after
   * `graceMs`; waits for the exit.
   */
  async stop(graceMs: number): Promise<ReplicaExit> {
    if (!this.alive) return this.exited;
    this.signal('SIGTERM');
    this.signal('SIGCONT');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Spawns `replica.ts` with `node --import tsx` and resolves once it prints its ready line.
 * A replica takes about 0.5–1 s to be ready (loading tsx, grpc-js and the proto).
 *
 * @throws ReplicaStartError when the replica exits or does not become ready in time (it is
 *   killed then).
 */
export async function spawnReplica(options: SpawnReplicaOptions): Promise<ReplicaProcess> {
  const args = ['--import', tsxLoaderUrl(), replicaScriptPath(), '--name', options.name];
  args.push('--grpc-port', String(options.grpcPort ?? 0));
  args.push('--http-port', String(options.httpPort ?? 0));
  args.push('--admin-port', String(options.adminPort ?? 0));
  if (options.tls !== undefined) {
    args.push('--tls-cert', options.tls.certPath, '--tls-key', options.tls.keyPath);
    if (options.tls.caPath !== undefined) args.push('--tls-ca', options.tls.caPath);
    if (options.tls.requireClientCert === true) args.push('--tls-require-client-cert');
  }
  if (options.registry) {
    args.push('--etcd', options.registry.etcd.join(','));
    if (options.registry.service !== undefined)
      args.push('--etcd-service', options.registry.service);
    if (options.registry.ttlSeconds !== undefined) {
      args.push('--etcd-ttl', String(options.registry.ttlSeconds));
    }
  }

  installSafetyNet();
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  live.add(child);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  // Our end of the stdin pipe may fail once the child is gone, and a signal to a process that
  // just exited may fail: both are expected.
  child.stdin.on('error', () => undefined);
  child.on('error', () => undefined);

  const exited = new Promise<ReplicaExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const ready = await new Promise<ReplicaReady>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const settle = (): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const fail = (message: string, exitCode: number | null): void => {
      settle();
      child.kill('SIGKILL');
      reject(new ReplicaStartError(`replica ${options.name}: ${message}\n${stderr}`, exitCode));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited (${code ?? signal}) before ready`, code);
    const onError = (error: Error): void => fail(`could not spawn: ${error.message}`, null);
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`, null), timeoutMs);
    child.on('exit', onExit);
    child.on('error', onError);
    lines.once('line', (line) => {
      try {
        const parsed = JSON.parse(line) as Partial<ReplicaReady>;
        if (parsed.ready !== true) throw new Error('not a ready line');
        settle();
        resolve(parsed as ReplicaReady);
      } catch {
        fail(`printed '${line}' instead of its ready line`, null);
      }
    });
  });
  return new ReplicaProcess(child, ready, exited, () => stderr);
}

function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

function replicaScriptPath(): string {
  return fileURLToPath(new URL('./replica.ts', import.meta.url));
}
