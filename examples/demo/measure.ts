/** From call records and pool events to the numbers of `summary.json` (see `model.ts`). */
import type {
  Bucket,
  ClientName,
  ClientSummary,
  FaultOutcome,
  FaultWindow,
  StateChange,
} from './model.js';
import { failedCallsKept } from './model.js';

/** One finished call; times in ms since the demo's `t = 0`. */
export interface CallRecord {
  readonly startMs: number;
  readonly latencyMs: number;
  /** The replica that answered, when the call succeeded. */
  readonly replica: string | undefined;
  /** What it failed with, when it failed. */
  readonly code: string | undefined;
  /** The error's message, when it failed and had one. */
  readonly message?: string | undefined;
}

/** What one client did in a run: its calls and, for a detour client, its pool's changes. */
export interface ClientRun {
  readonly name: ClientName;
  readonly label: string;
  readonly transport: 'grpc' | 'http';
  /** Whether the calls went through detour (a pool); the baseline's did not. */
  readonly detour: boolean;
  readonly calls: readonly CallRecord[];
  readonly stateChanges: readonly StateChange[];
  /** Attempts the pool sent; undefined for the baseline. */
  readonly attempts: number | undefined;
}

/** The `q` quantile (0–1) of ascending `sorted` by nearest rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** The calls started in each `bucketMs` window from 0 to `durationMs`, in window order. */
export function groupByStart<C extends { readonly startMs: number }>(
  calls: readonly C[],
  bucketMs: number,
  durationMs: number,
): C[][] {
  const count = Math.ceil(durationMs / bucketMs);
  const groups: C[][] = Array.from({ length: count }, () => []);
  for (const call of calls) {
    const i = Math.floor(call.startMs / bucketMs);
    if (i >= 0 && i < count) groups[i]!.push(call);
  }
  return groups;
}

/** The calls started in each `bucketMs` window from 0 to `durationMs`. */
export function buckets(
  calls: readonly CallRecord[],
  replicas: readonly string[],
  bucketMs: number,
  durationMs: number,
): Bucket[] {
  return groupByStart(calls, bucketMs, durationMs).map((group, i) => {
    const latencies = group.map((c) => c.latencyMs).sort((a, b) => a - b);
    const byReplica = Object.fromEntries(replicas.map((r) => [r, 0]));
    for (const c of group)
      if (c.replica !== undefined) byReplica[c.replica] = (byReplica[c.replica] ?? 0) + 1;
    const stat = (q: number) => (latencies.length === 0 ? null : round(quantile(latencies, q)));
    return {
      t: i * bucketMs,
      calls: group.length,
      failures: group.filter((c) => c.code !== undefined).length,
      p50Ms: stat(0.5),
      p99Ms: stat(0.99),
      maxMs: stat(1),
      byReplica,
    };
  });
}

/** The state an endpoint had at `atMs`, from its changes (in time order) and its first state. */
function stateAt(changes: readonly StateChange[], replica: string, atMs: number): string {
  let state = 'healthy';
  for (const c of changes) {
    if (c.replica !== replica) continue;
    if (c.atMs > atMs) break;
    state = c.to;
  }
  return state;
}

/** How a client lived through `fault`. */
export function faultOutcome(run: ClientRun, fault: FaultWindow): FaultOutcome {
  const { replica, startMs, endMs } = fault;
  const failures = run.calls.filter(
    (c) => c.code !== undefined && c.startMs >= startMs && c.startMs < endMs,
  ).length;
  const backAt = run.calls
    .filter((c) => c.replica === replica && c.startMs >= endMs)
    .reduce((min, c) => Math.min(min, c.startMs + c.latencyMs), Infinity);
  const base = {
    kind: fault.kind,
    replica,
    label: fault.label,
    failures,
    backMs: Number.isFinite(backAt) ? round(backAt - endMs) : null,
  };
  if (!run.detour) return { ...base, ejectMs: null, restoreMs: null };

  const changes = run.stateChanges.filter((c) => c.replica === replica);
  const ejected = changes.find((c) => c.to === 'ejected' && c.atMs >= startMs && c.atMs < endMs);
  // Healthy when the fault ended (never taken out, or already back): 0. Otherwise until it was.
  const healthy = changes.find((c) => c.to === 'healthy' && c.atMs >= endMs);
  const restoreMs =
    stateAt(changes, replica, endMs) === 'healthy'
      ? 0
      : healthy === undefined
        ? null
        : round(healthy.atMs - endMs);
  return {
    ...base,
    ejectMs: ejected === undefined ? null : round(ejected.atMs - startMs),
    restoreMs,
  };
}

/** Everything `summary.json` says about one client. */
export function clientSummary(
  run: ClientRun,
  faults: readonly FaultWindow[],
  replicas: readonly string[],
  bucketMs: number,
  durationMs: number,
): ClientSummary {
  const { calls, attempts } = run;
  const latencies = calls.map((c) => c.latencyMs).sort((a, b) => a - b);
  const failed = calls.filter((c) => c.code !== undefined);
  const failuresByCode: Record<string, number> = {};
  for (const c of failed) failuresByCode[c.code!] = (failuresByCode[c.code!] ?? 0) + 1;
  return {
    name: run.name,
    label: run.label,
    transport: run.transport,
    detour: run.detour,
    calls: calls.length,
    failures: failed.length,
    failuresByCode,
    failedCalls: failed.slice(0, failedCallsKept).map((c) => ({
      startMs: round(c.startMs),
      latencyMs: round(c.latencyMs),
      code: c.code!,
      message: c.message ?? null,
    })),
    attemptsPerCall:
      attempts === undefined || calls.length === 0 ? null : round(attempts / calls.length),
    p50Ms: round(quantile(latencies, 0.5)),
    p99Ms: round(quantile(latencies, 0.99)),
    maxMs: round(quantile(latencies, 1)),
    timeline: buckets(calls, replicas, bucketMs, durationMs),
    stateChanges: run.stateChanges,
    faults: faults.map((f) => faultOutcome(run, f)),
  };
}
