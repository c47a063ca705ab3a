/**
 * The cost `pool.execute()` adds to a call: a resolved in-memory operation called directly
 * against the same operation through `execute()` with the default policy (3 endpoints, P2C
 * peak-EWMA, default detectors, ratio retry budget, metrics on the global — no-op — provider),
 * in ns per call and bytes allocated per call. Also `execute()` with per-call options, as an
 * adapter passes them (a deadline from the caller's options, idempotency, a classifier): built
 * as one object literal, and as a spread copy of the caller's options that then grows. Run by
 * `pnpm bench:core`.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { createPool } from '@detour/core';
import type { Classifier, Endpoint, ExecuteOptions } from '@detour/core';

export interface ExecuteCost {
  readonly directNs: number;
  readonly executeNs: number;
  readonly addedNs: number;
  readonly directBytes: number;
  readonly executeBytes: number;
  /** `execute()` with per-call options built as one object literal, ns per call. */
  readonly literalOptionsNs: number;
  /** The same options as a spread copy of the caller's, fields then added, ns per call. */
  readonly spreadOptionsNs: number;
}

function newSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function measureExecute(runs: number, calls: number): Promise<ExecuteCost> {
  const pool = createPool({ endpoints: ['10.0.0.1:50051', '10.0.0.2:50051', '10.0.0.3:50051'] });
  const endpoint: Endpoint = pool.members()[0]!.endpoint;
  const operation = (): Promise<number> => Promise.resolve(1);
  let sink = 0;

  const direct = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) sink += await operation();
  };
  const viaPool = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) sink += await pool.execute(operation);
  };
  const classifier: Classifier<number> = () => ({ type: 'success' });
  /** What a caller passes per call (a fresh object each time, as `{ detour: { … } }` is). */
  const given = (i: number): { deadlineMs: number } => ({ deadlineMs: 1000 + (i & 1) });
  const literalOptions = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const d = given(i);
      sink += await pool.execute(operation, {
        deadlineMs: d.deadlineMs,
        idempotent: true,
        classifier,
      });
    }
  };
  const spreadOptions = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const options: { -readonly [K in keyof ExecuteOptions<number>]: ExecuteOptions<number>[K] } =
        { ...given(i) };
      options.idempotent = true;
      options.classifier = classifier;
      sink += await pool.execute(operation, options);
    }
  };
  const timeOf = async (f: (n: number) => Promise<void>): Promise<number> => {
    const start = performance.now();
    await f(calls);
    return ((performance.now() - start) * 1e6) / calls;
  };
  /** Bytes per call, from new-space growth (run with a semi-space large enough for no scavenge). */
  const bytesOf = async (f: (n: number) => Promise<void>): Promise<number> => {
    const n = 20_000;
    (globalThis as { gc?: () => void }).gc?.();
    const before = newSpaceUsed();
    await f(n);
    const after = newSpaceUsed();
    return after >= before ? (after - before) / n : Number.NaN;
  };

  // Warm up well: V8 needs a few hundred thousand calls before execute() reaches its steady state
  // (the first 100,000 cost several times more while the code is being optimized).
  await direct(400_000);
  await viaPool(400_000);
  void endpoint;
  const d: number[] = [];
  const e: number[] = [];
  for (let r = 0; r < runs; r++) {
    d.push(await timeOf(direct));
    e.push(await timeOf(viaPool));
  }
  const directBytes = await bytesOf(direct);
  const executeBytes = await bytesOf(viaPool);
  // Per-call options after the above, so that they do not change what `execute()` without
  // options was compiled for when it was measured.
  await literalOptions(400_000);
  await spreadOptions(400_000);
  const literal: number[] = [];
  const spread: number[] = [];
  for (let r = 0; r < runs; r++) {
    literal.push(await timeOf(literalOptions));
    spread.push(await timeOf(spreadOptions));
  }
  pool.close();
  if (sink < 0) console.log(sink);
  const directNs = median(d);
  const executeNs = median(e);
  return {
    directNs,
    executeNs,
    addedNs: executeNs - directNs,
    directBytes,
    executeBytes,
    literalOptionsNs: median(literal),
    spreadOptionsNs: median(spread),
  };
}
