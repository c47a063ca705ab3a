/**
 * `report.html`: the demo's summary for people, drawn from `summary.json` alone and loading
 * nothing from the network. ECharts (`echarts/dist/echarts.min.js`) is inlined, the summary is
 * embedded as JSON in `<script type="application/json" id="summary">`, and a small inline script
 * draws the charts from it; the header and the tables are plain HTML written here.
 *
 * The timeline puts a detour client (left, picked with the buttons of `#left-picker`, each
 * `button[data-client=<ClientName>]`; `detour-grpc-js` by default) beside `baseline-grpc-js`
 * (right). Each column has three charts, in containers of class `chart` with these ids:
 *
 * - `chart-left-share`, `chart-right-share`: successful calls per replica, stacked, in %. Above
 *   100 % one lane per replica shows when the client's pool had it ejected (`rX ejected`).
 * - `chart-left-latency`, `chart-right-latency`: p50, p99 and max per bucket, log scale.
 * - `chart-left-failures`, `chart-right-failures`: failed calls per bucket.
 *
 * A column whose client the summary lacks shows a note instead of its charts. Each container's
 * `data-client` names the client it shows. Every chart shades the faults (a `markArea` on its
 * first series); each bucket is drawn at its middle, in seconds since traffic started, and both
 * columns share their axes' ranges. `window.__reportReady` is true once every chart has rendered
 * (their `finished` events), false again while the left column redraws after a pick.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ClientSummary, DemoSummary, FaultOutcome } from './model.js';

const baselineName = 'baseline-grpc-js';
const defaultLeft = 'detour-grpc-js';

/** The whole page; the same summary gives the same bytes. */
export function renderReport(summary: DemoSummary): string {
  const detourClients = summary.clients.filter((client) => client.detour);
  const left =
    detourClients.find((client) => client.name === defaultLeft) ?? detourClients[0] ?? null;
  const right = summary.clients.find((client) => client.name === baselineName) ?? null;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>detour demo · ${escapeHtml(formatStartedAt(summary.startedAt))}</title>
<style>${styles}</style>
</head>
<body>
<header>
<h1>detour demo</h1>
<p class="meta">${meta(summary)}</p>
${verdict(summary)}
<h2>Fault schedule</h2>
${faultSchedule(summary)}
</header>
<main>
<section>
<h2>Clients</h2>
${clientsTable(summary)}
</section>
<section>
<h2>Faults, client by client</h2>
${faultsTable(summary)}
<p class="note">Failed: the client’s calls that started during the fault and failed.
Ejected: from the fault’s start until the client’s pool ejected the replica.
Healthy: from the fault’s end until the pool had it healthy again (0 ms when it was never taken out).
Back: from the fault’s end until the replica answered one of the client’s calls again.
— : did not happen, or does not apply (the baseline has no pool).</p>
</section>
<section>
<h2>detour and the baseline side by side</h2>
<div class="timeline">
${leftColumn(detourClients, left)}
${rightColumn(right)}
</div>
</section>
</main>
<footer>schema ${escapeHtml(summary.schema)} · Node ${escapeHtml(summary.machine.node)} on ${escapeHtml(summary.machine.platform)}, ${summary.machine.cpus} CPUs · charts by Apache ECharts</footer>
<script>${echartsSource()}</script>
<script type="application/json" id="summary">${embedJson(summary)}</script>
<script>${chartScript}</script>
</body>
</html>
`;
}

/** Writes {@link renderReport}'s page to `file`. */
export async function writeReport(summary: DemoSummary, file: string): Promise<void> {
  await writeFile(file, renderReport(summary));
}

let echarts: string | undefined;

/** ECharts' minified browser bundle, read once, on the first report. */
function echartsSource(): string {
  echarts ??= readFileSync(
    createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
    'utf8',
  ).replaceAll('</script', '<\\/script');
  return echarts;
}

/** JSON that cannot end the `<script>` element it sits in. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** `1.8 s`, `420 ms`, `3.2 ms`; `—` for null. */
function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms >= 1_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms >= 10 || ms === 0) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1_000).toFixed(1))} s`;
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `2026-03-02 09:30:00 UTC`; the string as it is when it is not a date. */
function formatStartedAt(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function meta(summary: DemoSummary): string {
  const { options } = summary;
  const parts = [
    `started ${formatStartedAt(summary.startedAt)}`,
    `${formatSeconds(summary.durationMs)} of traffic`,
    `${summary.replicas.length} replicas (${summary.replicas.join(', ')})`,
    `${formatCount(options.rate)} calls/s per client`,
    `deadline ${formatMs(options.deadlineMs)}`,
    `${formatSeconds(summary.bucketMs)} buckets`,
  ];
  if (!options.chaos) parts.push('no faults played');
  return parts.map(escapeHtml).join(' · ');
}

function verdict(summary: DemoSummary): string {
  if (summary.ok) return '<p class="verdict ok">✓ no call through detour failed</p>';
  const failed = summary.clients.filter((client) => client.detour && client.failures > 0);
  const total = failed.reduce((sum, client) => sum + client.failures, 0);
  const which = failed
    .map((client) => `${client.label}: ${formatCount(client.failures)}`)
    .join(', ');
  const calls = total === 1 ? 'call' : 'calls';
  return `<p class="verdict failed">✗ ${formatCount(total)} ${calls} through detour failed${
    which === '' ? '' : ` (${escapeHtml(which)})`
  }</p>`;
}

function faultSchedule(summary: DemoSummary): string {
  if (summary.faults.length === 0) return '<p class="note">No fault was played.</p>';
  const items = summary.faults.map((fault) => {
    const when = `${formatSeconds(fault.startMs)} – ${formatSeconds(fault.endMs)}`;
    const what = escapeHtml(`${fault.kind} on ${fault.replica}`);
    return `<li><span class="when">${when}</span> <strong>${escapeHtml(fault.label)}</strong> <span class="kind">${what}</span></li>`;
  });
  return `<ol class="faults">${items.join('')}</ol>`;
}

/** A table cell of `html` (already escaped). */
function cell(tag: 'td' | 'th', html: string, attributes = ''): string {
  return `<${tag}${attributes === '' ? '' : ` ${attributes}`}>${html}</${tag}>`;
}

const num = 'class="num"';

function countSpan(n: number): string {
  return `<span class="${n > 0 ? 'bad' : 'good'}">${formatCount(n)}</span>`;
}

function clientsTable(summary: DemoSummary): string {
  const head = [
    cell('th', 'client'),
    cell('th', 'transport'),
    cell('th', 'calls', num),
    cell('th', 'failures'),
    cell('th', 'attempts/call', num),
    cell('th', 'p50', num),
    cell('th', 'p99', num),
    cell('th', 'max', num),
  ];
  const rows = summary.clients.map((client) => {
    const codes = Object.entries(client.failuresByCode)
      .filter(([, n]) => n > 0)
      .sort(([, a], [, b]) => b - a)
      .map(([code, n]) => `${code} ${formatCount(n)}`)
      .join(' · ');
    const failures =
      countSpan(client.failures) +
      (codes === '' ? '' : ` <span class="codes">${escapeHtml(codes)}</span>`);
    const attempts = client.attemptsPerCall;
    const cells = [
      cell(
        'td',
        `<span class="label">${escapeHtml(client.label)}</span> <code>${escapeHtml(client.name)}</code>`,
        'class="client"',
      ),
      cell('td', escapeHtml(client.transport)),
      cell('td', formatCount(client.calls), num),
      cell('td', failures),
      cell('td', attempts === null ? '—' : String(Number(attempts.toFixed(3))), num),
      cell('td', formatMs(client.p50Ms), num),
      cell('td', formatMs(client.p99Ms), num),
      cell('td', formatMs(client.maxMs), num),
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table class="clients"><thead><tr>${head.join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** One row per fault; for each client, a group of four columns. */
function faultsTable(summary: DemoSummary): string {
  if (summary.faults.length === 0 || summary.clients.length === 0) {
    return '<p class="note">No fault, or no client, to show.</p>';
  }
  const groups = summary.clients.map((client) =>
    cell(
      'th',
      `${escapeHtml(client.label)}<br><code>${escapeHtml(client.name)}</code>`,
      'colspan="4" class="group"',
    ),
  );
  const subheads = summary.clients.map(() =>
    [
      cell('th', 'failed', 'class="num first"'),
      cell('th', 'ejected', num),
      cell('th', 'healthy', num),
      cell('th', 'back', num),
    ].join(''),
  );
  const rows = summary.faults.map((fault, i) => {
    const when = `${formatSeconds(fault.startMs)} – ${formatSeconds(fault.endMs)}`;
    const name = cell(
      'td',
      `<strong>${escapeHtml(fault.label)}</strong><br><span class="when">${when}</span>`,
    );
    const outcomes = summary.clients.map((client) => outcomeCells(client.faults[i]));
    return `<tr>${name}${outcomes.join('')}</tr>`;
  });
  const head = `<tr>${cell('th', 'fault', 'rowspan="2"')}${groups.join('')}</tr><tr>${subheads.join('')}</tr>`;
  return `<table class="outcomes"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function outcomeCells(outcome: FaultOutcome | undefined): string {
  const first = 'class="num first"';
  if (outcome === undefined) return cell('td', '—', first) + cell('td', '', num).repeat(3);
  return [
    cell('td', countSpan(outcome.failures), first),
    cell('td', formatMs(outcome.ejectMs), num),
    cell('td', formatMs(outcome.restoreMs), num),
    cell('td', formatMs(outcome.backMs), num),
  ].join('');
}

const chartRows = [
  ['share', 'Traffic share per replica'],
  ['latency', 'Latency per bucket (log scale)'],
  ['failures', 'Failed calls per bucket'],
] as const;

function charts(side: 'left' | 'right', client: ClientSummary): string {
  const name = escapeHtml(client.name);
  const chart = ([row, title]: (typeof chartRows)[number]): string =>
    `<h4>${title}</h4><div id="chart-${side}-${row}" class="chart chart-${row}" data-client="${name}"></div>`;
  return chartRows.map(chart).join('\n');
}

function leftColumn(detourClients: readonly ClientSummary[], left: ClientSummary | null): string {
  if (left === null) {
    return '<div class="column" id="column-left"><h3>detour</h3><p class="missing">This summary has no detour client.</p></div>';
  }
  const button = (client: ClientSummary): string => {
    const pressed = String(client === left);
    return `<button type="button" data-client="${escapeHtml(client.name)}" aria-pressed="${pressed}">${escapeHtml(client.label)}</button>`;
  };
  const buttons = detourClients.map(button).join('');
  return `<div class="column" id="column-left">
<h3>detour <span class="picker" id="left-picker" role="group" aria-label="detour client">${buttons}</span></h3>
<p class="stats" id="left-stats"></p>
${charts('left', left)}
</div>`;
}

function rightColumn(right: ClientSummary | null): string {
  if (right === null) {
    return `<div class="column" id="column-right"><h3>baseline</h3><p class="missing">This summary has no baseline client (<code>${baselineName}</code>).</p></div>`;
  }
  return `<div class="column" id="column-right">
<h3>baseline <span class="fixed">${escapeHtml(right.label)}</span></h3>
<p class="stats" id="right-stats"></p>
${charts('right', right)}
</div>`;
}

const styles = `
:root { color-scheme: light; --fg: #1f2328; --muted: #656d76; --line: #d8dee4; --soft: #f6f8fa;
  --good: #1a7f37; --bad: #cf222e; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 32px; color: var(--fg); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 0 0 4px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; min-height: 30px; }
h4 { font-size: 13px; font-weight: 600; color: var(--muted); margin: 14px 0 0; }
header h2 { font-size: 15px; margin: 16px 0 6px; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
.meta { color: var(--muted); margin: 0 0 10px; }
.verdict { display: inline-block; margin: 0; padding: 6px 12px; border-radius: 6px; font-weight: 600; font-size: 15px; }
.verdict.ok { color: var(--good); background: #dafbe1; }
.verdict.failed { color: var(--bad); background: #ffebe9; }
ol.faults { margin: 0; padding-left: 22px; }
ol.faults li { margin: 2px 0; }
.when { font-variant-numeric: tabular-nums; color: var(--muted); }
.kind { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.outcomes { font-size: 13px; }
table.outcomes th, table.outcomes td { padding: 4px 8px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; font-size: 12px; color: var(--muted); }
th.group { text-align: center; color: var(--fg); border-left: 1px solid var(--line); }
.num { text-align: right; white-space: nowrap; }
.first { border-left: 1px solid var(--line); }
td.client .label { font-weight: 600; }
.good { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.codes { color: var(--muted); font-size: 12px; margin-left: 4px; }
.note { color: var(--muted); font-size: 12px; max-width: 1000px; }
.timeline { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 28px; }
.column { min-width: 0; }
.stats { color: var(--muted); margin: 0; min-height: 1.45em; }
.fixed { font-weight: 600; }
.picker { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.picker button { font: inherit; font-size: 13px; padding: 3px 10px; border: 0; border-left: 1px solid var(--line);
  background: #fff; color: var(--fg); cursor: pointer; }
.picker button:first-child { border-left: 0; }
.picker button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.chart { width: 100%; height: 250px; }
.chart-share { height: 290px; }
.chart-failures { height: 200px; }
.missing { color: var(--muted); padding: 24px; border: 1px dashed var(--line); border-radius: 6px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
`;

/**
 * Draws the charts from the embedded summary (plain browser JavaScript, run once on load). Kept
 * as text rather than a serialized function: a transpiler's helpers would not exist in the page.
 */
const chartScript = String.raw`
(() => {
  'use strict';
  const summary = JSON.parse(document.getElementById('summary').textContent);
  const replicas = summary.replicas;
  const replicaColors = ['#4e79a7', '#f28e2b', '#76b7b2', '#59a14f', '#b07aa1', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'];
  const colorOf = (replica) => replicaColors[Math.max(0, replicas.indexOf(replica)) % replicaColors.length];
  const grid = { left: 58, right: 64, top: 46, bottom: 28 };
  const font = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const xMax = summary.durationMs / 1000;
  const spanMs = Math.max(1, summary.durationMs);
  const xStep = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].find((s) => xMax / s <= 12) || 3600;
  // Above 100 % the share chart keeps one lane per replica for its ejections.
  const laneSpan = 25;
  const lane = laneSpan / Math.max(1, replicas.length);
  const text = { color: '#656d76', fontSize: 11 };

  const fmtMs = (ms) => {
    if (ms === null || ms === undefined) return '—';
    if (ms >= 1000) return (ms / 1000).toFixed(1) + ' s';
    if (ms >= 10 || ms === 0) return Math.round(ms) + ' ms';
    return ms.toFixed(1) + ' ms';
  };
  const niceCeil = (v) => {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
  };
  const mid = (bucket) => (bucket.t + summary.bucketMs / 2) / 1000;
  const seconds = (ms) => String(Math.round(ms) / 1000);
  const bucketName = (x) => {
    const start = x * 1000 - summary.bucketMs / 2;
    return seconds(start) + '–' + seconds(start + summary.bucketMs) + ' s';
  };

  // Both columns share their y ranges, over every client, so a pick does not rescale them.
  let latencyLow = Infinity;
  let latencyHigh = 0;
  let failuresHigh = 1;
  for (const client of summary.clients) {
    for (const b of client.timeline) {
      for (const v of [b.p50Ms, b.p99Ms, b.maxMs]) {
        if (typeof v === 'number' && v > 0) {
          latencyLow = Math.min(latencyLow, v);
          latencyHigh = Math.max(latencyHigh, v);
        }
      }
      failuresHigh = Math.max(failuresHigh, b.failures);
    }
  }
  const latencyMin = latencyHigh > 0 ? Math.pow(10, Math.floor(Math.log10(latencyLow))) : 0.1;
  const latencyMax = latencyHigh > 0 ? niceCeil(latencyHigh * 1.05) : 1000;
  const failuresMax = niceCeil(failuresHigh);

  const xAxis = () => ({
    type: 'value', min: 0, max: xMax, interval: xStep,
    axisLabel: Object.assign({ formatter: (v) => v + ' s', hideOverlap: true }, text),
    axisLine: { lineStyle: { color: '#afb8c1' } },
    splitLine: { show: true, lineStyle: { color: '#f0f2f4' } },
    // Names the tooltip's bucket: "24–25 s".
    axisPointer: { label: { formatter: (p) => bucketName(p.value) } },
  });
  const yAxis = (extra) => Object.assign({
    axisLabel: text,
    axisLine: { show: true, lineStyle: { color: '#afb8c1' } },
    splitLine: { lineStyle: { color: '#eaeef2' } },
  }, extra);
  const legend = (names) => ({
    data: names, orient: 'vertical', right: 4, top: 'middle', icon: 'roundRect',
    itemWidth: 14, itemHeight: 8, textStyle: { color: '#1f2328', fontSize: 12 },
  });
  const tooltip = (valueFormatter) => ({
    trigger: 'axis', valueFormatter,
    axisPointer: { type: 'line', lineStyle: { color: '#8c959f' } },
    textStyle: { fontSize: 12 },
  });

  // A label may be as wide as its band, but never so narrow that a word has to break.
  const measure = document.createElement('canvas').getContext('2d');
  const labelWidth = (label, fontSize, bandPx) => {
    measure.font = fontSize + 'px ' + font;
    const widest = Math.max(...label.split(/\s+/).map((word) => measure.measureText(word).width));
    return Math.ceil(Math.max(bandPx - 4, widest + 2));
  };
  const gridWidth = (chart) => Math.max(50, chart.getWidth() - grid.left - grid.right);
  const spanPx = (chart, fromMs, toMs) => ((toMs - fromMs) / spanMs) * gridWidth(chart);

  // The faults as shaded bands, labelled above the plot, drawn over the series.
  const faultAreas = (chart) => summary.faults.map((f) => [
    {
      name: f.label, xAxis: f.startMs / 1000,
      itemStyle: { color: 'rgba(87, 96, 106, 0.13)', borderColor: 'rgba(87, 96, 106, 0.45)', borderWidth: 1, borderType: 'dashed' },
      label: {
        show: true, position: 'top', distance: 3, formatter: () => f.label, color: '#3d444d',
        fontSize: 11, lineHeight: 13, width: labelWidth(f.label, 11, spanPx(chart, f.startMs, f.endMs)), overflow: 'break',
      },
    },
    { xAxis: f.endMs / 1000 },
  ]);
  const markArea = (data) => ({ silent: true, z: 5, data });

  // When each replica was ejected: from a change to 'ejected' until the next change away from it.
  const ejections = (client) => {
    const open = new Map();
    const out = [];
    const changes = client.stateChanges.slice().sort((a, b) => a.atMs - b.atMs);
    for (const c of changes) {
      if (c.to === 'ejected') {
        if (!open.has(c.replica)) open.set(c.replica, c.atMs);
      } else if (open.has(c.replica)) {
        out.push({ replica: c.replica, from: open.get(c.replica), to: c.atMs });
        open.delete(c.replica);
      }
    }
    for (const [replica, from] of open) out.push({ replica, from, to: summary.durationMs });
    return out
      .filter((e) => e.from < summary.durationMs)
      .map((e) => Object.assign(e, { to: Math.min(e.to, summary.durationMs) }));
  };

  const shareOption = (chart, client) => {
    const lanes = ejections(client).map((e) => {
      const bottom = 100 + Math.max(0, replicas.indexOf(e.replica)) * lane;
      const width = spanPx(chart, e.from, e.to);
      return [
        {
          name: e.replica + ' ejected', xAxis: e.from / 1000, yAxis: bottom + lane * 0.1,
          itemStyle: { color: colorOf(e.replica), opacity: 1 },
          label: {
            show: width >= 24, position: 'inside', formatter: () => e.replica + ' ejected', color: '#fff',
            fontSize: 10, fontWeight: 600, width: Math.max(10, width - 4), overflow: 'truncate',
            textBorderColor: 'rgba(0, 0, 0, 0.35)', textBorderWidth: 2,
          },
        },
        { xAxis: e.to / 1000, yAxis: bottom + lane * 0.9 },
      ];
    });
    const laneNote = lanes.length > 0 ? '' : client.detour ? 'no replica ejected' : 'no pool: nothing is ejected';
    const strip = [
      {
        name: 'ejections', xAxis: 0, yAxis: 100, itemStyle: { color: '#f6f8fa' },
        label: { show: laneNote !== '', position: 'inside', formatter: () => laneNote, color: '#8c959f', fontSize: 11 },
      },
      { xAxis: xMax, yAxis: 100 + laneSpan },
    ];
    const series = replicas.map((r, i) => ({
      name: r, type: 'line', stack: 'share', symbol: 'none', color: colorOf(r),
      lineStyle: { width: 0 }, areaStyle: { opacity: 0.9 }, emphasis: { disabled: true },
      data: client.timeline.map((b) => {
        const ok = b.calls - b.failures;
        return [mid(b), ok > 0 ? Math.round(((b.byReplica[r] || 0) / ok) * 1000) / 10 : 0];
      }),
      markArea: i === 0 ? markArea([strip].concat(faultAreas(chart), lanes)) : undefined,
    }));
    const plotHeight = chart.getHeight() - grid.top - grid.bottom;
    return {
      animation: false, textStyle: { fontFamily: font }, grid, legend: legend(replicas),
      graphic: [{
        type: 'text', right: chart.getWidth() - grid.left + 8, top: grid.top + (plotHeight * laneSpan) / (100 + laneSpan) / 2 - 7,
        silent: true, style: { text: 'ejected', fill: '#656d76', font: '11px ' + font },
      }], tooltip: tooltip((v) => v + ' %'), xAxis: xAxis(),
      yAxis: yAxis({
        type: 'value', min: 0, max: 100 + laneSpan, interval: 25,
        axisLabel: Object.assign({ formatter: (v) => (v <= 100 ? v + ' %' : '') }, text),
      }),
      series,
    };
  };

  const latencyOption = (chart, client) => {
    const line = (name, key, color, style) => ({
      name, type: 'line', symbol: 'none', color, connectNulls: false,
      lineStyle: Object.assign({ width: 1.6 }, style), emphasis: { disabled: true },
      data: client.timeline.map((b) => [mid(b), typeof b[key] === 'number' && b[key] > 0 ? b[key] : null]),
    });
    const series = [
      line('p50', 'p50Ms', '#0969da', { width: 2 }),
      line('p99', 'p99Ms', '#d4740f', {}),
      line('max', 'maxMs', '#8c959f', { width: 1, type: 'dashed' }),
    ];
    series[0].markArea = markArea(faultAreas(chart));
    return {
      animation: false, textStyle: { fontFamily: font }, grid, legend: legend(['p50', 'p99', 'max']), tooltip: tooltip(fmtMs), xAxis: xAxis(),
      yAxis: yAxis({
        type: 'log', logBase: 10, min: latencyMin, max: latencyMax,
        axisLabel: Object.assign({ formatter: (v) => (v >= 1000 ? v / 1000 + ' s' : v + ' ms'), showMaxLabel: false }, text),
      }),
      series,
    };
  };

  const failuresOption = (chart, client) => {
    const failed = client.timeline.reduce((sum, b) => sum + b.failures, 0);
    const bucketPx = (summary.bucketMs / spanMs) * gridWidth(chart);
    return {
      animation: false, textStyle: { fontFamily: font }, grid, tooltip: tooltip((v) => String(v)), xAxis: xAxis(),
      yAxis: yAxis({ type: 'value', min: 0, max: failuresMax, minInterval: 1 }),
      graphic: failed > 0 ? [] : [{
        type: 'text', left: grid.left + gridWidth(chart) / 2, top: 'middle', silent: true, z: 10,
        style: { text: 'no failed call', fill: '#1a7f37', font: '600 13px ' + font, align: 'center', backgroundColor: '#fff', padding: [3, 8] },
      }],
      series: [{
        name: 'failed calls', type: 'bar', color: '#cf222e', barWidth: Math.max(1, bucketPx * 0.7),
        emphasis: { disabled: true },
        data: client.timeline.map((b) => [mid(b), b.failures]),
        markArea: markArea(faultAreas(chart)),
      }],
    };
  };

  // Rendering, and window.__reportReady once every chart drawn so far has finished.
  let pending = 0;
  window.__reportReady = false;
  const render = (chart, option) => {
    pending += 1;
    window.__reportReady = false;
    chart.off('finished');
    chart.on('finished', () => {
      chart.off('finished');
      pending -= 1;
      if (pending === 0) window.__reportReady = true;
    });
    chart.setOption(option, { notMerge: true });
  };

  const byName = new Map(summary.clients.map((c) => [c.name, c]));
  const builders = { share: shareOption, latency: latencyOption, failures: failuresOption };
  const instances = new Map();
  const stats = (client) =>
    client.calls.toLocaleString('en-US') + ' calls · ' + client.failures.toLocaleString('en-US') + ' failed · p50 ' +
    fmtMs(client.p50Ms) + ' · p99 ' + fmtMs(client.p99Ms) + ' · max ' + fmtMs(client.maxMs) +
    (client.attemptsPerCall === null ? '' : ' · ' + client.attemptsPerCall + ' attempts/call');

  const draw = (side, name) => {
    const client = byName.get(name);
    if (!client) return;
    const statsEl = document.getElementById(side + '-stats');
    if (statsEl) statsEl.textContent = stats(client);
    for (const row of Object.keys(builders)) {
      const el = document.getElementById('chart-' + side + '-' + row);
      if (!el) continue;
      el.setAttribute('data-client', name);
      let chart = instances.get(el);
      if (!chart) {
        chart = echarts.init(el, null, { renderer: 'canvas' });
        instances.set(el, chart);
      }
      render(chart, builders[row](chart, client));
    }
  };

  const current = {};
  for (const side of ['left', 'right']) {
    const el = document.getElementById('chart-' + side + '-share');
    if (el) {
      current[side] = el.getAttribute('data-client');
      draw(side, current[side]);
    }
  }
  if (pending === 0) window.__reportReady = true;

  const picker = document.getElementById('left-picker');
  if (picker) {
    picker.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-client]');
      if (!button || button.getAttribute('aria-pressed') === 'true') return;
      for (const b of picker.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
      current.left = button.getAttribute('data-client');
      draw('left', current.left);
    });
  }

  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    for (const chart of instances.values()) chart.resize();
    for (const side of Object.keys(current)) draw(side, current[side]);
  });
})();
`;
