/**
 * `nginx`: the replicas behind Debian's nginx as a local reverse proxy, called with a plain
 * `fetch`. The proxy is nginx's open-source passive health checking (`max_fails`/`fail_timeout`)
 * and `proxy_next_upstream` retries, configured as `nginxConfig` explains.
 *
 * nginx runs in the foreground as a child of this process, with its prefix, config, pid file,
 * error log and temp dirs in a fresh temp dir. When does it stop?
 * - `close()`: SIGQUIT (graceful), SIGTERM (fast) after 2 s, SIGKILL to its whole process group
 *   1 s later; resolves once the master has exited, then removes the temp dir.
 * - This process exits (`process.exit`, end of the event loop, uncaught error): an `'exit'` handler
 *   sends SIGTERM (fast shutdown) to the master, which stops its worker and exits on its own.
 * - This process is killed (SIGKILL, or a signal it has no handler for, which skips `'exit'`):
 *   nginx is started through util-linux's `setpriv --pdeathsig SIGTERM` (when installed, as on
 *   Debian), so the kernel sends the master SIGTERM when the thread that spawned it dies.
 *   Without setpriv that case is not covered. The temp dir is only removed by `close()`.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchClient, BenchReplica, CallResult } from '../harness/types.js';
import { failureCode, helloPath, replicaOf } from './http-peers.js';

/** Debian's nginx. */
export const nginxBinary = '/usr/sbin/nginx';

/** Runs nginx with a parent-death signal (util-linux); used when present. */
const setprivBinary = '/usr/bin/setpriv';

/** How long `nginxProxy` waits for nginx to accept connections, in ms. */
const readyTimeoutMs = 5_000;

/** How long `close()` waits after SIGQUIT before SIGTERM, in ms. */
const quitGraceMs = 2_000;

/** How long `close()` waits after SIGTERM before SIGKILL, in ms. */
const terminateGraceMs = 1_000;

/** Attempts at finding a free port that nginx can bind. */
const bindAttempts = 5;

/** Answered by nginx itself, so that waiting for it neither reaches nor counts at the replicas. */
const readyPath = '/nginx-ready';

/** The nginx version, e.g. `1.22.1`. @throws Error when nginx cannot be run. */
export function nginxVersion(): string {
  const run = spawnSync(nginxBinary, ['-v'], { encoding: 'utf8' });
  if (run.error !== undefined) throw run.error;
  // `nginx -v` prints `nginx version: nginx/1.22.1` on stderr.
  const match = /nginx\/(\S+)/.exec(run.stderr);
  if (match?.[1] === undefined) {
    throw new Error(`unexpected output of ${nginxBinary} -v: ${run.stderr}${run.stdout}`);
  }
  return match[1];
}

/** The client `nginxProxy` makes: a `BenchClient`, and where its nginx runs. */
export interface NginxBenchClient extends BenchClient {
  /** The nginx master's pid. */
  readonly pid: number;
  /** `http://127.0.0.1:<port>`, where nginx listens. */
  readonly url: string;
  /** nginx's prefix: config, pid file, error log, temp dirs; removed by `close()`. */
  readonly prefix: string;
}

/**
 * Starts nginx in front of the replicas' HTTP ports and resolves once it accepts connections.
 * Calls are `fetch(<nginx>/hello?name=bench)` with `AbortSignal.timeout(deadlineMs)`.
 *
 * @throws Error when nginx does not start (with its stderr) or does not answer within 5 s.
 */
export async function nginxProxy(replicas: readonly BenchReplica[]): Promise<NginxBenchClient> {
  const prefix = await mkdtemp(join(tmpdir(), 'detour-bench-nginx-'));
  try {
    const nginx = await startNginx(prefix, replicas);
    const send = async (deadlineMs: number): Promise<CallResult> => {
      try {
        const response = await fetch(nginx.url + helloPath, {
          signal: AbortSignal.timeout(deadlineMs),
        });
        if (response.ok) return replicaOf(await response.json());
        await response.body?.cancel();
        return { code: `HTTP ${response.status}` };
      } catch (error) {
        return { code: failureCode(error) };
      }
    };
    let closed: Promise<void> | undefined;
    return {
      name: 'nginx',
      transport: 'http',
      pid: nginx.pid,
      url: nginx.url,
      prefix,
      send,
      close() {
        closed ??= nginx.stop().finally(() => rm(prefix, { recursive: true, force: true }));
        return closed;
      },
    };
  } catch (error) {
    await rm(prefix, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The nginx.conf for `nginxProxy`: nginx listening on `127.0.0.1:port`, proxying to the replicas.
 * Why each setting:
 *
 * - `worker_processes 1`: one worker, one core, like the in-process clients (and nginx's default).
 *   `user root` only when running as root: workers would otherwise switch to `nobody`, which
 *   cannot read a temp dir created with mode 0700. Run as another user, nginx keeps that user.
 * - `worker_shutdown_timeout 1s`: a graceful stop (SIGQUIT, `close()`) closes the connections still
 *   open after 1 s. Without it the worker waits for every client connection that is not idle,
 *   and after a call aborted by its deadline Node's `fetch` opens a spare connection to nginx
 *   that sends nothing until undici drops it, 4 s later (seen with Node 20).
 * - `pid`, `error_log`, `*_temp_path` in the prefix: nothing written outside it. The error log at
 *   `warn` keeps "upstream server temporarily disabled", useful when reading a run.
 * - `access_log off`: the other clients log nothing per call either.
 * - `max_fails=1 fail_timeout=5s`: one failed attempt (what `proxy_next_upstream` counts:
 *   connection errors, timeouts, 502/503/504) takes a replica out for 5 s, after which one
 *   request probes it. 5 s is detour's base ejection time; with 3 replicas, losing one for 5 s
 *   after a false alarm costs little, while a higher `max_fails` would send every call to a
 *   crashed replica first until it has failed that many times (nginx's defaults: 1 and 10 s).
 * - `keepalive 32`, `keepalive_timeout 4s`, `proxy_http_version 1.1`, `Connection ""`: reuse
 *   connections to the replicas, as the in-process clients do. Idle ones are closed after 4 s,
 *   before Node's 5 s `keepAliveTimeout` on the replicas: a connection the replica closes first
 *   would fail the next request on it and count as a failure of that replica.
 * - `proxy_next_upstream error timeout http_502 http_503 http_504`: retry on another replica
 *   after those. Not `non_idempotent`: the calls are GETs, which nginx retries anyway.
 * - `proxy_next_upstream_tries 3`: at most one attempt per replica.
 * - `proxy_connect_timeout 300ms`, `proxy_read_timeout 300ms`, `proxy_send_timeout 300ms`: the
 *   per-attempt timeout, the same 300 ms as detour's `attemptTimeoutMs` and undici's in the
 *   benchmark. A frozen replica still completes TCP handshakes, so `proxy_read_timeout` is what
 *   moves such a call on (it bounds the wait between two reads: for these small replies, the
 *   wait for the answer). nginx's defaults are 60 s. No `proxy_next_upstream_timeout`: the
 *   client's deadline ends the call, and three tries of 300 ms bound nginx's side.
 * - `worker_connections 4096`: room for the benchmark's concurrency (a call uses two).
 * - `location = /nginx-ready`: answered by nginx, for the readiness poll.
 */
export function nginxConfig(
  prefix: string,
  port: number,
  replicas: readonly BenchReplica[],
): string {
  const servers = replicas
    .map((r) => `    server ${new URL(r.httpUrl).host} max_fails=1 fail_timeout=5s;`)
    .join('\n');
  const asRoot = process.getuid?.() === 0;
  return `# Generated by bench/clients/nginx.ts
${asRoot ? 'user root;\n' : ''}worker_processes 1;
worker_shutdown_timeout 1s;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  client_body_temp_path ${join(prefix, 'client_body_temp')};
  proxy_temp_path ${join(prefix, 'proxy_temp')};
  fastcgi_temp_path ${join(prefix, 'fastcgi_temp')};
  uwsgi_temp_path ${join(prefix, 'uwsgi_temp')};
  scgi_temp_path ${join(prefix, 'scgi_temp')};

  upstream replicas {
${servers}
    keepalive 32;
    keepalive_timeout 4s;
  }

  server {
    listen 127.0.0.1:${port};

    location = ${readyPath} {
      return 204;
    }

    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 300ms;
      proxy_send_timeout 300ms;
      proxy_read_timeout 300ms;
    }
  }
}
`;
}

interface RunningNginx {
  readonly pid: number;
  readonly url: string;
  /** See `stop`. */
  stop(): Promise<void>;
}

/** Starts nginx on a free port, trying another port when the one found was taken meanwhile. */
async function startNginx(
  prefix: string,
  replicas: readonly BenchReplica[],
): Promise<RunningNginx> {
  const configPath = join(prefix, 'nginx.conf');
  const errorLog = join(prefix, 'error.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(configPath, nginxConfig(prefix, port, replicas));
    await writeFile(errorLog, ''); // only this attempt's messages
    const child = spawnNginx(prefix, configPath);
    const url = `http://127.0.0.1:${port}`;
    const ready = await waitReady(child, url);
    if (ready.ok) return running(child, url);
    await ready.stopped;
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    const output = `${ready.stderr}${log}`.trim();
    if (!output.includes('Address already in use') || attempt >= bindAttempts) {
      throw new Error(`nginx did not start: ${ready.reason}\n${output}`);
    }
  }
}

function spawnNginx(prefix: string, configPath: string): ChildProcess {
  const nginxArgs = ['-p', prefix, '-c', configPath, '-e', join(prefix, 'error.log')];
  const args = [...nginxArgs, '-g', 'daemon off;'];
  const [command, commandArgs] = existsSync(setprivBinary)
    ? [setprivBinary, ['--pdeathsig', 'SIGTERM', '--', nginxBinary, ...args]]
    : [nginxBinary, args];
  // detached: its own process group, so that the SIGKILL fallback reaches the worker too.
  return spawn(command, commandArgs, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
}

type Readiness =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly stderr: string;
      readonly stopped: Promise<void>;
    };

/** Polls `readyPath` until nginx answers, it exits, or `readyTimeoutMs` passes. */
async function waitReady(child: ChildProcess, url: string): Promise<Readiness> {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 10_000) stderr += chunk;
  });
  const exited = exitOf(child);
  let exitedWith: string | undefined;
  void exited.then((how) => (exitedWith = how));
  const spawnError = new Promise<string>((resolve) =>
    child.once('error', (e) => resolve(e.message)),
  );
  void spawnError.then((message) => (exitedWith ??= message));
  const giveUpAt = performance.now() + readyTimeoutMs;
  while (exitedWith === undefined && performance.now() < giveUpAt) {
    if ((await probe(url + readyPath)) === 204) return { ok: true };
    await sleep(20);
  }
  const reason = exitedWith ?? `no answer on ${url} in ${readyTimeoutMs} ms`;
  return { ok: false, reason, stderr, stopped: stop(child) };
}

/**
 * The status of `GET url`, on a connection of its own that is closed after: the readiness poll
 * leaves nothing in the global `fetch`'s pool. Undefined on an error or no answer within 500 ms.
 */
function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false, timeout: 500 }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/** `exited with code 1` / `killed by SIGTERM` once the child has exited. */
function exitOf(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null) return Promise.resolve(`exited with code ${child.exitCode}`);
  if (child.signalCode !== null) return Promise.resolve(`killed by ${child.signalCode}`);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) =>
      resolve(signal === null ? `exited with code ${code}` : `killed by ${signal}`),
    ),
  );
}

function running(child: ChildProcess, url: string): RunningNginx {
  const pid = child.pid!;
  // Fast shutdown if this process exits with nginx still running; the master then ends its worker.
  const onExit = (): void => signal(pid, 'SIGTERM');
  process.on('exit', onExit);
  let stopped: Promise<void> | undefined;
  return {
    pid,
    url,
    stop() {
      stopped ??= stop(child).finally(() => process.off('exit', onExit));
      return stopped;
    },
  };
}

/**
 * SIGQUIT (graceful: requests in progress finish, within `worker_shutdown_timeout`), SIGTERM (fast
 * shutdown: the master ends its worker, SIGKILLs it if need be, reaps it and exits) after
 * `quitGraceMs`, SIGKILL to the whole process group `terminateGraceMs` later; resolves once the
 * master has exited. SIGTERM before SIGKILL: a worker whose master is SIGKILLed is reparented,
 * and where pid 1 does not reap orphans (some containers and VMs) it stays a zombie.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const pid = child.pid;
  const exited = exitOf(child);
  signal(pid, 'SIGQUIT');
  const terminate = setTimeout(() => signal(pid, 'SIGTERM'), quitGraceMs);
  const kill = setTimeout(() => signal(-pid, 'SIGKILL'), quitGraceMs + terminateGraceMs);
  await exited;
  clearTimeout(terminate);
  clearTimeout(kill);
  // A master that exits waits for its worker first; a master that crashed may leave one running.
  signal(-pid, 'SIGKILL');
}

/** `process.kill`, ignoring a process (group) that is already gone. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH: already gone.
  }
}

/** A port free on 127.0.0.1 right now (nginx may still lose it to another process). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no TCP address'));
      });
    });
  });
}
