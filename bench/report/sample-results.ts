/**
 * Synthetic `BenchResults` for developing the report and for its tests, so neither needs a real
 * `pnpm bench`. Every client in every scenario, timelines of 100 ms buckets over 8 s with the
 * fault window, and numbers shaped like the real thing: the plain clients lose the calls a fault
 * breaks, the built-in and retrying ones lose fewer but wait for deadlines and backoffs, detour
 * ejects the faulty replica. One goal is missed on purpose (detour-fetch's freeze p99), so that
 * the report's "missed" path has data. The same seed gives the same results; seeds move the
 * numbers by a few percent, never across a goal's line.
 */
import { grpcClients, httpClients, scenarios } from '../harness/types.js';
import type {
  BenchClientName,
  BenchResults,
  ResultRow,
  Scenario,
  Timeline,
  Transport,
} from '../harness/types.js';
import { clientOrder, transportOf } from './goals.js';

const rate = 1_000;
const concurrency = 8;
const deadlineMs = 1_000;
const durationMs = 8_000;
const bucketMs = 100;

/** How a client is built, which decides how it takes each fault. */
type Kind = 'plain' | 'builtin' | 'retry' | 'proxy' | 'detour';

const kindOf: Record<BenchClientName, Kind> = {
  'grpc-js-round-robin': 'plain',
  'grpc-js-builtin-best': 'builtin',
  'nice-grpc-retry': 'retry',
  'detour-grpc-js': 'detour',
  'detour-nice-grpc': 'detour',
  'fetch-naive': 'plain',
  'undici-balanced-retry': 'builtin',
  nginx: 'proxy',
  'detour-fetch': 'detour',
};

interface Fault {
  readonly startMs: number;
  readonly endMs: number;
  readonly label: (transport: Transport) => string;
}

const faults: Record<Scenario, Fault | null> = {
  overhead: null,
  steady: null,
  crash: { startMs: 2_000, endMs: 8_000, label: () => 'r1 SIGKILL' },
  recovery: { startMs: 1_000, endMs: 4_000, label: () => 'r1 down, restarted at 4 s' },
  freeze: { startMs: 2_000, endMs: 7_000, label: () => 'r2 SIGSTOP 5 s' },
  gray: { startMs: 2_000, endMs: 8_000, label: () => 'r3 +50 ms' },
  errors: {
    startMs: 2_000,
    endMs: 8_000,
    label: (t) => (t === 'grpc' ? 'r1 50 % UNAVAILABLE' : 'r1 50 % HTTP 503'),
  },
  outage: { startMs: 2_000, endMs: 7_000, label: () => 'all 3 replicas fail for 5 s' },
  flapping: { startMs: 1_000, endMs: 8_000, label: () => 'r1 up/down every 1 s' },
};

/** How one client takes one fault. Latencies in ms. */
interface Reaction {
  /** Share of the calls of the whole run that fail. */
  readonly failedShare: number;
  /** Requests per call as the replicas count them. */
  readonly attempts: number;
  /** The row's p99; p99.9 and max follow from it and `peakMs`. */
  readonly p99Ms: number;
  /** The worst bucket p99, at the fault's onset. */
  readonly peakMs: number;
  /** How long the onset lasts. */
  readonly onsetMs: number;
  /** Bucket p99 for the rest of the fault. */
  readonly duringMs: number;
  readonly ejectMs: number | null;
  readonly recoverMs: number | null;
}

/** p50 and p99 of a healthy call, per transport and kind (nginx adds its hop). */
function healthy(client: BenchClientName): { readonly p50: number; readonly p99: number } {
  if (client === 'nginx') return { p50: 0.82, p99: 2.4 };
  const http = transportOf(client) === 'http';
  const detour = kindOf[client] === 'detour' ? 1.06 : 1;
  return { p50: (http ? 0.55 : 0.36) * detour, p99: (http ? 1.8 : 1.2) * detour };
}

const quiet: Omit<Reaction, 'p99Ms'> = {
  failedShare: 0,
  attempts: 1,
  peakMs: 0,
  onsetMs: 0,
  duringMs: 0,
  ejectMs: null,
  recoverMs: null,
};

function reaction(scenario: Scenario, client: BenchClientName): Reaction {
  const kind = kindOf[client];
  const http = transportOf(client) === 'http';
  const { p99 } = healthy(client);
  const r = (fields: Partial<Reaction>): Reaction => ({ ...quiet, p99Ms: p99, ...fields });
  switch (scenario) {
    case 'overhead':
    case 'steady':
      return r({});
    case 'crash':
      switch (kind) {
        case 'plain':
          return http
            ? r({ failedShare: 0.25, peakMs: 3, onsetMs: 6_000, duringMs: 2.5, ejectMs: 5_990 })
            : r({ failedShare: 0.004, p99Ms: 1.6, peakMs: 14, onsetMs: 100, ejectMs: 45 });
        case 'builtin':
          return http
            ? r({ p99Ms: 512, peakMs: 530, onsetMs: 6_000, duringMs: 515, ejectMs: 5_980 })
            : r({ failedShare: 0.0002, p99Ms: 1.4, peakMs: 22, onsetMs: 100, ejectMs: 40 });
        case 'retry':
          return r({ p99Ms: 1.5, peakMs: 35, onsetMs: 200, duringMs: p99, ejectMs: 60 });
        case 'proxy':
          return r({ p99Ms: 2.8, peakMs: 6, onsetMs: 300, duringMs: p99, ejectMs: 12 });
        case 'detour':
          return r({ p99Ms: p99 * 1.1, peakMs: 4, onsetMs: 100, duringMs: p99, ejectMs: 15 });
      }
      break;
    case 'recovery':
      switch (kind) {
        case 'plain':
          return http
            ? r({ failedShare: 0.125, peakMs: 3, onsetMs: 3_000, duringMs: 2.5, recoverMs: 20 })
            : r({ failedShare: 0.001, p99Ms: 1.5, peakMs: 12, onsetMs: 100, recoverMs: 1_240 });
        case 'builtin':
          return http
            ? r({ p99Ms: 510, peakMs: 520, onsetMs: 3_000, duringMs: 512, recoverMs: 640 })
            : r({ p99Ms: 1.4, peakMs: 20, onsetMs: 100, recoverMs: 1_310 });
        case 'retry':
          return r({ p99Ms: 1.5, peakMs: 30, onsetMs: 200, recoverMs: 1_220 });
        case 'proxy':
          // fail_timeout=10s: nginx does not try the restarted replica again within the run.
          return r({ p99Ms: 2.7, peakMs: 6, onsetMs: 300, recoverMs: null });
        case 'detour':
          return r({ p99Ms: p99 * 1.1, peakMs: 4, onsetMs: 100, recoverMs: http ? 1_150 : 930 });
      }
      break;
    case 'freeze':
      switch (kind) {
        case 'plain':
          return r({ failedShare: 0.208, p99Ms: 1_000, peakMs: 1_000, onsetMs: 5_000 });
        case 'builtin':
          return http
            ? r({ failedShare: 0.15, p99Ms: 980, peakMs: 1_000, onsetMs: 3_500, duringMs: 600 })
            : r({ failedShare: 0.12, p99Ms: 1_000, peakMs: 1_000, onsetMs: 3_000, duringMs: 2 });
        case 'retry':
        case 'proxy':
          return r({ failedShare: 0.2, p99Ms: 1_000, peakMs: 1_000, onsetMs: 5_000 });
        case 'detour':
          // detour-fetch's hedge waits longer than the gRPC adapters': the sample's missed goal.
          return http
            ? r({ failedShare: 0.0004, p99Ms: 300, peakMs: 420, onsetMs: 2_600, duringMs: 2 })
            : r({ failedShare: 0.0001, p99Ms: 38, peakMs: 60, onsetMs: 2_400, duringMs: 1.4 });
      }
      break;
    case 'gray':
      return kind === 'detour'
        ? r({ p99Ms: p99 * 1.08, peakMs: 51, onsetMs: 300, duringMs: p99 * 1.05, ejectMs: 290 })
        : r({ p99Ms: p99 + 50.3, peakMs: p99 + 50.5, onsetMs: 6_000 });
    case 'errors':
      switch (kind) {
        case 'plain':
          return r({ failedShare: 0.125, p99Ms: p99 * 1.1, peakMs: p99 * 1.2, onsetMs: 6_000 });
        case 'builtin':
          return http
            ? r({ attempts: 1.17, p99Ms: 505, peakMs: 510, onsetMs: 6_000 })
            : r({ failedShare: 0.002, attempts: 1.16, p99Ms: 12, peakMs: 14, onsetMs: 6_000 });
        case 'retry':
          return r({ attempts: 1.17, p99Ms: 24, peakMs: 27, onsetMs: 6_000 });
        case 'proxy':
          return r({ attempts: 1.17, p99Ms: 3.1, peakMs: 3.3, onsetMs: 6_000 });
        case 'detour':
          return r({ attempts: 1.08, p99Ms: p99 * 1.3, peakMs: 6, onsetMs: 200, ejectMs: 180 });
      }
      break;
    case 'outage': {
      const attempts = { plain: 1, builtin: http ? 2 : 1.3, retry: 3.1, proxy: 3, detour: 1.12 };
      const waitMs = { plain: p99, builtin: http ? 760 : 25, retry: 310, proxy: 3, detour: 1.5 };
      const wait = waitMs[kind];
      return r({
        failedShare: 0.625,
        attempts: attempts[kind],
        p99Ms: wait,
        peakMs: wait * 1.1,
        onsetMs: 5_000,
      });
    }
    case 'flapping':
      switch (kind) {
        case 'plain':
          return http
            ? r({ failedShare: 0.13, p99Ms: 2.6, peakMs: 3, onsetMs: 500, duringMs: 2.2 })
            : r({ failedShare: 0.004, p99Ms: 4.5, peakMs: 9, onsetMs: 100, duringMs: 1.6 });
        case 'builtin':
          return http
            ? r({ p99Ms: 508, peakMs: 515, onsetMs: 500, duringMs: 510 })
            : r({ failedShare: 0.0005, p99Ms: 2.2, peakMs: 12, onsetMs: 100, duringMs: 1.5 });
        case 'retry':
          return r({ p99Ms: 2.5, peakMs: 20, onsetMs: 100, duringMs: 1.6 });
        case 'proxy':
          return r({ p99Ms: 3, peakMs: 5, onsetMs: 200, duringMs: 2.6 });
        case 'detour':
          return r({ p99Ms: p99 * 1.2, peakMs: 3, onsetMs: 100, duringMs: p99 * 1.1 });
      }
  }
  return r({});
}

/** Closed-loop calls per second in `overhead`. */
const overheadThroughput: Record<BenchClientName, number> = {
  'grpc-js-round-robin': 9_000,
  'grpc-js-builtin-best': 8_650,
  'nice-grpc-retry': 7_400,
  'detour-grpc-js': 8_860,
  'detour-nice-grpc': 7_250,
  'fetch-naive': 6_000,
  'undici-balanced-retry': 6_700,
  nginx: 4_200,
  'detour-fetch': 5_900,
};

/** CPU time per call, µs. */
const cpuUs: Record<BenchClientName, number> = {
  'grpc-js-round-robin': 62,
  'grpc-js-builtin-best': 68,
  'nice-grpc-retry': 81,
  'detour-grpc-js': 71,
  'detour-nice-grpc': 88,
  'fetch-naive': 96,
  'undici-balanced-retry': 74,
  nginx: 58,
  'detour-fetch': 104,
};

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** Synthetic results: every client in every scenario, deterministic per seed. */
export function sampleResults(seed = 1): BenchResults {
  const random = seeded(seed);
  /** ±`spread` (a share) of noise. */
  const jitter = (value: number, spread = 0.02): number =>
    value * (1 + spread * (2 * random() - 1));
  const rows: ResultRow[] = [];
  const timelines: Timeline[] = [];
  for (const scenario of scenarios) {
    for (const client of clientOrder) {
      const transport = transportOf(client);
      const react = reaction(scenario, client);
      const { p50 } = healthy(client);
      if (scenario === 'overhead') {
        const throughput = round(jitter(overheadThroughput[client], 0.01), 0);
        const median = (concurrency / throughput) * 1000;
        rows.push({
          scenario,
          client,
          transport,
          calls: Math.round((throughput * durationMs) / 1000),
          failed: 0,
          attempts: 1,
          throughput,
          p50Ms: round(median, 3),
          p99Ms: round(median * 2.6, 3),
          p999Ms: round(median * 4.1, 3),
          maxMs: round(median * 9, 3),
          cpuUsPerCall: round(jitter(cpuUs[client] * 0.85), 1),
          ejectMs: null,
          recoverMs: null,
        });
        continue;
      }
      const calls = Math.round(jitter((rate * durationMs) / 1000, 0.002));
      const failed = Math.round(calls * react.failedShare);
      const p99 = jitter(react.p99Ms);
      const peak = Math.max(react.peakMs, p99);
      rows.push({
        scenario,
        client,
        transport,
        calls,
        failed,
        attempts: round(jitter(react.attempts, 0.005), 3),
        throughput: round(calls / (durationMs / 1000), 1),
        p50Ms: round(jitter(react.failedShare > 0.5 ? react.p99Ms * 0.4 : p50), 3),
        p99Ms: round(p99, 3),
        p999Ms: round(Math.min(Math.max(p99 * 1.5, peak * 0.9), Math.max(deadlineMs, p99)), 3),
        maxMs: round(Math.min(Math.max(peak * 1.05, p99 * 2), deadlineMs * 1.01), 3),
        cpuUsPerCall: round(jitter(cpuUs[client]), 1),
        ejectMs: react.ejectMs === null ? null : round(jitter(react.ejectMs, 0.05), 0),
        recoverMs: react.recoverMs === null ? null : round(jitter(react.recoverMs, 0.05), 0),
      });
      timelines.push(timeline(scenario, client, react, jitter));
    }
  }
  return {
    schema: 'detour-bench/1',
    startedAt: new Date(Date.UTC(2026, 10, 23, 9, 0, seed % 60)).toISOString(),
    machine: {
      cores: 2,
      cpuModel: 'Intel(R) Xeon(R) Processor',
      memoryGiB: 7.8,
      node: 'v20.20.2',
      platform: 'linux x64',
      packages: {
        '@grpc/grpc-js': '1.14.7',
        'nice-grpc': '2.1.18',
        'nice-grpc-client-middleware-retry': '3.1.16',
        undici: '7.30.2',
        nginx: '1.22.1',
      },
    },
    parameters: {
      rate,
      concurrency,
      deadlineMs,
      quick: false,
      durationsMs: Object.fromEntries(scenarios.map((s) => [s, durationMs])) as Record<
        Scenario,
        number
      >,
      scenarios: [...scenarios],
      clients: [...grpcClients, ...httpClients],
    },
    rows,
    timelines,
  };
}

/** The buckets: healthy, the onset's peak, the rest of the fault, healthy again. */
function timeline(
  scenario: Scenario,
  client: BenchClientName,
  react: Reaction,
  jitter: (value: number, spread?: number) => number,
): Timeline {
  const fault = faults[scenario];
  const { p50, p99 } = healthy(client);
  const perBucket = (rate * bucketMs) / 1000;
  const points: Timeline['points'][number][] = [];
  for (let t = 0; t < durationMs; t += bucketMs) {
    let bucketP99 = p99;
    let failedShare = 0;
    if (fault && t >= fault.startMs && t < fault.endMs) {
      const faultMs = fault.endMs - fault.startMs;
      // Flapping hurts while r1 is down, every other second, each time from the start.
      const since = scenario === 'flapping' ? (t - fault.startMs) % 2_000 : t - fault.startMs;
      const down = scenario !== 'flapping' || since < 1_000;
      if (since < react.onsetMs && down) bucketP99 = react.peakMs || p99;
      else bucketP99 = react.duringMs || p99;
      if (down) {
        failedShare =
          react.failedShare * (durationMs / faultMs) * (scenario === 'flapping' ? 2 : 1);
      }
    }
    const calls = Math.round(jitter(perBucket, 0.01));
    const spiky = bucketP99 > p99 * 1.5;
    const bucketP50 = failedShare > 0.5 ? bucketP99 * 0.4 : p50;
    points.push({
      t,
      calls,
      failed: Math.min(calls, Math.round(calls * failedShare)),
      p50Ms: round(jitter(bucketP50, 0.05), 3),
      p99Ms: round(jitter(bucketP99, spiky ? 0.03 : 0.12), 3),
      maxMs: round(Math.min(jitter(bucketP99 * 1.3, 0.1), deadlineMs * 1.01), 3),
    });
  }
  return {
    scenario,
    client,
    bucketMs,
    points,
    fault:
      fault === null
        ? null
        : { startMs: fault.startMs, endMs: fault.endMs, label: fault.label(transportOf(client)) },
  };
}
