/**
 * The `peers` section of docs/benchmarks.md: what `pnpm bench` measured, the goals and whether
 * detour met them, one table per scenario (medians across runs) and the timeline charts (first
 * run), written beside the docs as SVG.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from '../core/markdown-section.js';
import { scenarios } from '../harness/types.js';
import type { BenchClientName, BenchResults, Scenario, Transport } from '../harness/types.js';
import { renderTimelineSvg } from './charts.js';
import {
  detourClients,
  evaluateGoals,
  formatAttempts,
  formatCount,
  formatGoalValue,
  formatMs,
  formatPercent,
  medianRows,
  transportOf,
} from './goals.js';
import type { GoalResult, MedianRow } from './goals.js';

/** A chart of one scenario for one transport's clients. */
export interface ChartLink {
  readonly scenario: Scenario;
  readonly transport: Transport;
  /** The SVG's path relative to the docs file, with `/`: `bench/freeze-grpc.svg`. */
  readonly path: string;
}

export interface PeersSectionOptions {
  /**
   * Explanations printed under a scenario's table, e.g. why a goal was missed and the issue
   * tracking it (markdown). Every missed goal without one is listed as unexplained.
   */
  readonly notes?: Partial<Record<Scenario, string>>;
}

export interface BenchmarkDocsOptions extends PeersSectionOptions {
  /** Defaults to the repository's `docs/benchmarks.md`. */
  readonly docsFile?: string;
  /** Where the SVGs go; defaults to the repository's `docs/bench`. */
  readonly chartsDir?: string;
}

export interface WrittenDocs {
  readonly docsFile: string;
  /** The SVG files written, absolute. */
  readonly charts: readonly string[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The scenarios drawn as timelines; `overhead` is a closed loop with nothing happening in it. */
const chartedScenarios: readonly Scenario[] = scenarios.filter((s) => s !== 'overhead');

const transports: readonly Transport[] = ['grpc', 'http'];
const transportLabel: Record<Transport, string> = { grpc: 'gRPC', http: 'HTTP' };

/**
 * Writes the charts (`<chartsDir>/<scenario>-<transport>.svg`, from the first run's timelines)
 * and replaces the `peers` section of the docs file, keeping its other sections.
 */
export async function writeBenchmarkDocs(
  runs: readonly BenchResults[],
  options: BenchmarkDocsOptions = {},
): Promise<WrittenDocs> {
  const first = firstRun(runs);
  const docsFile = resolve(options.docsFile ?? join(repoRoot, 'docs/benchmarks.md'));
  const chartsDir = resolve(options.chartsDir ?? join(repoRoot, 'docs/bench'));
  await mkdir(chartsDir, { recursive: true });
  const links: ChartLink[] = [];
  const written: string[] = [];
  for (const scenario of chartedScenarios) {
    for (const transport of transports) {
      const shown = first.timelines.filter(
        (t) => t.scenario === scenario && transportOf(t.client) === transport,
      );
      if (shown.length === 0) continue;
      const file = join(chartsDir, `${scenario}-${transport}.svg`);
      const svg = renderTimelineSvg(shown, scenario, transport, {
        deadlineMs: first.parameters.deadlineMs,
      });
      await writeFile(file, `${svg}\n`);
      written.push(file);
      const path = relative(dirname(docsFile), file).split(sep).join('/');
      links.push({ scenario, transport, path });
    }
  }
  writeSection(docsFile, 'peers', renderPeersSection(runs, links, options));
  return { docsFile, charts: written };
}

function firstRun(runs: readonly BenchResults[]): BenchResults {
  const first = runs[0];
  if (!first) throw new Error('No results to report: give at least one BenchResults.');
  return first;
}

/** The markdown of the `peers` section (without its markers). */
export function renderPeersSection(
  runs: readonly BenchResults[],
  charts: readonly ChartLink[],
  options: PeersSectionOptions = {},
): string {
  const first = firstRun(runs);
  const notes = options.notes ?? {};
  const rows = medianRows(runs);
  const ran = new Set(rows.map((row) => row.scenario));
  const goals = evaluateGoals(runs).filter((goal) => ran.has(goal.scenario));
  const lines: string[] = [
    '## Peers: crash, freeze, gray failure, outage, recovery (`pnpm bench`)',
    '',
    runLine(runs),
    '',
    ...intro(first),
    '',
    '### Goals',
    '',
    ...goalsTable(goals, notes),
  ];
  for (const scenario of scenarios) {
    if (!ran.has(scenario)) continue;
    const text = scenarioText(scenario, faultLength(first, scenario));
    lines.push('', `### \`${scenario}\``, '', text, '');
    lines.push(...scenarioTable(scenario, rows, runs.length));
    const note = notes[scenario];
    if (note !== undefined) lines.push('', `**Note.** ${note.trim()}`);
    for (const chart of charts.filter((c) => c.scenario === scenario)) {
      const alt = `${scenario}: p99 latency over time, ${transportLabel[chart.transport]} clients`;
      lines.push('', `![${alt}](${chart.path})`);
    }
  }
  return `${lines.join('\n')}\n`;
}

// --- The run and what is measured ----------------------------------------------------------

function runLine(runs: readonly BenchResults[]): string {
  const first = firstRun(runs);
  const { machine, parameters } = first;
  const dates = [...new Set(runs.map((run) => run.startedAt.slice(0, 10)))].sort();
  const when =
    dates.length > 1 ? `from ${dates[0]} to ${dates[dates.length - 1]}` : (dates[0] ?? '?');
  const packages = Object.entries(machine.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const durations = durationText(parameters.durationsMs, parameters.scenarios);
  const median =
    runs.length === 1
      ? 'One run: the numbers are that run’s.'
      : `${runs.length} runs; every number is the median across them (each run is one results file).`;
  return [
    `Run ${when} on ${machine.cores} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}${runs.length > 1 ? ' (the first run’s machine)' : ''}.`,
    `Packages: ${packages}.`,
    `Open loop at ${formatCount(parameters.rate)} calls/s (\`overhead\`: closed loop, ${parameters.concurrency} calls in flight), deadline ${formatCount(parameters.deadlineMs)} ms, ${parameters.quick ? 'quick run (`--quick`)' : 'full run'}, ${durations}.`,
    `${median} The charts show the first run (${first.startedAt}).`,
  ].join(' ');
}

function durationText(
  durationsMs: Readonly<Record<Scenario, number>>,
  ran: readonly Scenario[],
): string {
  const values = ran.map((s) => durationsMs[s]);
  const seconds = (ms: number): string => `${formatCount(Math.round(ms / 100) / 10)} s`;
  if (values.length > 0 && values.every((v) => v === values[0])) {
    return `each client runs ${seconds(values[0]!)} per scenario`;
  }
  return `each client runs per scenario: ${ran.map((s) => `${s} ${seconds(durationsMs[s])}`).join(', ')}`;
}

const clientText: Record<BenchClientName, string> = {
  'grpc-js-round-robin': '`round_robin`, no retries: the plain baseline.',
  'grpc-js-builtin-best':
    '`round_robin` + `outlier_detection` + `retryPolicy` + `retryThrottling` + keepalive: the best grpc-js does on its own.',
  'nice-grpc-retry': 'nice-grpc with its retry middleware, on grpc-js `round_robin`.',
  'detour-grpc-js': 'detour’s grpc-js adapter, with the settings of its README.',
  'detour-nice-grpc': 'detour’s nice-grpc adapter, with the settings of its README.',
  'fetch-naive': 'plain `fetch`, looping over the replicas’ base URLs.',
  'undici-balanced-retry': 'undici `BalancedPool` with the retry interceptor.',
  nginx:
    'Debian’s nginx as a reverse proxy in front of the replicas (`max_fails`, `proxy_next_upstream`).',
  'detour-fetch': 'detour’s fetch adapter, with the settings of its README.',
};

/** What each scenario does; `lasting` is its fault's length as run (`5 s` in a full run). */
function scenarioText(scenario: Scenario, lasting: string): string {
  switch (scenario) {
    case 'overhead':
      return (
        'Closed loop, all replicas healthy: what each client costs. The clients take turns, in ' +
        'slices (5 of 1 s in full runs), each slice running every client once in a rotated ' +
        'order, so that a slow stretch of the shared machine hits them all alike.'
      );
    case 'steady':
      return 'Open loop at the set rate, all replicas healthy: the baseline of `gray`.';
    case 'crash':
      return 'One of the 3 replicas is killed (SIGKILL) and stays down.';
    case 'recovery':
      return 'A killed replica restarts: how long until it has its share of calls again (recoverMs).';
    case 'freeze':
      return `One replica is stopped (SIGSTOP) for ${lasting}, then continued (SIGCONT).`;
    case 'gray':
      return 'One replica answers 50 ms late.';
    case 'errors':
      return 'One replica answers `UNAVAILABLE` (gRPC) or 503 (HTTP) to half of its calls.';
    case 'outage':
      return `All three replicas fail for ${lasting}.`;
    case 'flapping':
      return 'One replica goes down and up every second.';
  }
}

/** The fault's length in the first run's timelines of the scenario, `5 s` when there is none. */
function faultLength(first: BenchResults, scenario: Scenario): string {
  const fault = first.timelines.find((t) => t.scenario === scenario && t.fault)?.fault;
  const ms = fault ? fault.endMs - fault.startMs : 5_000;
  return `${formatCount(Math.round(ms / 100) / 10)} s`;
}

function intro(first: BenchResults): string[] {
  const clients = first.parameters.clients;
  const listed = Object.keys(clientText) as BenchClientName[];
  return [
    `Every client calls the same 3 greeter replicas (gRPC \`SayHello\`, HTTP \`GET /hello\`) through the scenarios below, one client at a time. Clients${clients.length < listed.length ? ` (this run: ${clients.join(', ')})` : ''}:`,
    '',
    ...listed.map((client) => `- **${client}**: ${clientText[client]}`),
    '',
    'Scenarios, in run order:',
    '',
    ...scenarios.map(
      (scenario) => `- \`${scenario}\`: ${scenarioText(scenario, faultLength(first, scenario))}`,
    ),
    '',
    'Columns: **attempts/call** is requests the replicas received ÷ calls (retries, hedges and proxy retries included; a refused connection is no request); **CPU µs/call** is the bench process’s CPU time per call. ' +
      '**ejectMs** is the time from the fault until the faulty replica stopped hurting calls: the start of the last call started during the fault that failed or was slower than the client’s p99 before the fault + 20 ms (0 if none was). ' +
      '**recoverMs** is the time from the heal until the healed replica answered at least 2/3 of its fair share of the successful calls over a 1 s window (after `outage`: until a 1 s window had at least 99 % successes); “never”: not before the run ended. ' +
      'Latencies are ms, failed calls included; `—`: does not apply. ' +
      'The results files and all their fields are described in [bench/README.md](../bench/README.md#results).',
  ];
}

// --- Goals ------------------------------------------------------------------------------------

const mark = (met: boolean | null): string => (met === null ? '—' : met ? '✅' : '❌');

function goalsTable(goals: readonly GoalResult[], notes: PeersSectionOptions['notes'] = {}) {
  const lines = [
    'Each against the medians across runs; ✅ met, ❌ missed, — no data.',
    '',
    '| scenario | goal | client | value | target | met | detail |',
    '| --- | --- | --- | ---: | --- | :---: | --- |',
    ...goals.map(
      (g) =>
        `| ${g.scenario} | ${cell(g.goal)} | ${g.client} | ${formatGoalValue(g)} | ${cell(g.target)} | ${mark(g.met)} | ${cell(g.detail)} |`,
    ),
  ];
  const missed = goals.filter((g) => g.met === false);
  if (missed.length > 0) {
    lines.push('');
    for (const g of missed) {
      const why =
        notes[g.scenario] === undefined
          ? 'not explained yet'
          : `see the note under [\`${g.scenario}\`](#${g.scenario})`;
      lines.push(
        `- missed: ${g.scenario}, ${g.client}, ${g.goal}: ${formatGoalValue(g)} (target ${g.target}) — ${why}.`,
      );
    }
  }
  return lines;
}

/** Text made safe for a table cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

// --- One table per scenario ------------------------------------------------------------------

function scenarioTable(scenario: Scenario, rows: readonly MedianRow[], runs: number): string[] {
  const dash = '—';
  const num = (value: number | null, format: (v: number) => string): string =>
    value === null ? dash : format(value);
  const detour = new Set<string>(detourClients);
  return [
    '| client | transport | calls | failed | success % | attempts/call | throughput/s | p50 ms | p99 ms | p99.9 ms | max ms | CPU µs/call | ejectMs | recoverMs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows
      .filter((row) => row.scenario === scenario)
      .map((row) => {
        const name = detour.has(row.client) ? `**${row.client}**` : row.client;
        const partial = row.runs < runs ? ` (${row.runs} of ${runs} runs)` : '';
        const recover =
          row.recoverMs === null && scenario === 'recovery'
            ? 'never'
            : num(row.recoverMs, (v) => formatCount(Math.round(v)));
        return [
          `${name}${partial}`,
          transportLabel[row.transport],
          num(row.calls, (v) => formatCount(Math.round(v))),
          num(row.failed, formatCount),
          num(row.success, (v) => formatPercent(v).replace(' %', '')),
          num(row.attempts, formatAttempts),
          num(row.throughput, (v) => formatCount(Math.round(v))),
          num(row.p50Ms, formatMs),
          num(row.p99Ms, formatMs),
          num(row.p999Ms, formatMs),
          num(row.maxMs, formatMs),
          num(row.cpuUsPerCall, (v) => (v < 10 ? v.toFixed(1) : formatCount(Math.round(v)))),
          num(row.ejectMs, (v) => formatCount(Math.round(v))),
          recover,
        ];
      })
      .map((cells) => `| ${cells.join(' | ')} |`),
  ];
}
