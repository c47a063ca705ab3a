/**
 * A smoke test of the peer benchmark (`pnpm bench`): a few seconds of two scenarios with one
 * client of each kind, checking only that well-formed rows and timelines come out and are
 * written. No timing is asserted: the numbers belong to the benchmark, not to tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientProcess } from '../bench/harness/client-process.js';
import {
  clientOrder,
  parseBenchArgs,
  runBench,
  sliceSchedule,
  writeResults,
} from '../bench/harness/run.js';
import type { BenchClientName, BenchResults, ResultRow } from '../bench/harness/types.js';
import { planScenario } from '../bench/harness/scenarios.js';
import { scenarios } from '../bench/harness/types.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const clients = ['grpc-js-round-robin', 'detour-grpc-js', 'nginx', 'detour-fetch'] as const;

describe('pnpm bench (smoke)', () => {
  let out: string;
  let results: BenchResults[];

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'detour-bench-'));
    const options = parseBenchArgs([
      '--quick',
      '--isolate', // the full runs' way: each client in a process of its own
      '--scenarios',
      'overhead,steady,crash',
      '--clients',
      clients.join(','),
      '--rate',
      '200',
      '--out',
      out,
      '--no-docs',
    ]);
    results = await runBench({ ...options, log: () => {} });
    await writeResults(results, out);
  }, 90_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('writes one row and one timeline per client and scenario', () => {
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result!.schema).toBe('detour-bench/1');
    expect(result!.rows.map((r) => `${r.scenario} ${r.client}`)).toEqual(
      ['overhead', 'steady', 'crash'].flatMap((s) => clients.map((c) => `${s} ${c}`)),
    );
    expect(result!.timelines).toHaveLength(12);
    for (const t of result!.timelines) {
      expect(t.bucketMs).toBe(100);
      expect(t.points.length).toBeGreaterThan(0);
      expect(t.fault === null).toBe(t.scenario !== 'crash');
    }
  });

  it('fills every field of a row with a number of the right kind, or null where it does not apply', () => {
    for (const row of results[0]!.rows) {
      const what = `${row.scenario} ${row.client}`;
      expect(Object.keys(row).sort(), what).toEqual(
        [
          'attempts',
          'calls',
          'client',
          'cpuUsPerCall',
          'ejectMs',
          'failed',
          'maxMs',
          'p50Ms',
          'p999Ms',
          'p99Ms',
          'recoverMs',
          'scenario',
          'throughput',
          'transport',
        ].sort(),
      );
      expect(row.transport, what).toBe(
        row.client.startsWith('detour-fetch') || row.client === 'nginx' ? 'http' : 'grpc',
      );
      expect(row.calls, what).toBeGreaterThan(0);
      expect(row.failed, what).toBeGreaterThanOrEqual(0);
      expect(row.failed, what).toBeLessThanOrEqual(row.calls);
      for (const key of [
        'throughput',
        'p50Ms',
        'p99Ms',
        'p999Ms',
        'maxMs',
        'cpuUsPerCall',
      ] as const) {
        expect(Number.isFinite(row[key]) && row[key] >= 0, `${what} ${key}`).toBe(true);
      }
      expect(
        row.p50Ms <= row.p99Ms && row.p99Ms <= row.p999Ms && row.p999Ms <= row.maxMs,
        what,
      ).toBe(true);
      expect(row.attempts, what).toBeGreaterThan(0);
      expect(row.recoverMs, what).toBeNull(); // no scenario here heals
      const ejects: ResultRow['ejectMs'] = row.ejectMs;
      if (row.scenario !== 'crash') expect(ejects, what).toBeNull();
      else expect(ejects, what).toBeGreaterThanOrEqual(0);
    }
  });

  it('records the machine and the parameters, and writes latest.json and a dated copy', async () => {
    const result = results[0]!;
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.packages['@grpc/grpc-js']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(result.machine.packages['nginx']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(result.parameters).toMatchObject({ rate: 200, quick: true, deadlineMs: 1000 });
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    expect(files).toContain('latest.json');
    const latest = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchResults;
    expect(latest).toEqual(result);
  });
});

describe('parseBenchArgs', () => {
  it('isolates each client in full runs, and in quick runs only when asked', () => {
    expect(parseBenchArgs([]).isolate).toBe(true);
    expect(parseBenchArgs(['--quick']).isolate).toBe(false);
    expect(parseBenchArgs(['--quick', '--isolate']).isolate).toBe(true);
  });
});

describe('clientOrder', () => {
  const clients = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'];

  it('keeps the given order for a single run and for the first of several', () => {
    expect(clientOrder(clients, 1, 1)).toEqual(clients);
    expect(clientOrder(clients, 1, 3)).toEqual(clients);
  });

  it('cuts overhead into slices in which every client takes a turn, rotated by one each time', () => {
    expect(sliceSchedule(3, 5)).toEqual([
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
      [0, 1, 2],
      [1, 2, 0],
    ]);
    expect(planScenario('overhead', false).slices).toBe(5);
    expect(planScenario('overhead', true).slices).toBe(2);
    for (const scenario of scenarios.filter((s) => s !== 'overhead')) {
      expect(planScenario(scenario, false).slices).toBe(1);
    }
  });

  it('rotates later runs so that no client is always last', () => {
    for (const runs of [2, 3, 4, 5]) {
      const orders = Array.from({ length: runs }, (_, i) => clientOrder(clients, i + 1, runs));
      for (const order of orders) expect([...order].sort()).toEqual(clients);
      const lastPlaces = orders.map((order) => order.indexOf('c9'));
      expect(new Set(lastPlaces).size, `${runs} runs: ${lastPlaces.join(', ')}`).toBe(runs);
    }
    expect(clientOrder(clients, 3, 3)).toEqual([
      'c7',
      'c8',
      'c9',
      'c1',
      'c2',
      'c3',
      'c4',
      'c5',
      'c6',
    ]);
  });
});

describe('startClientProcess', () => {
  it("rejects with the child's error when the client cannot be made", async () => {
    const job = {
      client: 'no-such-client' as BenchClientName,
      replicas: [],
      loop: 'open' as const,
      rate: 10,
      concurrency: 1,
      durationMs: 100,
      slices: 1,
      deadlineMs: 1_000,
      warmUpMs: 0,
    };
    await expect(startClientProcess(job)).rejects.toThrow(/not a function/);
  }, 30_000);
});

describe('the clients module', () => {
  it("does not load npm undici, whose import would make Node's fetch send through its Agent", () => {
    // Importing undici installs its Agent as the global dispatcher when none is set; the fetch
    // clients must run on Node's fetch as it comes (only undici-balanced-retry loads it).
    const script = [
      "await import('./bench/harness/clients.ts');",
      "console.log(String(Symbol.for('undici.globalDispatcher.2') in globalThis));",
    ].join(' ');
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { cwd: repoRoot, env: { ...process.env, TSX_TSCONFIG_PATH: 'bench/tsconfig.json' } },
    );
    expect(output.toString().trim()).toBe('false');
  }, 30_000);
});
