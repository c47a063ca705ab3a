/**
 * One client's measurement in a process of its own. The harness process keeps the cluster,
 * plays the faults and counts the replicas' requests; a fresh child process makes the client,
 * warms it up, runs the load and reports every call and its own CPU time. No client runs in a
 * process that an earlier client left garbage, sockets, timers or JIT state in, and the CPU
 * time per call is the client's and the load generator's alone.
 *
 * The protocol, over the IPC channel (structured clone, `serialization: 'advanced'`):
 * parent `job` → child `ready` (client made and warmed up) → parent `go` → child `started`
 * (the load's start, as `performance.timeOrigin + t0`, so the parent times the faults from the
 * same instant) → child `done` (the calls and the CPU time); `go` to `done` again for each of the
 * job's `slices`, after which the child closes the client and exits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchClients } from './clients.js';
import { closedLoop, openLoop } from './load.js';
import type { CallRecord } from './load.js';
import type { BenchClient, BenchClientName, BenchReplica, Transport } from './types.js';

/** What the child is to measure. */
export interface ClientJob {
  readonly client: BenchClientName;
  readonly replicas: readonly BenchReplica[];
  readonly loop: 'open' | 'closed';
  /** Open loop: calls per second. */
  readonly rate: number;
  /** Closed loop: calls in flight. */
  readonly concurrency: number;
  /** Length of each load, ms. */
  readonly durationMs: number;
  /** Loads the child runs, each on its own `go` (the clients take turns: `ScenarioPlan.slices`). */
  readonly slices: number;
  readonly deadlineMs: number;
  /**
   * How long the child calls in a closed loop of 20 before the load starts, ms: connections up
   * and the code compiled by the JIT, which a fresh process has not done yet. Not measured.
   */
  readonly warmUpMs: number;
}

type ToChild = { readonly type: 'job'; readonly job: ClientJob } | { readonly type: 'go' };

type FromChild =
  | { readonly type: 'loaded' }
  | { readonly type: 'ready'; readonly transport: Transport }
  | { readonly type: 'started'; readonly t0Epoch: number }
  | { readonly type: 'done'; readonly calls: CallRecord[]; readonly cpuUs: number }
  | { readonly type: 'failed'; readonly message: string };

/** A client ready in its child process. */
export interface ClientProcess {
  readonly transport: Transport;
  /**
   * Starts a load (once per slice of the job). Resolves `now()`, ms since the load's start as
   * the child timed it, once the child has started, and `done`, which resolves the calls and the
   * child's CPU time (µs) once the last call has ended.
   */
  go(): Promise<{
    now: () => number;
    done: Promise<{ calls: CallRecord[]; cpuUs: number }>;
  }>;
  /** Waits for the child to close its client and exit (kills it after `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A client process started ahead of its job: it loads its modules (tsx, grpc-js, the clients)
 * while the harness finishes the previous run, then waits for `startClientProcess()`.
 */
export interface SpawnedClientProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly messages: MessageQueue;
  /** Kills it, if it is not used. */
  dispose(): Promise<void>;
}

/** Spawns a client process, which loads its modules and then waits for its job. */
export function spawnClientProcess(): SpawnedClientProcess {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  // BENCH_CLIENT_NODE_ARGS: extra node options for the client processes only, such as
  // `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the clients and not the replicas.
  const extra = process.env['BENCH_CLIENT_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  const args = [...extra, '--import', tsx, fileURLToPath(import.meta.url)];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, TSX_TSCONFIG_PATH: join(benchDir, 'tsconfig.json') },
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child,
    exited,
    messages: new MessageQueue(child),
    dispose: () => stop(child, exited, 0),
  };
}

/**
 * Gives `job` to a client process (`spawned`, or a new one) and resolves once its client is
 * made and warmed up.
 */
export async function startClientProcess(
  job: ClientJob,
  spawned: SpawnedClientProcess = spawnClientProcess(),
): Promise<ClientProcess> {
  const { child, exited, messages } = spawned;
  try {
    // The child asks for its job once it listens: a message sent before would be lost.
    await messages.next('loaded', job.client);
    send(child, { type: 'job', job });
    const ready = await messages.next('ready', job.client);
    return {
      transport: ready.transport,
      go: async () => {
        send(child, { type: 'go' });
        const { t0Epoch } = await messages.next('started', job.client);
        const now = (): number => performance.timeOrigin + performance.now() - t0Epoch;
        const done = messages
          .next('done', job.client)
          .then(({ calls, cpuUs }) => ({ calls, cpuUs }));
        return { now, done };
      },
      close: (timeoutMs = 10_000) => stop(child, exited, timeoutMs),
    };
  } catch (error) {
    await stop(child, exited, 0);
    throw error;
  }
}

function send(child: ChildProcess, message: ToChild): void {
  child.send(message);
}

async function stop(child: ChildProcess, exited: Promise<void>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((done) => {
    timer = setTimeout(() => done('late'), timeoutMs);
  });
  if ((await Promise.race([exited, late])) === 'late') {
    if (timeoutMs > 0) {
      console.error(`a client process did not exit within ${timeoutMs} ms of its run: killed`);
    }
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** The child's messages in order; a failure or an early exit rejects the one awaited. */
class MessageQueue {
  readonly #queue: FromChild[] = [];
  #waiter: ((message: FromChild) => void) | undefined;

  constructor(child: ChildProcess) {
    child.on('message', (message: FromChild) => this.#push(message));
    child.once('exit', (code, signal) =>
      this.#push({
        type: 'failed',
        message: `exited (${code ?? signal}) before its run was over`,
      }),
    );
  }

  #push(message: FromChild): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter(message);
    } else this.#queue.push(message);
  }

  async next<T extends FromChild['type']>(
    type: T,
    client: string,
  ): Promise<Extract<FromChild, { type: T }>> {
    const message =
      this.#queue.shift() ?? (await new Promise<FromChild>((done) => (this.#waiter = done)));
    if (message.type === 'failed') {
      throw new Error(`the ${client} client process: ${message.message}`);
    }
    if (message.type !== type)
      throw new Error(`expected ${type} from the client, got ${message.type}`);
    return message as Extract<FromChild, { type: T }>;
  }
}

// --- The child -------------------------------------------------------------------------------

function reply(message: FromChild): Promise<void> {
  return new Promise((done, fail) =>
    process.send!(message, undefined, {}, (e) => (e ? fail(e) : done())),
  );
}

async function child(): Promise<void> {
  const job = new Promise<ClientJob>((done) =>
    process.once('message', (message: ToChild) => {
      if (message.type === 'job') done(message.job);
    }),
  );
  await reply({ type: 'loaded' });
  await runJob(await job);
}

/** The measured load of `job` on `client`: its clock, and its calls with the CPU time spent. */
function startLoad(
  client: BenchClient,
  job: ClientJob,
): { t0: number; now: () => number; done: Promise<{ calls: CallRecord[]; cpuUs: number }> } {
  const cpuBefore = process.cpuUsage();
  const load =
    job.loop === 'open'
      ? openLoop(client, job.rate, job.durationMs, job.deadlineMs)
      : closedLoop(client, job.concurrency, job.durationMs, job.deadlineMs);
  const done = load.done.then((calls) => {
    const cpu = process.cpuUsage(cpuBefore);
    return { calls, cpuUs: cpu.user + cpu.system };
  });
  return { t0: load.t0, now: load.now, done };
}

/** `job`'s client, made and warmed up (connections up, code compiled); not measured. */
async function readyClient(job: ClientJob): Promise<BenchClient> {
  const client = await benchClients[job.client](job.replicas);
  try {
    await closedLoop(client, 20, job.warmUpMs, 2_000).done;
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

/**
 * `job` in this process, through the same steps as in a child (`--quick`: a process per client
 * would not fit its 3 minutes): no isolation from the harness and the clients before.
 */
export async function startInProcess(job: ClientJob): Promise<ClientProcess> {
  const client = await readyClient(job);
  return {
    transport: client.transport,
    go: () => {
      const { now, done } = startLoad(client, job);
      return Promise.resolve({ now, done });
    },
    close: () => client.close(),
  };
}

async function runJob(job: ClientJob): Promise<void> {
  const client = await readyClient(job);
  try {
    // Each `go` starts one slice's load; one may come while the previous reply is on its way.
    let gos = 0;
    let onGo: (() => void) | undefined;
    process.on('message', (message: ToChild) => {
      if (message.type !== 'go') return;
      gos++;
      onGo?.();
    });
    await reply({ type: 'ready', transport: client.transport });
    for (let slice = 0; slice < job.slices; slice++) {
      if (gos <= slice) await new Promise<void>((done) => (onGo = done));
      onGo = undefined;
      const load = startLoad(client, job);
      await reply({ type: 'started', t0Epoch: performance.timeOrigin + load.t0 });
      const { calls, cpuUs } = await load.done;
      await reply({ type: 'done', calls, cpuUs });
    }
  } finally {
    await client.close();
  }
  process.disconnect();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  child().catch(async (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    await reply({ type: 'failed', message }).catch(() => undefined);
    process.exit(1);
  });
}
