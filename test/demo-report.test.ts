/**
 * The demo's report.html: self-contained, and in a real browser (Debian's Chromium) it draws
 * every chart from the embedded summary without an error, the left column follows the detour
 * client picked, and a summary that lacks a client still renders.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../examples/demo/model.js';
import { openReport } from '../examples/demo/report-browser.js';
import type { OpenReportOptions, ReportCheck } from '../examples/demo/report-browser.js';
import { renderReport, writeReport } from '../examples/demo/report.js';
import { sampleSummary } from '../examples/demo/sample-summary.js';

const rows = ['share', 'latency', 'failures'] as const;
const chartIds = (side: 'left' | 'right'): string[] => rows.map((row) => `chart-${side}-${row}`);

/** The text of the `<script type="application/json" id="summary">` element. */
function embeddedSummary(html: string): string {
  const match = /<script type="application\/json" id="summary">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return match![1]!;
}

describe('renderReport', () => {
  it('inlines ECharts and loads nothing from anywhere', async () => {
    const html = renderReport(sampleSummary());
    const echartsFile = createRequire(
      new URL('../examples/demo/package.json', import.meta.url),
    ).resolve('echarts/dist/echarts.min.js');
    const echarts = await readFile(echartsFile, 'utf8');
    expect(html.includes(`<script>${echarts}</script>`), 'ECharts inlined').toBe(true);
    // The rest, without ECharts (whose code names the SVG namespaces by URL, among others).
    const page = html.replace(echarts, '');
    expect(page.match(/<script\b[^>]*>/g)).toEqual([
      '<script>',
      '<script type="application/json" id="summary">',
      '<script>',
    ]);
    expect(page.match(/<(link|img|iframe|object|embed)\b[^>]*>/gi) ?? []).toEqual([]);
    expect(page.match(/\b(src|href)=[^>]*/gi) ?? []).toEqual([]);
    expect(page.match(/https?:\/\/\S*|@import|url\(/g) ?? []).toEqual([]);
  });

  it('keeps `</script>` in labels from ending the script that embeds the summary', () => {
    const sample = sampleSummary();
    const hostile = '</script><script>window.__pwned = true</script>';
    const summary: DemoSummary = {
      ...sample,
      faults: sample.faults.map((fault) => ({ ...fault, label: `${fault.label} ${hostile}` })),
      clients: sample.clients.map((client) => ({ ...client, label: `${client.label} ${hostile}` })),
    };
    const html = renderReport(summary);
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).not.toContain('window.__pwned = true</script>');
    expect(JSON.parse(embeddedSummary(html))).toEqual(summary);
  });
});

// One Chromium per check; a launch, load and read takes about 1–2 s.
describe('report.html in Chromium', () => {
  let dir: string;
  let screenshot: string;
  let sample: ReportCheck;
  let picked: ReportCheck;
  let noBaseline: ReportCheck;
  let baselineOnly: ReportCheck;
  const summary = sampleSummary();
  const buckets = summary.durationMs / summary.bucketMs;

  async function open(
    name: string,
    data: DemoSummary,
    options?: OpenReportOptions,
  ): Promise<ReportCheck> {
    const file = join(dir, `${name}.html`);
    await writeReport(data, file);
    return openReport(file, options);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'demo-report-'));
    screenshot = join(dir, 'report.png');
    sample = await open('report', summary, { screenshotPath: screenshot });
    picked = await open('picked', summary, { select: 'detour-fetch' });
    noBaseline = await open('no-baseline', {
      ...summary,
      clients: summary.clients.filter((client) => client.name !== 'baseline-grpc-js'),
    });
    baselineOnly = await open('baseline-only', {
      ...summary,
      clients: summary.clients.filter((client) => !client.detour),
    });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws every chart of both columns, with one point per bucket', () => {
    expect(sample.title).toBe('detour demo · 2026-03-02 09:30:00 UTC');
    expect(sample.charts.map((chart) => chart.id)).toEqual([
      ...chartIds('left'),
      ...chartIds('right'),
    ]);
    for (const chart of sample.charts) {
      expect(chart.series.length, chart.id).toBeGreaterThan(0);
      for (const series of chart.series) expect(series.points, chart.id).toBe(buckets);
    }
    const byId = new Map(sample.charts.map((chart) => [chart.id, chart]));
    for (const side of ['left', 'right']) {
      const names = (row: string): string[] =>
        byId.get(`chart-${side}-${row}`)!.series.map((series) => series.name);
      expect(names('share')).toEqual(summary.replicas);
      expect(names('latency')).toEqual(['p50', 'p99', 'max']);
      expect(names('failures')).toEqual(['failed calls']);
    }
    expect(byId.get('chart-left-share')!.client).toBe('detour-grpc-js');
    expect(byId.get('chart-right-share')!.client).toBe('baseline-grpc-js');
  });

  it('logs no error or warning, throws nothing and requests nothing', () => {
    expect(sample.consoleErrors).toEqual([]);
    expect(sample.pageErrors).toEqual([]);
    expect(sample.externalRequests).toEqual([]);
  });

  it('writes a PNG screenshot', async () => {
    const png = await readFile(screenshot);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('redraws the left column for the detour client picked, and only it', () => {
    expect(picked.pageErrors).toEqual([]);
    expect(picked.consoleErrors).toEqual([]);
    const clients = Object.fromEntries(picked.charts.map((chart) => [chart.id, chart.client]));
    for (const id of chartIds('left')) expect(clients[id], id).toBe('detour-fetch');
    for (const id of chartIds('right')) expect(clients[id], id).toBe('baseline-grpc-js');
    for (const chart of picked.charts) {
      for (const series of chart.series) expect(series.points, chart.id).toBe(buckets);
    }
  });

  it('renders the column it has data for when the summary lacks a client', () => {
    for (const [check, side] of [
      [noBaseline, 'left'],
      [baselineOnly, 'right'],
    ] as const) {
      expect(check.pageErrors).toEqual([]);
      expect(check.consoleErrors).toEqual([]);
      expect(check.charts.map((chart) => chart.id)).toEqual(chartIds(side));
      for (const chart of check.charts) {
        for (const series of chart.series) expect(series.points, chart.id).toBe(buckets);
      }
    }
  });
});
