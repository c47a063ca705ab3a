/** One client's run in one scenario → its results row and timeline (see `types.ts`). */
import { groupByStart, quantile } from '../../examples/demo/measure.js';
import type { CallRecord } from './load.js';
import type { ScenarioPlan } from './scenarios.js';
import type { BenchClientName, ResultRow, Timeline, Transport } from './types.js';

/** Timeline bucket width, ms. */
export const bucketMs = 100;
/** The window in which a healed replica must get its share back, ms. */
const shareWindowMs = 1_000;
/** A call is hurt by a fault when it failed or took this much longer than the pre-fault p99, ms. */
const hurtMarginMs = 20;

const round = (value: number, digits = 2): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

export interface RunFacts {
  readonly client: BenchClientName;
  readonly transport: Transport;
  readonly plan: ScenarioPlan;
  readonly calls: readonly CallRecord[];
  /** Requests the replicas counted during the run. */
  readonly requests: number;
  /** CPU time of this process during the run, µs. */
  readonly cpuUs: number;
  /** When the heal step had taken effect (the restarted replica was ready…); null if none. */
  readonly healedAtMs: number | null;
  /** Replica names; the victim is `replicas[1]`. */
  readonly replicas: readonly string[];
}

export function resultRow(facts: RunFacts): ResultRow {
  const { calls, plan } = facts;
  const latencies = calls.map((c) => c.latencyMs).sort((a, b) => a - b);
  const endMs = calls.reduce((max, c) => Math.max(max, c.startMs + c.latencyMs), 0);
  const n = calls.length;
  return {
    scenario: plan.scenario,
    client: facts.client,
    transport: facts.transport,
    calls: n,
    failed: calls.filter((c) => c.code !== undefined).length,
    attempts: n === 0 ? null : round(facts.requests / n, 3),
    throughput: endMs === 0 ? 0 : round((n / endMs) * 1000, 1),
    p50Ms: round(quantile(latencies, 0.5)),
    p99Ms: round(quantile(latencies, 0.99)),
    p999Ms: round(quantile(latencies, 0.999)),
    maxMs: round(quantile(latencies, 1)),
    cpuUsPerCall: n === 0 ? 0 : round(facts.cpuUs / n, 1),
    ejectMs: ejectMs(facts),
    recoverMs: recoverMs(facts),
  };
}

/**
 * From the fault until it stopped hurting calls: the start of the last call, among those started
 * during the fault, that failed or was slower than the pre-fault p99 + 20 ms; 0 when none was.
 */
function ejectMs({ calls, plan }: RunFacts): number | null {
  if (!plan.ejects || plan.fault === null) return null;
  const { startMs, endMs } = plan.fault;
  const before = calls
    .filter((c) => c.startMs < startMs)
    .map((c) => c.latencyMs)
    .sort((a, b) => a - b);
  const limit = (before.length === 0 ? 0 : quantile(before, 0.99)) + hurtMarginMs;
  let last = startMs;
  for (const c of calls) {
    if (c.startMs < startMs || c.startMs >= endMs) continue;
    if (c.code !== undefined || c.latencyMs > limit) last = Math.max(last, c.startMs);
  }
  return round(last - startMs, 0);
}

/**
 * From the heal until things were back: for a replica that was killed or frozen, the start of
 * the first 1 s window (in 100 ms steps) in which it answered at least 2/3 of its fair share of
 * the successful calls; after an outage, the first 1 s window with at least 99 % successes.
 * Null when that did not happen before the run ended.
 */
function recoverMs({ calls, plan, healedAtMs, replicas }: RunFacts): number | null {
  if (healedAtMs === null) return null;
  const victim = replicas[1]!;
  const outage = plan.scenario === 'outage';
  for (let w = healedAtMs; w + shareWindowMs <= plan.durationMs; w += bucketMs) {
    const inWindow = calls.filter((c) => c.startMs >= w && c.startMs < w + shareWindowMs);
    const ok = inWindow.filter((c) => c.code === undefined);
    if (inWindow.length === 0) continue;
    const back = outage
      ? ok.length >= 0.99 * inWindow.length
      : ok.filter((c) => c.replica === victim).length >= ((2 / 3) * ok.length) / replicas.length;
    if (back) return round(w - healedAtMs, 0);
  }
  return null;
}

export function timeline(facts: RunFacts): Timeline {
  const { calls, plan } = facts;
  const groups = groupByStart(calls, bucketMs, plan.durationMs);
  return {
    scenario: plan.scenario,
    client: facts.client,
    bucketMs,
    points: groups.map((group, i) => {
      const latencies = group.map((c) => c.latencyMs).sort((a, b) => a - b);
      const stat = (q: number): number | null =>
        latencies.length === 0 ? null : round(quantile(latencies, q));
      return {
        t: i * bucketMs,
        calls: group.length,
        failed: group.filter((c) => c.code !== undefined).length,
        p50Ms: stat(0.5),
        p99Ms: stat(0.99),
        maxMs: stat(1),
      };
    }),
    fault: plan.fault,
  };
}
