/**
 * The peer benchmark's report (bench/report): medians across runs, the goals judged on them, the
 * `peers` section of docs/benchmarks.md and its SVG charts.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults, ResultRow, Scenario } from '../bench/harness/types.js';
import { scenarios } from '../bench/harness/types.js';
import { renderTimelineSvg } from '../bench/report/charts.js';
import { evaluateGoals, formatGoalValue, medianRows } from '../bench/report/goals.js';
import type { GoalResult } from '../bench/report/goals.js';
import { renderPeersSection, writeBenchmarkDocs } from '../bench/report/markdown.js';
import { sampleResults } from '../bench/report/sample-results.js';

type RowFields = Partial<ResultRow> & Pick<ResultRow, 'scenario' | 'client'>;

function row(fields: RowFields): ResultRow {
  return {
    transport: fields.client.includes('fetch') || fields.client === 'nginx' ? 'http' : 'grpc',
    calls: 1_000,
    failed: 0,
    attempts: 1,
    throughput: 100,
    p50Ms: 1,
    p99Ms: 2,
    p999Ms: 3,
    maxMs: 4,
    cpuUsPerCall: 50,
    ejectMs: null,
    recoverMs: null,
    ...fields,
  };
}

function run(rows: readonly ResultRow[]): BenchResults {
  const base = sampleResults(1);
  return { ...base, rows, timelines: [] };
}

function goal(goals: readonly GoalResult[], scenario: Scenario, client: string, text?: string) {
  const found = goals.filter(
    (g) => g.scenario === scenario && g.client === client && (!text || g.goal.includes(text)),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('medianRows', () => {
  const runs = [
    run([
      row({ scenario: 'crash', client: 'detour-grpc-js', p99Ms: 1, failed: 0, ejectMs: null }),
      row({ scenario: 'crash', client: 'grpc-js-round-robin', p99Ms: 10 }),
    ]),
    run([row({ scenario: 'crash', client: 'detour-grpc-js', p99Ms: 3, failed: 4, ejectMs: 4 })]),
    run([row({ scenario: 'crash', client: 'detour-grpc-js', p99Ms: 2, failed: 1, ejectMs: 6 })]),
  ];

  it('takes the median of each field over the runs that have the row, leaving nulls out', () => {
    const rows = medianRows(runs);
    expect(rows.map((r) => [r.scenario, r.client, r.runs])).toEqual([
      ['crash', 'grpc-js-round-robin', 1],
      ['crash', 'detour-grpc-js', 3],
    ]);
    const detour = rows[1]!;
    expect(detour.p99Ms).toBe(2);
    expect(detour.failed).toBe(1);
    // Two values left after the null: their mean.
    expect(detour.ejectMs).toBe(5);
    expect(detour.recoverMs).toBeNull();
    expect(detour.success).toBe(0.999);
    expect(rows[0]!.p99Ms).toBe(10);
  });
});

describe('evaluateGoals', () => {
  it('meets, misses, and has no data, on exact values', () => {
    const runs = [
      run([
        row({ scenario: 'crash', client: 'detour-grpc-js', failed: 0 }),
        row({ scenario: 'crash', client: 'detour-nice-grpc', failed: 3 }),
        row({ scenario: 'steady', client: 'detour-grpc-js', p99Ms: 2 }),
        row({ scenario: 'gray', client: 'detour-grpc-js', p99Ms: 3 }),
        row({ scenario: 'steady', client: 'detour-fetch', p99Ms: 4 }),
        row({ scenario: 'gray', client: 'detour-fetch', p99Ms: 5 }),
        row({ scenario: 'overhead', client: 'grpc-js-round-robin', throughput: 1_000, p50Ms: 2 }),
        row({ scenario: 'overhead', client: 'detour-grpc-js', throughput: 960, p50Ms: 2.2 }),
        row({ scenario: 'outage', client: 'detour-grpc-js', attempts: 1.1 }),
        row({ scenario: 'outage', client: 'nice-grpc-retry', attempts: 3 }),
      ]),
    ];
    const goals = evaluateGoals(runs);

    expect(goal(goals, 'crash', 'detour-grpc-js')).toMatchObject({ value: 0, met: true });
    expect(goal(goals, 'crash', 'detour-nice-grpc')).toMatchObject({ value: 3, met: false });
    expect(goal(goals, 'crash', 'detour-fetch')).toMatchObject({ value: null, met: null });

    expect(goal(goals, 'gray', 'detour-grpc-js')).toMatchObject({ value: 1.5, met: false });
    expect(goal(goals, 'gray', 'detour-fetch')).toMatchObject({ value: 1.25, met: true });
    // No steady row to compare with.
    expect(goal(goals, 'gray', 'detour-nice-grpc')).toMatchObject({ value: null, met: null });

    expect(goal(goals, 'overhead', 'detour-grpc-js', 'throughput')).toMatchObject({
      value: 0.96,
      met: true,
    });
    const p50 = goal(goals, 'overhead', 'detour-grpc-js', 'p50');
    expect(p50.value).toBeCloseTo(1.1, 10);
    expect(p50.met).toBe(false);
    // No fetch-naive row.
    expect(goal(goals, 'overhead', 'detour-fetch', 'p50')).toMatchObject({ met: null });
    expect(goals.some((g) => g.scenario === 'overhead' && g.client === 'detour-nice-grpc')).toBe(
      false,
    );

    const outage = goal(goals, 'outage', 'detour-grpc-js');
    expect(outage).toMatchObject({ value: 1.1, met: true });
    expect(outage.detail).toBe('peers: nice-grpc-retry 3.00');
  });

  it('judges freeze on success and on p99 against the best peer', () => {
    const goals = evaluateGoals([
      run([
        row({ scenario: 'freeze', client: 'detour-grpc-js', calls: 10_000, failed: 5, p99Ms: 50 }),
        row({ scenario: 'freeze', client: 'grpc-js-builtin-best', p99Ms: 1_000 }),
        row({ scenario: 'freeze', client: 'detour-fetch', calls: 10_000, failed: 20, p99Ms: 60 }),
        row({ scenario: 'freeze', client: 'fetch-naive', p99Ms: 1_000 }),
        row({ scenario: 'freeze', client: 'nginx', p99Ms: 200 }),
      ]),
    ]);
    expect(goal(goals, 'freeze', 'detour-grpc-js', 'success')).toMatchObject({
      value: 99.95,
      met: true,
    });
    expect(goal(goals, 'freeze', 'detour-grpc-js', 'p99')).toMatchObject({
      value: 0.05,
      met: true,
    });
    expect(goal(goals, 'freeze', 'detour-fetch', 'success')).toMatchObject({
      value: 99.8,
      met: false,
    });
    const fetchP99 = goal(goals, 'freeze', 'detour-fetch', 'p99');
    expect(fetchP99).toMatchObject({ value: 0.3, met: false });
    expect(fetchP99.detail).toContain('nginx');
  });

  it('counts a recovery that never happened as a miss, not as missing data', () => {
    const recovery = (recoverMs: number | null): ResultRow =>
      row({ scenario: 'recovery', client: 'detour-grpc-js', recoverMs });
    const met = evaluateGoals([
      run([recovery(900)]),
      run([recovery(null)]),
      run([recovery(1_100)]),
    ]);
    expect(goal(met, 'recovery', 'detour-grpc-js')).toMatchObject({ value: 1_100, met: true });
    const never = evaluateGoals([run([recovery(null)]), run([recovery(null)]), run([recovery(1)])]);
    expect(goal(never, 'recovery', 'detour-grpc-js')).toMatchObject({ value: null, met: false });
    expect(goal(never, 'recovery', 'detour-fetch')).toMatchObject({ value: null, met: null });
  });
});

describe('sampleResults', () => {
  it('is the same for a seed and differs between seeds', () => {
    expect(sampleResults(4)).toEqual(sampleResults(4));
    expect(sampleResults(4).rows).not.toEqual(sampleResults(5).rows);
    expect(sampleResults(4).rows).toHaveLength(scenarios.length * 9);
  });
});

describe('renderPeersSection', () => {
  const results = sampleResults(7);
  const markdown = renderPeersSection([results], [], {
    notes: { freeze: 'detour-fetch hedges late: issue #1.' },
  });
  const lines = markdown.split('\n');

  it('has a table for every scenario, gRPC clients first', () => {
    for (const scenario of scenarios) {
      const at = lines.indexOf(`### \`${scenario}\``);
      expect(at, scenario).toBeGreaterThan(0);
      const header = at + lines.slice(at).findIndex((line) => line.startsWith('| client |'));
      expect(lines[header]).toContain('| p99.9 ms |');
      const end = lines.findIndex((line, i) => i > header && !line.startsWith('| '));
      const clients = lines
        .slice(header + 2, end)
        .map((line) => line.split(' | ')[0]!.slice(2).replaceAll('*', ''));
      expect(clients, scenario).toEqual([...results.parameters.clients]);
    }
  });

  it('marks every goal as evaluateGoals judged it, and lists the missed ones', () => {
    const goals = evaluateGoals([results]);
    expect(goals.filter((g) => g.met === false).length).toBeGreaterThan(0);
    expect(goals.filter((g) => g.met === true).length).toBeGreaterThan(0);
    for (const g of goals) {
      const mark = g.met === null ? '—' : g.met ? '✅' : '❌';
      const line = `| ${g.scenario} | ${g.goal} | ${g.client} | ${formatGoalValue(g)} | ${g.target} | ${mark} |`;
      expect(markdown, `${g.scenario} ${g.client} ${g.goal}`).toContain(line);
    }
    const missed = lines.filter((line) => line.startsWith('- missed: '));
    expect(missed).toHaveLength(goals.filter((g) => g.met === false).length);
    expect(missed[0]).toContain('see the note under [`freeze`](#freeze)');
    expect(markdown).toContain('**Note.** detour-fetch hedges late: issue #1.');
  });
});

describe('renderTimelineSvg', () => {
  const results = sampleResults(3);
  const svg = renderTimelineSvg(results.timelines, 'freeze', 'grpc', { deadlineMs: 1_000 });

  it('draws every client of the transport and the fault, titled', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('freeze: p99 latency per 100 ms (gRPC)');
    for (const client of ['grpc-js-round-robin', 'nice-grpc-retry', 'detour-grpc-js']) {
      expect(svg).toContain(`>${client}</text>`);
    }
    expect(svg).not.toContain('detour-fetch');
    const label = results.timelines.find((t) => t.scenario === 'freeze')!.fault!.label;
    expect(svg).toContain(label);
  });

  it('loads nothing: no URL besides the SVG namespaces, no script', () => {
    const rest = svg.replace(/\sxmlns(:\w+)?="[^"]*"/g, '');
    // `url(#id)` (its own clip paths) is all it may point at.
    const external = /https?:|url\((?!#)|@import|<script|<image|<foreignObject|href=/gi;
    expect(rest.match(external) ?? []).toEqual([]);
    expect(rest).toContain('clip-path="url(#');
  });
});

describe('writeBenchmarkDocs', () => {
  let dir: string;
  const coreSection = (text: string): string =>
    text.slice(text.indexOf('<!-- core:start -->'), text.indexOf('<!-- core:end -->'));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the charts and the peers section, keeping the core section', async () => {
    const docsFile = join(dir, 'benchmarks.md');
    const chartsDir = join(dir, 'bench');
    copyFileSync(new URL('../docs/benchmarks.md', import.meta.url), docsFile);
    const before = readFileSync(docsFile, 'utf8');
    expect(coreSection(before)).toContain('## Core');

    const runs = [sampleResults(1), sampleResults(2)];
    await writeBenchmarkDocs(runs, { docsFile, chartsDir });
    const written = await writeBenchmarkDocs(runs, { docsFile, chartsDir });

    const after = readFileSync(docsFile, 'utf8');
    expect(coreSection(after)).toBe(coreSection(before));
    expect(after.match(/<!-- peers:start -->/g)).toHaveLength(1);
    expect(after).toContain('2 runs; every number is the median across them');
    expect(after).toContain(
      '![freeze: p99 latency over time, gRPC clients](bench/freeze-grpc.svg)',
    );
    expect(after).not.toContain('bench/overhead-');
    const files = readdirSync(chartsDir).sort();
    expect(files).toContain('freeze-http.svg');
    expect(files).toHaveLength(2 * (scenarios.length - 1));
    expect(written.charts).toHaveLength(files.length);
  });
});
