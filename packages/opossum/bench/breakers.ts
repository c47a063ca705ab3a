/**
 * What `opossumBreakers` costs at 1,000 and 10,000 endpoints:
 *
 * - heap per breaker (pool with the detector minus the same pool without it, after GC);
 * - timers made while the pool is made and fed (counted by wrapping `setTimeout` and
 *   `setInterval` in this process: every one is unref'd, so `process.getActiveResourcesInfo()`
 *   does not list them; its change is printed too);
 * - time per fed outcome (`startAttempt` + `endAttempt` with the detector minus without it,
 *   opossum's `fire()` promises settled), for all-success traffic and for 10 % failures
 *   (below the 50 % threshold, so nothing opens);
 * - for shared rotation, the time of one `rotate` (every `rollingCountTimeout / buckets` ms).
 *
 * Every case runs in a fresh process, `--runs` times (default 3); the tables show medians.
 *
 *   node --expose-gc --import tsx packages/opossum/bench/breakers.ts [--runs N] [--quick]
 */
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createPool } from '@detour/core';
import type { Detector, Outcome, Pool } from '@detour/core';
import type { EndpointBreaker, OpossumBreakersOptions } from '../src/index.js';
import { opossumBreakers } from '../src/index.js';

interface Case {
  readonly label: string;
  readonly endpoints: number;
  readonly options: OpossumBreakersOptions;
}

interface Result {
  readonly breakers: number;
  readonly heapPerBreakerBytes: number;
  readonly heapTotalMb: number;
  readonly timersMade: number;
  readonly activeResourcesAdded: number;
  /** The pool alone, without the detector: the reference the costs below are added to. */
  readonly poolNsPerOutcome: number;
  /** For comparison: the pool with core's default detectors instead, healthy and 10 % failing. */
  readonly defaultsHealthyNs: number;
  readonly defaultsFailingNs: number;
  readonly healthyNsPerOutcome: number;
  readonly failingNsPerOutcome: number;
  readonly breakersAfterFailures: number;
  readonly rotateMs: number | undefined;
}

const ok: Outcome = { kind: 'success', latencyMs: 1 };
const failure: Outcome = { kind: 'error', latencyMs: 1, code: 14 };

let timersMade = 0;

/** Counts the timers made in this process (the child that runs one case). */
function countTimers(): void {
  const g = globalThis as unknown as Record<
    'setTimeout' | 'setInterval',
    (...a: unknown[]) => unknown
  >;
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const original = g[name];
    g[name] = (...a: unknown[]): unknown => {
      timersMade++;
      return original(...a);
    };
  }
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) collect();
}

function heap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** `detectors` undefined: core's defaults (consecutive failures, outlier and latency outliers). */
function makePool(n: number, detectors: Detector[] | undefined): Pool {
  const endpoints = Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}:50051`);
  return createPool({
    endpoints,
    selector: 'round-robin',
    detectors,
  });
}

/**
 * ns per outcome over `count` outcomes spread evenly over the pool (round robin). With
 * `failEvery` > 0, each endpoint fails one round in `failEvery`, staggered across endpoints.
 */
async function feed(pool: Pool, count: number, failEvery: number): Promise<number> {
  const records = pool.members();
  const n = records.length;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const r = records[i % n]!;
    const fail = failEvery > 0 && (Math.floor(i / n) + (i % n)) % failEvery === 0;
    pool.startAttempt(r);
    pool.endAttempt(r, fail ? failure : ok);
    // Let opossum settle its fire() promises as a real event loop would, in batches.
    if (i % 1000 === 999) await Promise.resolve();
  }
  await new Promise((resolve) => setImmediate(resolve));
  return ((performance.now() - start) * 1e6) / count;
}

async function runCase(c: Case, outcomes: number): Promise<Result> {
  // Baseline: the same pool without the detector.
  const before = heap();
  const plain = makePool(c.endpoints, []);
  const plainHeap = heap() - before;
  await feed(plain, outcomes / 4, 0); // warm-up
  const plainHealthy = await feed(plain, outcomes, 0);
  const plainFailing = await feed(plain, outcomes, 10);
  plain.close();

  const defaults = makePool(c.endpoints, undefined);
  await feed(defaults, outcomes / 4, 0); // warm-up
  const defaultsHealthy = await feed(defaults, outcomes, 0);
  const defaultsFailing = await feed(defaults, outcomes, 10);
  defaults.close();

  const breakers = new Set<EndpointBreaker>();
  const timersBefore = timersMade;
  const resourcesBefore = process.getActiveResourcesInfo().length;
  const heapBefore = heap();
  const pool = makePool(c.endpoints, [
    opossumBreakers({
      ...c.options,
      onBreaker: (b) => {
        breakers.add(b);
        b.on('shutdown', () => breakers.delete(b));
      },
    }),
  ]);
  const created = breakers.size;
  const withHeap = heap() - heapBefore;
  const activeResourcesAdded = process.getActiveResourcesInfo().length - resourcesBefore;

  await feed(pool, outcomes / 4, 0); // warm-up
  const healthy = await feed(pool, outcomes, 0);
  const failing = await feed(pool, outcomes, 10);
  const breakersAfterFailures = breakers.size;
  const heapTotalMb = (heap() - heapBefore) / 2 ** 20;

  let rotateMs: number | undefined;
  // The shared controller, as opossum's Status keeps it (not part of opossum's typed API).
  const first = [...breakers][0] as
    { status: { rotateBucketController?: EventEmitter } } | undefined;
  const controller = first?.status.rotateBucketController;
  if (controller) {
    const start = performance.now();
    for (let i = 0; i < 10; i++) controller.emit('rotate');
    rotateMs = (performance.now() - start) / 10;
  }
  pool.close();

  return {
    breakers: created,
    heapPerBreakerBytes: created > 0 ? (withHeap - plainHeap) / created : Number.NaN,
    heapTotalMb,
    timersMade: timersMade - timersBefore,
    activeResourcesAdded,
    poolNsPerOutcome: plainHealthy,
    defaultsHealthyNs: defaultsHealthy - plainHealthy,
    defaultsFailingNs: defaultsFailing - plainFailing,
    healthyNsPerOutcome: healthy - plainHealthy,
    failingNsPerOutcome: failing - plainFailing,
    breakersAfterFailures,
    rotateMs,
  };
}

const args = process.argv.slice(2);
const caseArg = args.indexOf('--case');

if (caseArg >= 0) {
  // Child: one case, result as JSON on stdout.
  const c = JSON.parse(args[caseArg + 1]!, (_k, v: unknown) =>
    v === 'Infinity' ? Infinity : v,
  ) as Case & { outcomes: number };
  countTimers();
  console.log(JSON.stringify(await runCase(c, c.outcomes)));
} else {
  const quick = args.includes('--quick');
  const runsArg = args.indexOf('--runs');
  const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : quick ? 1 : 3;
  const outcomes = quick ? 50_000 : 200_000;
  const cases: Case[] = [];
  for (const endpoints of [1_000, 10_000]) {
    const eager = { lazy: false, maxBreakers: Infinity };
    cases.push({ label: 'eager, shared rotation', endpoints, options: eager });
    cases.push({
      label: 'eager, a timer per breaker',
      endpoints,
      options: { ...eager, sharedRotation: false },
    });
    cases.push({ label: 'lazy (defaults)', endpoints, options: {} });
    cases.push({ label: 'lazy, no cap', endpoints, options: { maxBreakers: Infinity } });
  }
  const self = fileURLToPath(import.meta.url);
  console.log(
    `opossumBreakers cost: node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}, ` +
      `${outcomes} outcomes per measure, median of ${runs} runs\n`,
  );
  const header =
    '| endpoints | mode | breakers | heap/breaker | heap after traffic | timers made | active resources | pool alone ns/outcome | + ns/outcome healthy | + ns/outcome 10 % failing | breakers after failures | one rotate | default detectors instead: + ns healthy / 10 % failing |';
  console.log(header);
  console.log(header.replace(/[^|]+/g, ' --- '));
  for (const c of cases) {
    const results: Result[] = [];
    for (let r = 0; r < runs; r++) {
      const out = execFileSync(
        process.execPath,
        [
          ...process.execArgv,
          self,
          '--case',
          JSON.stringify({ ...c, outcomes }, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v)),
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      results.push(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
    }
    const med = (f: (r: Result) => number | undefined): number | undefined => {
      const xs = results
        .map(f)
        .filter((x): x is number => typeof x === 'number' && !Number.isNaN(x))
        .sort((a, b) => a - b);
      return xs.length === 0 ? undefined : xs[Math.floor(xs.length / 2)];
    };
    const fmt = (x: number | undefined, unit: string, digits = 0): string =>
      x === undefined ? '—' : `${x.toFixed(digits)} ${unit}`.trim();
    const cells = [
      c.endpoints.toLocaleString('en'),
      c.label,
      fmt(
        med((r) => r.breakers),
        '',
      ),
      fmt(
        med((r) => r.heapPerBreakerBytes),
        'B',
      ),
      fmt(
        med((r) => r.heapTotalMb),
        'MB',
        1,
      ),
      fmt(
        med((r) => r.timersMade),
        '',
      ),
      fmt(
        med((r) => r.activeResourcesAdded),
        '',
      ),
      fmt(
        med((r) => r.poolNsPerOutcome),
        'ns',
      ),
      fmt(
        med((r) => r.healthyNsPerOutcome),
        'ns',
      ),
      fmt(
        med((r) => r.failingNsPerOutcome),
        'ns',
      ),
      fmt(
        med((r) => r.breakersAfterFailures),
        '',
      ),
      fmt(
        med((r) => r.rotateMs),
        'ms',
        2,
      ),
      `${fmt(
        med((r) => r.defaultsHealthyNs),
        'ns',
      )} / ${fmt(
        med((r) => r.defaultsFailingNs),
        'ns',
      )}`,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
