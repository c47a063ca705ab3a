/**
 * The SayHello failover demo (`pnpm demo`): greeter replicas on this machine, SayHello sent
 * through detour (grpc-js, nice-grpc, fetch) and through a plain grpc-js round_robin client
 * while a fault schedule kills, freezes, slows and breaks replicas; a live view, then a summary,
 * `summary.json` and `report.html`. Exit code 0 only when no call through detour failed; 1 when
 * one did; 2 for a bad command line; 130 when interrupted.
 *
 * Run from the repo root: `pnpm demo [--duration 60] [--replicas 3] [--rate 50] [--no-chaos]
 * [--faults crash,freeze,slow,errors] [--out folder] [--registry etcd [--etcd url]]` (`--help`
 * lists the options).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLocalCluster } from '../greeter-cluster/local-cluster.js';
import type { LocalCluster } from '../greeter-cluster/local-cluster.js';
import { DemoUsageError, parseDemoArgs, usage } from './args.js';
import type { DemoArgs } from './args.js';
import { createClients } from './clients.js';
import type { DemoClient } from './clients.js';
import { FaultPlayer } from './fault-player.js';
import { createView } from './live-view.js';
import { clientSummary } from './measure.js';
import { clientNames } from './model.js';
import type { DemoSummary } from './model.js';
import { writeReport } from './report.js';
import { planFaults } from './schedule.js';
import { DemoRegistry } from './registry.js';
import { printSummary } from './summary-text.js';
import { ClientLog, LoadDriver } from './traffic.js';

/** `folder` relative to the working directory when it is inside it, else absolute. */
function shown(folder: string): string {
  const rel = relative(process.cwd(), folder);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? folder : rel;
}

function timestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-22T10:04:05.123Z
  return `${iso.slice(0, 10)}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

async function run(args: DemoArgs, interrupted: AbortSignal): Promise<number> {
  const outDir = resolve(args.out ?? join('demo-output', timestamp(new Date())));
  await mkdir(outDir, { recursive: true });
  const durationMs = args.durationS * 1000;
  const bucketMs = durationMs >= 30_000 ? 1_000 : 500;
  console.log(
    `Starting ${args.replicas} greeter replicas; ${args.durationS} s of SayHello at ${args.rate} calls/s per client${args.chaos ? ` with faults (${args.faults.join(', ')})` : ', no faults'}.`,
  );

  let cluster: LocalCluster | undefined;
  let clients: DemoClient[] = [];
  let registry: DemoRegistry | undefined;
  try {
    if (args.registry === 'etcd') {
      registry = await DemoRegistry.open(args.etcd);
      console.log(registry.describe());
    }
    cluster = await startLocalCluster({
      replicas: args.replicas,
      ...(registry ? { registry: registry.replicaOptions } : {}),
    });
    for (const r of cluster.replicas) {
      console.log(
        `${r.name}: pid ${r.pid}, gRPC ${r.grpcAddress}, HTTP ${r.httpUrl}, admin ${r.adminUrl}`,
      );
    }
    const replicas = cluster.replicas.map((r) => r.name);
    const { deadlineMs } = args;
    clients = createClients(cluster.replicas, clientNames, registry?.sources, deadlineMs);
    await registry?.waitFor(replicas);
    // Connections up and the first answers in before the clock starts.
    await Promise.all(
      clients.flatMap((c) => replicas.map((_, i) => c.send(`warm-up-${i}`, 5_000))),
    );

    const t0 = performance.now();
    const startedAt = new Date();
    const now = (): number => performance.now() - t0;
    const logs = clients.map((c) => new ClientLog(c, now));
    const player = new FaultPlayer(cluster, now);
    const view = createView(
      {
        durationMs,
        rate: args.rate,
        outDir: shown(outDir),
        replicas: cluster.replicas,
        logs,
        now,
        faultOf: (name) => player.active.get(name),
      },
      args.live ?? process.stdout.isTTY === true,
    );
    for (const log of logs) {
      const pool = log.client.pool;
      const name = log.client.name;
      pool?.on('ejected', (e) =>
        view.event(
          `${name}: ${e.endpoint.id} ejected by ${e.detector}: ${(e.fault.message ?? e.fault.kind).trim()}`,
        ),
      );
      pool?.on('state-change', (e) => {
        if (e.to !== 'ejected') view.event(`${name}: ${e.endpoint.id} ${e.from} → ${e.to}`);
      });
    }
    const driver = new LoadDriver(logs, args.rate, deadlineMs, now);
    view.start();
    driver.start();
    player.play(planFaults(durationMs, args.replicas, args.faults), (text) => view.event(text));

    await new Promise<void>((done) => {
      const timer = setTimeout(done, durationMs);
      interrupted.addEventListener('abort', () => {
        clearTimeout(timer);
        done();
      });
    });
    await driver.stop();
    const faults = await player.finish();
    view.stop();
    if (interrupted.aborted) return 130;

    const summary: DemoSummary = {
      schema: 'detour-demo/1',
      startedAt: startedAt.toISOString(),
      durationMs,
      bucketMs,
      options: {
        durationS: args.durationS,
        replicas: args.replicas,
        rate: args.rate,
        chaos: args.chaos,
        faults: args.faults,
        deadlineMs,
      },
      replicas,
      faults,
      clients: logs.map((log) => clientSummary(log.run(), faults, replicas, bucketMs, durationMs)),
      ok: logs.every((log) => log.client.pool === undefined || log.failures === 0),
      machine: { node: process.version, platform: process.platform, cpus: availableParallelism() },
    };
    for (const log of logs) log.stopWatching();
    await writeFile(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    await writeReport(summary, join(outDir, 'report.html'));
    printSummary(summary, shown(outDir));
    return summary.ok ? 0 : 1;
  } finally {
    for (const client of clients) client.close();
    await cluster?.stop();
    await registry?.close();
  }
}

async function main(): Promise<void> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`${error.message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    console.log(usage);
    return;
  }
  // Ctrl-C (or a SIGTERM) ends the demo early, but through the same clean-up: no replica is left.
  const interrupted = new AbortController();
  const onSignal = (): void => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    process.exitCode = await run(args, interrupted.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

await main();
