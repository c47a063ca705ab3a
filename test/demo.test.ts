/**
 * The SayHello failover demo end to end (`examples/demo/main.ts`, what `pnpm demo` runs): a short
 * run with the crash and the freeze, read back from its summary.json and its report.html opened
 * in Chromium; and Ctrl-C, which must leave no replica behind.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../examples/demo/model.js';
import { openReport } from '../examples/demo/report-browser.js';
import type { ReportCheck } from '../examples/demo/report-browser.js';

const root = resolve(import.meta.dirname, '..');
// As `pnpm demo` runs it: node loads tsx itself. Through tsx's CLI, a Ctrl-C would reach a
// wrapper process that SIGKILLs the demo when it does not acknowledge the signal within 2 × 30
// ms (tsx 4's relaySignals), which a loaded machine misses: the demo then never cleans up.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the demo with `args`; `onLine` sees each stdout line as it comes (and may signal the
 * process). Kills it after `timeoutMs`.
 */
function demo(
  args: readonly string[],
  timeoutMs: number,
  onLine: (line: string, child: ReturnType<typeof spawn>) => void = () => {},
): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', tsx, 'examples/demo/main.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The demo's calls get 3 s, not its default 1 s: a CI run froze the demo process itself for
 * about 2.3 s, and each gRPC client lost the 24 calls in flight then (grpc-js's own
 * DEADLINE_EXCEEDED after 2.8 s; detour-fetch, which has no transport deadline timer, none). No
 * client meets a 1 s deadline through a 2 s freeze of its own process; the faults the demo plays
 * (crash, freeze) are still bounded by the 300 ms attempt timeout, and the baseline still loses
 * calls to the 5 s freeze.
 */
const ciDeadline = ['--deadline', '3000'];

/** The pids the demo printed for its replicas (`r1: pid 123, gRPC …`). */
function replicaPids(stdout: string): number[] {
  return [...stdout.matchAll(/^r\d: pid (\d+),/gm)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the SayHello failover demo', () => {
  let out: string;
  let run: Run;
  let summary: DemoSummary;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'detour-demo-'));
    // 20 s with the crash and the freeze: each gets about 4 s, then time to heal.
    run = await demo(
      [
        '--duration',
        '20',
        '--faults',
        'crash,freeze',
        '--rate',
        '40',
        '--out',
        out,
        '--no-live',
      ].concat(ciDeadline),
      60_000,
    );
    summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as DemoSummary;
  }, 70_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0, loses no call through detour and says so', () => {
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(summary.ok).toBe(true);
    expect(run.stdout).toMatch(/^Verdict: no call through detour failed \(\d+ calls\)/m);
    const detour = summary.clients.filter((c) => c.detour);
    expect(detour.map((c) => c.name)).toEqual([
      'detour-grpc-js',
      'detour-nice-grpc',
      'detour-fetch',
    ]);
    for (const client of detour) {
      expect(client.failures, client.name).toBe(0);
      // 20 s at 40 calls/s, every call started and ended.
      expect(client.calls, client.name).toBeGreaterThanOrEqual(790);
      expect(client.attemptsPerCall, client.name).toBeGreaterThanOrEqual(1);
    }
  });

  it('plays the crash and the freeze, and the baseline loses calls to them', () => {
    expect(summary.faults.map((f) => [f.kind, f.replica, f.label])).toEqual([
      ['crash', 'r1', 'r1 killed'],
      ['freeze', 'r2', 'r2 frozen'],
    ]);
    const baseline = summary.clients.find((c) => c.name === 'baseline-grpc-js')!;
    expect(baseline.detour).toBe(false);
    const lost = baseline.faults.reduce((n, f) => n + f.failures, 0);
    expect(lost).toBeGreaterThan(0);
    // A frozen replica keeps its connections: round_robin keeps sending to it, and every call
    // it gets runs into the deadline.
    expect(baseline.faults[1]!.failures).toBeGreaterThan(0);
    expect(baseline.failuresByCode['DEADLINE_EXCEEDED']).toBeGreaterThan(0);
    expect(baseline.failures).toBe(Object.values(baseline.failuresByCode).reduce((a, b) => a + b));
  });

  it('each detour client ejects each faulty replica during its fault and restores it after', () => {
    for (const client of summary.clients.filter((c) => c.detour)) {
      for (const [i, fault] of client.faults.entries()) {
        const window = summary.faults[i]!;
        const what = `${client.name} / ${fault.label}`;
        expect(fault.ejectMs, what).not.toBeNull();
        expect(fault.ejectMs!, what).toBeLessThan(window.endMs - window.startMs);
        expect(fault.restoreMs, what).not.toBeNull();
        expect(fault.backMs, what).not.toBeNull();
        // The state changes behind those numbers are in the summary.
        expect(
          client.stateChanges.some((c) => c.replica === fault.replica && c.to === 'ejected'),
          what,
        ).toBe(true);
      }
    }
  });

  it('prints the summary table and names the files it wrote', () => {
    expect(run.stdout).toMatch(/^client +calls +failed +p50 +p99 +max +attempts\/call$/m);
    expect(run.stdout).toMatch(/^r1 killed +baseline-grpc-js +\d+ +— +— +/m);
    expect(run.stdout).toContain(`summary.json and `);
  });

  it('writes a report that Chromium renders with data and without errors', async () => {
    const file = join(out, 'report.html');
    expect((await stat(file)).size).toBeGreaterThan(100_000); // ECharts is inlined
    const check: ReportCheck = await openReport(file, { screenshotPath: join(out, 'report.png') });
    expect(check.consoleErrors).toEqual([]);
    expect(check.pageErrors).toEqual([]);
    expect(check.externalRequests).toEqual([]);
    const buckets = summary.durationMs / summary.bucketMs;
    expect(check.charts.map((c) => c.id).sort()).toEqual(
      ['failures', 'latency', 'share']
        .flatMap((row) => [`chart-left-${row}`, `chart-right-${row}`])
        .sort(),
    );
    for (const chart of check.charts) {
      expect(chart.series.length, chart.id).toBeGreaterThan(0);
      expect(Math.max(...chart.series.map((s) => s.points)), chart.id).toBe(buckets);
    }
    const share = check.charts.find((c) => c.id === 'chart-left-share')!;
    expect(share.client).toBe('detour-grpc-js');
    expect(share.series.filter((s) => /^r\d$/.test(s.name)).map((s) => s.name)).toEqual([
      'r1',
      'r2',
      'r3',
    ]);
    expect((await readFile(join(out, 'report.png'))).subarray(1, 4).toString()).toBe('PNG');
  }, 30_000);
});

describe('the demo with --registry etcd', () => {
  it('finds the replicas through etcd, drops a killed one when its lease expires, takes it back on restart, and removes its etcd', async () => {
    const out = await mkdtemp(join(tmpdir(), 'detour-demo-'));
    try {
      const run = await demo(
        ['--registry', 'etcd', '--duration', '16', '--faults', 'crash', '--rate', '30'].concat(
          ['--out', out, '--no-live'],
          ciDeadline,
        ),
        60_000,
      );
      expect(run.code, run.stderr + run.stdout).toBe(0);
      const url = /^Registry: its own etcd at (http:\/\/127\.0\.0\.1:\d+);/m.exec(run.stdout)?.[1];
      expect(url, run.stdout).toBeDefined();
      const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as DemoSummary;
      const crash = summary.faults[0]!;
      expect([crash.kind, crash.replica]).toEqual(['crash', 'r1']);
      for (const client of summary.clients.filter((c) => c.detour)) {
        expect(client.failures, client.name).toBe(0);
        // r1's key went with its lease (draining), and came back when r1 registered again.
        const r1 = client.stateChanges.filter((c) => c.replica === 'r1');
        const left = r1.find((c) => c.to === 'draining' && c.atMs > crash.startMs);
        expect(left, `${client.name}: ${JSON.stringify(r1)}`).toBeDefined();
        const back = r1.find((c) => c.to === 'healthy' && c.atMs > left!.atMs);
        expect(back, `${client.name}: ${JSON.stringify(r1)}`).toBeDefined();
        expect(client.faults[0]!.restoreMs, client.name).not.toBeNull();
      }
      // The etcd the demo started is gone, and so are the replicas.
      const etcdAnswers = await fetch(`${url!}/health`).then(
        () => true,
        () => false,
      );
      expect(etcdAnswers).toBe(false);
      expect(replicaPids(run.stdout).filter(alive)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 70_000);
});

describe('the demo on Ctrl-C', () => {
  it('stops early with exit code 130 and leaves no replica running', async () => {
    const out = await mkdtemp(join(tmpdir(), 'detour-demo-'));
    try {
      let interrupted = false;
      const run = await demo(
        ['--duration', '60', '--no-chaos', '--out', out, '--no-live'],
        30_000,
        (line, child) => {
          if (!interrupted && line.includes('progress:')) {
            interrupted = true;
            child.kill('SIGINT');
          }
        },
      );
      expect(interrupted, run.stdout + run.stderr).toBe(true);
      expect(run.code).toBe(130);
      const pids = replicaPids(run.stdout);
      expect(pids).toHaveLength(3);
      expect(pids.filter(alive)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 40_000);
});
