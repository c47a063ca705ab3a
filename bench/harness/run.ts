/**
 * `pnpm bench`: detour beside the clients a team would pick instead, on the same three greeter
 * replica processes, the same load and the same faults, one client at a time. Writes
 * `bench/results/latest.json` and a dated copy (format: `BenchResults` in `types.ts`, documented
 * in bench/README.md) and regenerates the `peers` section of docs/benchmarks.md with its charts.
 *
 * Options: `--quick` (short runs, about 3 minutes), `--runs <n>` (repeat; the docs show
 * medians), `--scenarios a,b`, `--clients a,b`, `--rate <calls/s>` (open loop, default 1000),
 * `--concurrency <n>` (closed loop, default 32), `--out <folder>` (default bench/results),
 * `--no-docs`, `--isolate` (each client in a process of its own also with `--quick`; full runs
 * always isolate).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalCluster } from '../../examples/greeter-cluster/local-cluster.js';
import type { LocalCluster } from '../../examples/greeter-cluster/local-cluster.js';
import { writeBenchmarkDocs } from '../report/markdown.js';
import { scenarioNotes } from '../report/notes.js';
import { callDeadlineMs, clientVersions } from './clients.js';
import { spawnClientProcess, startClientProcess, startInProcess } from './client-process.js';
import type { ClientProcess, SpawnedClientProcess } from './client-process.js';
import { RequestCounter, resetCluster } from './cluster-control.js';
import type { CallRecord } from './load.js';
import { resultRow, timeline } from './measure.js';
import type { RunFacts } from './measure.js';
import { planScenario } from './scenarios.js';
import type { ScenarioPlan } from './scenarios.js';
import { grpcClients, httpClients, scenarios } from './types.js';
import type { BenchClientName, BenchResults, ResultRow, Scenario, Timeline } from './types.js';

const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(benchDir, '..');
const deadlineMs = callDeadlineMs;
const allClients: readonly BenchClientName[] = [...grpcClients, ...httpClients];
/** Pause after the collections before a client starts (full runs), ms. */
const settleAfterGcMs = 200;
/** Each client's warm-up in its fresh process before it is measured (`client-process.ts`), ms. */
const warmUpMs = 1_000;
const warmUpQuickMs = 200;

/**
 * The clients in the order run `run` (1-based) of `runs` takes them: rotated by a stride so that
 * across runs each client comes early and late in its scenario, and no client always pays for
 * what the others left in the process (the first run keeps the given order).
 */
export function clientOrder<T>(clients: readonly T[], run: number, runs: number): T[] {
  const n = clients.length;
  if (n === 0) return [];
  const stride = Math.max(1, Math.floor(n / runs));
  const offset = ((run - 1) * stride) % n;
  return [...clients.slice(offset), ...clients.slice(0, offset)];
}

/**
 * The turns of `slices` slices of `clients` clients (indexes): every client once per slice, the
 * order rotated by one place per slice, so that each client runs first, in the middle and last.
 */
export function sliceSchedule(clients: number, slices: number): number[][] {
  const indexes = Array.from({ length: clients }, (_, i) => i);
  return Array.from({ length: slices }, (_, slice) => clientOrder(indexes, slice + 1, clients));
}

export interface BenchOptions {
  readonly quick: boolean;
  readonly runs: number;
  readonly scenarios: readonly Scenario[];
  readonly clients: readonly BenchClientName[];
  readonly rate: number;
  readonly concurrency: number;
  readonly out: string;
  readonly docs: boolean;
  /**
   * Each client in a process of its own (the default of full runs); `--quick` runs them in the
   * harness's process unless `--isolate` is given.
   */
  readonly isolate: boolean;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

function list<T extends string>(option: string, given: string | undefined, all: readonly T[]): T[] {
  if (given === undefined) return [...all];
  return given.split(',').map((name) => {
    if (!(all as readonly string[]).includes(name)) {
      throw new Error(`${option}: ${JSON.stringify(name)} is not one of ${all.join(', ')}`);
    }
    return name as T;
  });
}

function positive(option: string, given: string | undefined, fallback: number): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${option} must be a positive integer, got ${given}`);
  }
  return value;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      scenarios: { type: 'string' },
      clients: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      out: { type: 'string' },
      'no-docs': { type: 'boolean' },
      isolate: { type: 'boolean' },
    },
  });
  return {
    quick: values.quick === true,
    runs: positive('--runs', values.runs, 1),
    scenarios: list('--scenarios', values.scenarios, scenarios),
    clients: list('--clients', values.clients, allClients),
    rate: positive('--rate', values.rate, 1_000),
    concurrency: positive('--concurrency', values.concurrency, 32),
    out: resolve(values.out ?? join(benchDir, 'results')),
    docs: values['no-docs'] !== true,
    isolate: values.isolate === true || values.quick !== true,
    log: (line) => console.log(line),
  };
}

/**
 * Resets the cluster and lets the previous client's leftovers (its sockets closing on the
 * replicas) settle, collecting the harness's own garbage (the last run's calls) now rather than
 * while it plays this run's faults (`pnpm bench` runs node with --expose-gc; without it, the
 * pause alone).
 */
async function prepare(cluster: LocalCluster, options: BenchOptions): Promise<void> {
  await resetCluster(cluster);
  await new Promise((resolve) => setTimeout(resolve, options.quick ? 100 : 300));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc && !options.quick) {
    gc();
    gc();
    await new Promise((resolve) => setTimeout(resolve, settleAfterGcMs));
  }
}

/** `name`'s job in `plan`, made and warmed up in `spawned` (a process of its own) or here. */
function startClient(
  cluster: LocalCluster,
  plan: ScenarioPlan,
  name: BenchClientName,
  options: BenchOptions,
  spawned: SpawnedClientProcess | undefined,
  settlingSlices = 0,
): Promise<ClientProcess> {
  const job = {
    client: name,
    replicas: cluster.replicas.map((r) => ({
      name: r.name,
      grpcAddress: r.grpcAddress,
      httpUrl: r.httpUrl,
    })),
    loop: plan.loop,
    rate: options.rate,
    concurrency: options.concurrency,
    durationMs: plan.durationMs / plan.slices,
    slices: plan.slices + settlingSlices,
    deadlineMs,
    warmUpMs: options.quick ? warmUpQuickMs : warmUpMs,
  };
  return spawned ? startClientProcess(job, spawned) : startInProcess(job);
}

function rowAndTimeline(
  facts: Omit<RunFacts, 'replicas'>,
  cluster: LocalCluster,
): { row: ResultRow; timeline: Timeline } {
  const all = { ...facts, replicas: cluster.replicas.map((r) => r.name) };
  return { row: resultRow(all), timeline: timeline(all) };
}

/**
 * One client through one scenario, on a reset cluster, in `spawned` (a fresh client process).
 * `afterLoad` runs once the load is over, before the wrap-up: the next process starts then.
 */
async function runOne(
  cluster: LocalCluster,
  scenario: Scenario,
  name: BenchClientName,
  options: BenchOptions,
  spawned: SpawnedClientProcess | undefined,
  afterLoad: () => void,
): Promise<{ row: ResultRow; timeline: Timeline }> {
  const plan = planScenario(scenario, options.quick);
  await prepare(cluster, options);
  const child = await startClient(cluster, plan, name, options, spawned);
  try {
    const counter = new RequestCounter(cluster, child.transport);
    await counter.start();
    const load = await child.go();
    let healedAtMs: number | null = null;
    const steps = plan.steps.map(
      (step) =>
        new Promise<void>((done, fail) => {
          setTimeout(
            () => {
              Promise.resolve(step.run(cluster))
                .then(() => {
                  if (step.atMs === plan.healMs) healedAtMs = load.now();
                  done();
                })
                .catch(fail);
            },
            Math.max(0, step.atMs - load.now()),
          );
        }),
    );
    const { calls, cpuUs } = await load.done;
    afterLoad();
    await Promise.all(steps);
    const requests = await counter.stop();
    const facts = { client: name, transport: child.transport, plan, calls, requests, cpuUs };
    return rowAndTimeline({ ...facts, healedAtMs }, cluster);
  } finally {
    await child.close();
  }
}

/**
 * Rounds of unmeasured slices, every client once each, before the measured ones, when each client
 * runs in a process of its own (full runs, `--isolate`).
 */
const settlingRounds = 1;

/**
 * Every client through a healthy scenario cut into `plan.slices` slices, taking turns: all the
 * clients are made and warmed up (each in its own process when `spawn` is given), then run one
 * unmeasured slice each (`settlingRounds`, when each is in a process of its own), then each slice
 * runs every client once, the order rotated by one place per slice. A stretch in which the shared
 * machine is slow (CPU steal) then hits every client alike, rather than whichever one ran then.
 * Each client's slices are joined end to end: its calls, its CPU time and its requests.
 */
async function runInterleaved(
  cluster: LocalCluster,
  scenario: Scenario,
  names: readonly BenchClientName[],
  options: BenchOptions,
  spawn: (() => SpawnedClientProcess) | undefined,
): Promise<{ row: ResultRow; timeline: Timeline }[]> {
  const plan = planScenario(scenario, options.quick);
  if (plan.steps.length > 0) throw new Error(`${scenario} plays faults: it cannot be sliced`);
  await prepare(cluster, options);
  // Every process loads its modules at once; then each client is made and warmed up in turn.
  const spawned = names.map(() => spawn?.());
  const children: ClientProcess[] = [];
  const settling = options.isolate ? settlingRounds : 0;
  try {
    for (const [i, name] of names.entries()) {
      children.push(await startClient(cluster, plan, name, options, spawned[i], settling));
    }
    // Unmeasured rounds first: the first slice after the warm-ups ran slow for whichever client
    // had it (detour-grpc-js, first in run 2's rotation, was 0.62x and 0.69x in two sets of
    // runs and 0.92x on 2026-12-08, against 0.85-1.0x in the other runs).
    for (let round = 0; round < settling; round++) {
      for (const child of children) await (await child.go()).done;
    }
    // `endMs`: where the client's slices so far ended (their last call's end).
    const joined = names.map(() => ({
      calls: [] as CallRecord[],
      cpuUs: 0,
      requests: 0,
      endMs: 0,
    }));
    for (const turns of sliceSchedule(names.length, plan.slices)) {
      for (const i of turns) {
        const child = children[i]!;
        const counter = new RequestCounter(cluster, child.transport);
        await counter.start();
        const { calls, cpuUs } = await (await child.go()).done;
        const into = joined[i]!;
        // The slice starts where the client's previous one ended.
        const offsetMs = into.endMs;
        for (const c of calls) {
          const startMs = c.startMs + offsetMs;
          into.calls.push({ ...c, startMs });
          into.endMs = Math.max(into.endMs, startMs + c.latencyMs);
        }
        into.cpuUs += cpuUs;
        into.requests += await counter.stop();
      }
    }
    return names.map((name, i) =>
      rowAndTimeline(
        {
          client: name,
          transport: children[i]!.transport,
          plan,
          calls: joined[i]!.calls,
          cpuUs: joined[i]!.cpuUs,
          requests: joined[i]!.requests,
          healedAtMs: null,
        },
        cluster,
      ),
    );
  } finally {
    await Promise.all(children.map((child) => child.close()));
    // Those a failed start left unused.
    for (const unused of spawned.slice(children.length + 1)) await unused?.dispose();
  }
}

function describeRow(row: ResultRow): string {
  const ms = (v: number | null): string => (v === null ? '—' : `${v}`);
  return [
    row.scenario.padEnd(9),
    row.client.padEnd(22),
    `${row.calls} calls`.padStart(11),
    `${row.failed} failed`.padStart(11),
    `${row.attempts ?? '—'} att`.padStart(10),
    `p50 ${row.p50Ms}`.padStart(11),
    `p99 ${row.p99Ms}`.padStart(11),
    `max ${row.maxMs}`.padStart(11),
    `eject ${ms(row.ejectMs)}`.padStart(11),
    `recover ${ms(row.recoverMs)}`.padStart(13),
  ].join(' ');
}

async function packageVersions(): Promise<Record<string, string>> {
  return clientVersions(async (name) => {
    const text = await readFile(join(benchDir, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  });
}

/** Runs the benchmark; resolves the results of each run. */
export async function runBench(options: BenchOptions): Promise<BenchResults[]> {
  const cluster = await startLocalCluster({ replicas: 3 });
  const results: BenchResults[] = [];
  /** The next client's process, started ahead (see `runOne`). */
  let spare: SpawnedClientProcess | undefined;
  try {
    const cpu = cpus()[0];
    const machine = {
      cores: availableParallelism(),
      cpuModel: cpu?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: process.platform,
      packages: await packageVersions(),
    };
    for (let run = 1; run <= options.runs; run++) {
      const startedAt = new Date().toISOString();
      const rows: ResultRow[] = [];
      const timelines: Timeline[] = [];
      const order = clientOrder(options.clients, run, options.runs);
      const keep = (result: { row: ResultRow; timeline: Timeline }): void => {
        rows.push(result.row);
        timelines.push(result.timeline);
        options.log(`${options.runs > 1 ? `run ${run} ` : ''}${describeRow(result.row)}`);
      };
      for (const scenario of options.scenarios) {
        if (planScenario(scenario, options.quick).slices > 1) {
          // The process started ahead serves the first client; the others get new ones.
          let ahead = spare;
          spare = undefined;
          const spawn = options.isolate
            ? (): SpawnedClientProcess => {
                const next = ahead ?? spawnClientProcess();
                ahead = undefined;
                return next;
              }
            : undefined;
          for (const result of await runInterleaved(cluster, scenario, order, options, spawn)) {
            keep(result);
          }
          continue;
        }
        for (const client of order) {
          const spawned = options.isolate ? (spare ?? spawnClientProcess()) : undefined;
          spare = undefined;
          const result = await runOne(cluster, scenario, client, options, spawned, () => {
            // The next client's process loads its modules during this one's wrap-up.
            if (options.isolate) spare = spawnClientProcess();
          });
          keep(result);
        }
      }
      const durationsMs = Object.fromEntries(
        scenarios.map((s) => [s, planScenario(s, options.quick).durationMs]),
      ) as Record<Scenario, number>;
      results.push({
        schema: 'detour-bench/1',
        startedAt,
        machine,
        parameters: {
          rate: options.rate,
          concurrency: options.concurrency,
          deadlineMs,
          quick: options.quick,
          durationsMs,
          scenarios: options.scenarios,
          clients: options.clients,
        },
        rows,
        timelines,
      });
    }
  } finally {
    await spare?.dispose();
    await cluster.stop();
  }
  return results;
}

/** Writes each run to `<out>/<startedAt>.json`, the last one also to `<out>/latest.json`. */
export async function writeResults(results: readonly BenchResults[], out: string): Promise<void> {
  await mkdir(out, { recursive: true });
  for (const result of results) {
    const text = `${JSON.stringify(result)}\n`;
    await writeFile(join(out, `${result.startedAt.replaceAll(':', '-')}.json`), text);
    await writeFile(join(out, 'latest.json'), text);
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const started = Date.now();
  const results = await runBench(options);
  await writeResults(results, options.out);
  if (options.docs) {
    await writeBenchmarkDocs(results, {
      notes: scenarioNotes,
      docsFile: join(repoRoot, 'docs', 'benchmarks.md'),
      chartsDir: join(repoRoot, 'docs', 'bench'),
    });
  }
  console.log(
    `${results.length} run(s) in ${Math.round((Date.now() - started) / 1000)} s; results in ${options.out}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
