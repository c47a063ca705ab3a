/**
 * The goals the peer benchmark (`pnpm bench`) holds detour to, checked against the medians over
 * runs (a run is one `BenchResults` file), and the numbers as the docs print them.
 */
import { grpcClients, httpClients, scenarios } from '../harness/types.js';
import type {
  BenchClientName,
  BenchResults,
  ResultRow,
  Scenario,
  Transport,
} from '../harness/types.js';

/** The numeric fields of a `ResultRow`, each a median in a `MedianRow`. */
export const metricNames = [
  'calls',
  'failed',
  'attempts',
  'throughput',
  'p50Ms',
  'p99Ms',
  'p999Ms',
  'maxMs',
  'cpuUsPerCall',
  'ejectMs',
  'recoverMs',
] as const;
export type MetricName = (typeof metricNames)[number];

/**
 * One client in one scenario over all runs: each metric is the median of the runs' values, nulls
 * left out; null when every run had null (or, from JSON, a NaN that became null).
 */
export interface MedianRow extends Readonly<Record<MetricName, number | null>> {
  readonly scenario: Scenario;
  readonly client: BenchClientName;
  readonly transport: Transport;
  /** How many runs had a row for this client and scenario. */
  readonly runs: number;
  /** Median over runs of each run's (calls − failed) ÷ calls, 0–1; null when no run had calls. */
  readonly success: number | null;
}

/** How a goal's `value` is printed. */
export type GoalUnit = 'ratio' | 'calls' | 'percent' | 'ms' | 'attempts';

export interface GoalResult {
  readonly scenario: Scenario;
  /** What is held to the target, e.g. `p99 ≤ 1.25× its own steady p99`. */
  readonly goal: string;
  readonly client: BenchClientName;
  /** The measured value (see `unit`); null when there is no data for it. */
  readonly value: number | null;
  readonly unit: GoalUnit;
  /** The target as text, e.g. `≤ 1.25×`. */
  readonly target: string;
  /** Null: no data to judge by. */
  readonly met: boolean | null;
  /** The numbers behind the value, or why there is none. */
  readonly detail: string;
}

/** Every client, gRPC first, in the order of `types.ts`. */
export const clientOrder: readonly BenchClientName[] = [...grpcClients, ...httpClients];
export const detourClients = ['detour-grpc-js', 'detour-nice-grpc', 'detour-fetch'] as const;
export type DetourClientName = (typeof detourClients)[number];

export function transportOf(client: BenchClientName): Transport {
  return (grpcClients as readonly string[]).includes(client) ? 'grpc' : 'http';
}

/** The median of the values, nulls left out; null when there is none. */
export function median(values: readonly (number | null)[]): number | null {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One row per (scenario, client) present in any run, in scenario then client order. */
export function medianRows(runs: readonly BenchResults[]): MedianRow[] {
  const groups = new Map<string, { rows: ResultRow[]; runs: Set<number> }>();
  runs.forEach((run, index) => {
    for (const row of run.rows) {
      const key = `${row.scenario}\u0000${row.client}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { rows: [], runs: new Set() }));
      group.rows.push(row);
      group.runs.add(index);
    }
  });
  const result: MedianRow[] = [];
  for (const scenario of scenarios) {
    for (const client of clientOrder) {
      const group = groups.get(`${scenario}\u0000${client}`);
      if (!group) continue;
      const medians = Object.fromEntries(
        metricNames.map((name) => [name, median(group.rows.map((row) => row[name] ?? null))]),
      ) as Record<MetricName, number | null>;
      result.push({
        scenario,
        client,
        transport: group.rows[0]!.transport,
        runs: group.runs.size,
        success: median(
          group.rows.map((row) => (row.calls > 0 ? (row.calls - row.failed) / row.calls : null)),
        ),
        ...medians,
      });
    }
  }
  return result;
}

// --- The goals ------------------------------------------------------------------------------

/** Detour's throughput in `overhead`, at least this share of its plain peer's. */
const overheadThroughputShare = 0.95;
/** Detour's p50 in `overhead`, at most this multiple of its plain peer's. */
const overheadP50Factor = 1.05;
/** Share of calls that succeed in `freeze`, at least. */
const freezeSuccess = 0.999;
/** Detour's p99 in `freeze`, at most this share of the peer's it is compared with. */
const freezeP99Share = 0.25;
/** Detour's p99 in `gray`, at most this multiple of its own `steady` p99. */
const grayP99Factor = 1.25;
/** Detour's attempts per call in `outage`, at most. */
const outageAttempts = 1.25;
/** Detour's recoverMs in `recovery`, at most. */
const recoveryMs = 3_000;

/** The plain client each detour client's overhead is measured against. */
const overheadPeer: Partial<Record<DetourClientName, BenchClientName>> = {
  'detour-grpc-js': 'grpc-js-round-robin',
  'detour-fetch': 'fetch-naive',
};
const httpPeers = httpClients.filter((c) => !c.startsWith('detour-'));
const grpcPeers = grpcClients.filter((c) => !c.startsWith('detour-'));

type Lookup = (scenario: Scenario, client: BenchClientName) => MedianRow | undefined;

/**
 * Every goal for every detour client, in scenario order (`overhead`: detour-grpc-js and
 * detour-fetch only). A goal whose data is missing has `value: null, met: null`; a `recovery`
 * run whose recoverMs is null counts as never recovered (see `recoveryGoal`).
 */
export function evaluateGoals(runs: readonly BenchResults[]): GoalResult[] {
  const rows = medianRows(runs);
  const byKey = new Map(rows.map((row) => [`${row.scenario}\u0000${row.client}`, row]));
  const find: Lookup = (scenario, client) => byKey.get(`${scenario}\u0000${client}`);
  const goals: GoalResult[] = [];
  for (const scenario of scenarios) {
    for (const client of detourClients) {
      goals.push(...goalsFor(scenario, client, find, runs));
    }
  }
  return goals;
}

function goalsFor(
  scenario: Scenario,
  client: DetourClientName,
  find: Lookup,
  runs: readonly BenchResults[],
): GoalResult[] {
  const row = find(scenario, client);
  switch (scenario) {
    case 'overhead': {
      const peer = overheadPeer[client];
      if (!peer) return [];
      const peerRow = find(scenario, peer);
      return [
        ratioGoal({
          scenario,
          client,
          goal: `throughput ≥ ${overheadThroughputShare}× ${peer}'s`,
          target: `≥ ${overheadThroughputShare}×`,
          ours: row?.throughput,
          theirs: peerRow?.throughput,
          theirName: peer,
          format: (v) => `${formatCount(v)}/s`,
          met: (ratio) => ratio >= overheadThroughputShare,
        }),
        ratioGoal({
          scenario,
          client,
          goal: `p50 ≤ ${overheadP50Factor}× ${peer}'s`,
          target: `≤ ${overheadP50Factor}×`,
          ours: row?.p50Ms,
          theirs: peerRow?.p50Ms,
          theirName: peer,
          format: formatMsUnit,
          met: (ratio) => ratio <= overheadP50Factor,
        }),
      ];
    }
    case 'crash':
    case 'errors':
    case 'flapping':
      return [noFailureGoal(scenario, client, row)];
    case 'freeze':
      return [freezeSuccessGoal(client, row), freezeP99Goal(client, row, find)];
    case 'gray': {
      const steady = find('steady', client);
      return [
        ratioGoal({
          scenario,
          client,
          goal: `p99 ≤ ${grayP99Factor}× its own steady p99`,
          target: `≤ ${grayP99Factor}×`,
          ours: row?.p99Ms,
          theirs: steady?.p99Ms,
          theirName: 'steady',
          format: formatMsUnit,
          met: (ratio) => ratio <= grayP99Factor,
        }),
      ];
    }
    case 'outage':
      return [outageGoal(client, row, find)];
    case 'recovery':
      return [recoveryGoal(client, runs)];
    case 'steady':
      return [];
  }
}

interface RatioGoal {
  readonly scenario: Scenario;
  readonly client: BenchClientName;
  readonly goal: string;
  readonly target: string;
  readonly ours: number | null | undefined;
  readonly theirs: number | null | undefined;
  /** The client (or scenario) compared with, for the detail. */
  readonly theirName: string;
  readonly format: (value: number) => string;
  readonly met: (ratio: number) => boolean;
}

/** A goal on ours ÷ theirs. */
function ratioGoal(spec: RatioGoal): GoalResult {
  const { scenario, client, goal, target, ours, theirs, theirName, format } = spec;
  const base = { scenario, goal, client, unit: 'ratio', target } as const;
  if (ours == null) return { ...base, value: null, met: null, detail: noData(scenario, client) };
  if (theirs == null) {
    const missing = theirName === 'steady' ? noData('steady', client) : noData(scenario, theirName);
    return { ...base, value: null, met: null, detail: missing };
  }
  if (theirs <= 0) {
    return { ...base, value: null, met: null, detail: `${theirName}'s value is ${theirs}` };
  }
  const value = ours / theirs;
  return { ...base, value, met: spec.met(value), detail: `${format(ours)} vs ${format(theirs)}` };
}

function noFailureGoal(
  scenario: Scenario,
  client: BenchClientName,
  row: MedianRow | undefined,
): GoalResult {
  const base = { scenario, goal: 'no failed call', client, unit: 'calls', target: '0' } as const;
  if (row?.failed == null) {
    return { ...base, value: null, met: null, detail: noData(scenario, client) };
  }
  const detail = row.calls == null ? '' : `of ${formatCount(row.calls)} calls`;
  return { ...base, value: row.failed, met: row.failed === 0, detail };
}

function freezeSuccessGoal(client: BenchClientName, row: MedianRow | undefined): GoalResult {
  const base = {
    scenario: 'freeze',
    goal: `success ≥ ${freezeSuccess * 100} %`,
    client,
    unit: 'percent',
    target: `≥ ${freezeSuccess * 100} %`,
  } as const;
  if (row?.success == null) {
    return { ...base, value: null, met: null, detail: noData('freeze', client) };
  }
  const detail =
    row.failed == null || row.calls == null
      ? ''
      : `${formatCount(row.failed)} of ${formatCount(row.calls)} calls failed`;
  return { ...base, value: row.success * 100, met: row.success >= freezeSuccess, detail };
}

/**
 * Detour's freeze p99 against grpc-js-builtin-best's (gRPC clients), or against the HTTP peer's
 * with the lowest freeze p99 (detour-fetch): detour has to beat the best alternative, not the
 * worst.
 */
function freezeP99Goal(client: BenchClientName, row: MedianRow | undefined, find: Lookup) {
  let peer: BenchClientName | undefined = 'grpc-js-builtin-best';
  let peerText = `grpc-js-builtin-best's`;
  if (transportOf(client) === 'http') {
    peer = bestBy(httpPeers, (c) => find('freeze', c)?.p99Ms);
    peerText = 'the best HTTP peer’s (lowest p99)';
  }
  const theirName = peer ?? 'any HTTP peer';
  const result = ratioGoal({
    scenario: 'freeze',
    client,
    goal: `p99 ≤ ¼ of ${peerText}`,
    target: `≤ ${freezeP99Share}×`,
    ours: row?.p99Ms,
    theirs: peer === undefined ? null : find('freeze', peer)?.p99Ms,
    theirName,
    format: formatMsUnit,
    met: (ratio) => ratio <= freezeP99Share,
  });
  if (transportOf(client) === 'http' && peer !== undefined && result.value !== null) {
    return { ...result, detail: `${result.detail} (${peer})` };
  }
  return result;
}

/** The client whose metric is lowest (first in order on a tie); undefined when none has it. */
function bestBy(
  clients: readonly BenchClientName[],
  metric: (client: BenchClientName) => number | null | undefined,
): BenchClientName | undefined {
  let best: { client: BenchClientName; value: number } | undefined;
  for (const client of clients) {
    const value = metric(client);
    if (value != null && (best === undefined || value < best.value)) best = { client, value };
  }
  return best?.client;
}

function outageGoal(client: BenchClientName, row: MedianRow | undefined, find: Lookup) {
  const base = {
    scenario: 'outage',
    goal: `attempts per call ≤ ${outageAttempts}`,
    client,
    unit: 'attempts',
    target: `≤ ${outageAttempts}`,
  } as const;
  const peers = (transportOf(client) === 'grpc' ? grpcPeers : httpPeers)
    .map((peer) => {
      const attempts = find('outage', peer)?.attempts;
      return attempts == null ? null : `${peer} ${formatAttempts(attempts)}`;
    })
    .filter((text) => text !== null);
  const detail = peers.length === 0 ? 'no peer data' : `peers: ${peers.join(', ')}`;
  if (row?.attempts == null) {
    return { ...base, value: null, met: null, detail: `${noData('outage', client)}; ${detail}` };
  }
  return { ...base, value: row.attempts, met: row.attempts <= outageAttempts, detail };
}

/**
 * recoverMs ≤ 3 s. Here a run's null recoverMs means the replica never had its share back
 * before the run ended: it counts as infinitely late, so the median is over every run that had
 * the row, and a client that never recovered in most runs misses with `value: null`.
 */
function recoveryGoal(client: BenchClientName, runs: readonly BenchResults[]): GoalResult {
  const base = {
    scenario: 'recovery',
    goal: `recoverMs ≤ ${formatCount(recoveryMs)}`,
    client,
    unit: 'ms',
    target: `≤ ${formatCount(recoveryMs)} ms`,
  } as const;
  const values = runs.flatMap((run) =>
    run.rows
      .filter((row) => row.scenario === 'recovery' && row.client === client)
      .map((row) => row.recoverMs ?? Number.POSITIVE_INFINITY),
  );
  const value = median(values);
  if (value === null) {
    return { ...base, value: null, met: null, detail: noData('recovery', client) };
  }
  const never = values.filter((v) => v === Number.POSITIVE_INFINITY).length;
  const detail = never === 0 ? '' : `never recovered in ${never} of ${values.length} runs`;
  if (value === Number.POSITIVE_INFINITY) return { ...base, value: null, met: false, detail };
  return { ...base, value, met: value <= recoveryMs, detail };
}

function noData(scenario: Scenario, client: string): string {
  return `no ${scenario} result for ${client}`;
}

// --- Numbers as the docs print them ---------------------------------------------------------

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count: `12,345`; a fractional median (of an even number of runs) keeps one decimal. */
export function formatCount(value: number): string {
  return Number.isInteger(value) ? grouped.format(value) : value.toFixed(1);
}

/** A latency in ms without its unit: `0.42`, `12.3`, `1,000`. */
export function formatMs(value: number): string {
  if (value < 1) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return grouped.format(value);
}

export function formatMsUnit(value: number): string {
  return `${formatMs(value)} ms`;
}

/** A share (0–1) as a percentage that never rounds a failure away: 99.996 % is `99.99 %`. */
export function formatPercent(share: number): string {
  const pct = share * 100;
  if (pct === 100 || pct === 0) return `${pct} %`;
  const digits = pct >= 99 ? 2 : 1;
  const factor = 10 ** digits;
  // Down, not to nearest (1e-9 absorbs float error such as 99.9 × 100 = 9989.999…).
  const shown = Math.min(Math.floor(pct * factor + 1e-9) / factor, 100 - 1 / factor);
  return `${shown.toFixed(digits)} %`;
}

export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function formatAttempts(value: number): string {
  return value.toFixed(2);
}

/** A goal's value in its unit, `—` when there is none. */
export function formatGoalValue(goal: GoalResult): string {
  if (goal.value === null) return '—';
  switch (goal.unit) {
    case 'ratio':
      return formatRatio(goal.value);
    case 'calls':
      return formatCount(goal.value);
    case 'percent':
      return formatPercent(goal.value / 100);
    case 'ms':
      return formatMsUnit(goal.value);
    case 'attempts':
      return formatAttempts(goal.value);
  }
}
