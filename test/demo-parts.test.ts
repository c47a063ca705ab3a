/**
 * The demo's pure parts, without replicas: its command line, its fault schedule, and the
 * numbers it computes from call records and pool state changes.
 */
import { describe, expect, it } from 'vitest';
import { DemoUsageError, parseDemoArgs } from '../examples/demo/args.js';
import { buckets, clientSummary, faultOutcome, quantile } from '../examples/demo/measure.js';
import type { CallRecord, ClientRun } from '../examples/demo/measure.js';
import type { FaultWindow } from '../examples/demo/model.js';
import { sampleSummary } from '../examples/demo/sample-summary.js';
import { planFaults } from '../examples/demo/schedule.js';
import { summaryLines } from '../examples/demo/summary-text.js';

describe('parseDemoArgs', () => {
  it('has the documented defaults', () => {
    expect(parseDemoArgs([])).toEqual({
      durationS: 60,
      replicas: 3,
      rate: 50,
      deadlineMs: 1000,
      chaos: true,
      faults: ['crash', 'freeze', 'slow', 'errors'],
      out: undefined,
      live: undefined,
      registry: 'static',
      etcd: undefined,
      help: false,
    });
  });

  it('reads every option', () => {
    expect(
      parseDemoArgs([
        '--duration',
        '12.5',
        '--replicas',
        '4',
        '--rate',
        '200',
        '--deadline',
        '3000',
        '--faults',
        'freeze,crash',
        '--out',
        'x',
        '--no-live',
      ]),
    ).toMatchObject({
      durationS: 12.5,
      replicas: 4,
      rate: 200,
      deadlineMs: 3000,
      faults: ['freeze', 'crash'],
      out: 'x',
      live: false,
    });
    expect(parseDemoArgs(['--registry', 'etcd'])).toMatchObject({
      registry: 'etcd',
      etcd: undefined,
    });
    expect(parseDemoArgs(['--etcd', 'http://127.0.0.1:2379, http://10.0.0.2:2379'])).toMatchObject({
      registry: 'etcd',
      etcd: ['http://127.0.0.1:2379', 'http://10.0.0.2:2379'],
    });
    expect(parseDemoArgs(['--no-chaos', '--live', '-h'])).toMatchObject({
      chaos: false,
      faults: [],
      live: true,
      help: true,
    });
  });

  it.each([
    [['--duration', '2'], '--duration must be a number from 5 to 3600, got 2'],
    [['--duration', 'abc'], '--duration must be a number from 5 to 3600, got abc'],
    [['--replicas', '2.5'], '--replicas must be an integer from 2 to 9, got 2.5'],
    [['--replicas', '10'], '--replicas must be an integer from 2 to 9, got 10'],
    [['--rate', '0'], '--rate must be a number from 1 to 1000, got 0'],
    [['--rate', ''], '--rate must be a number from 1 to 1000, got '],
    [['--deadline', '50'], '--deadline must be an integer from 100 to 60000, got 50'],
    [['--deadline', '1.5e3x'], '--deadline must be an integer from 100 to 60000, got 1.5e3x'],
    [
      ['--faults', 'crash,meteor'],
      '--faults: "meteor" is not a fault; choose from crash, freeze, slow, errors',
    ],
    [['--faults', 'crash,crash'], '--faults names crash twice'],
    [['--no-chaos', '--faults', 'crash'], '--faults crash cannot be combined with --no-chaos'],
    [['--live', '--no-live'], '--live and --no-live cannot both be given'],
    [['--out', ' '], '--out must name a folder, got " "'],
    [['--speed', '3'], "Unknown option '--speed'"],
    [['--registry', 'consul'], '--registry must be static or etcd, got consul'],
    [
      ['--registry', 'static', '--etcd', 'http://127.0.0.1:2379'],
      '--etcd cannot be combined with --registry static',
    ],
    [
      ['--etcd', '127.0.0.1:2379'],
      '--etcd must be etcd client URLs (http://host:port), got 127.0.0.1:2379',
    ],
  ])('rejects %j: %s', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(DemoUsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});

describe('planFaults', () => {
  it('plays the default schedule of the README at 60 s', () => {
    expect(planFaults(60_000, 3, ['crash', 'freeze', 'slow', 'errors'])).toEqual([
      { kind: 'crash', replica: 0, startMs: 6_000, endMs: 15_844 },
      { kind: 'freeze', replica: 1, startMs: 20_063, endMs: 29_906 },
      { kind: 'slow', replica: 2, startMs: 34_125, endMs: 40_031 },
      { kind: 'errors', replica: 0, startMs: 42_563, endMs: 48_469 },
    ]);
  });

  it('scales to the duration, keeps a calm start and end, and wraps replicas', () => {
    const faults = planFaults(20_000, 2, ['crash', 'freeze', 'slow']);
    expect(faults.map((f) => [f.kind, f.replica])).toEqual([
      ['crash', 0],
      ['freeze', 1],
      ['slow', 0],
    ]);
    expect(faults[0]!.startMs).toBe(2_000);
    for (const [i, f] of faults.entries()) {
      expect(f.endMs).toBeGreaterThan(f.startMs);
      if (i > 0) expect(f.startMs).toBeGreaterThan(faults[i - 1]!.endMs);
    }
    expect(faults.at(-1)!.endMs).toBeLessThanOrEqual(20_000 * 0.85);
    expect(planFaults(20_000, 3, [])).toEqual([]);
  });
});

const call = (startMs: number, latencyMs: number, replica?: string, code?: string): CallRecord => ({
  startMs,
  latencyMs,
  replica,
  code,
});

describe('the demo’s numbers', () => {
  it('quantile() is the nearest rank', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(quantile([5], 0)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('buckets() groups calls by start time, with every replica as a key', () => {
    const calls = [
      call(100, 2, 'a'),
      call(900, 4, 'b'),
      call(1_100, 1000, undefined, 'X'),
      call(5_000, 1, 'a'),
    ];
    expect(buckets(calls, ['a', 'b'], 1_000, 3_000)).toEqual([
      { t: 0, calls: 2, failures: 0, p50Ms: 2, p99Ms: 4, maxMs: 4, byReplica: { a: 1, b: 1 } },
      {
        t: 1_000,
        calls: 1,
        failures: 1,
        p50Ms: 1000,
        p99Ms: 1000,
        maxMs: 1000,
        byReplica: { a: 0, b: 0 },
      },
      {
        t: 2_000,
        calls: 0,
        failures: 0,
        p50Ms: null,
        p99Ms: null,
        maxMs: null,
        byReplica: { a: 0, b: 0 },
      },
    ]);
  });

  const fault: FaultWindow = {
    kind: 'crash',
    replica: 'a',
    startMs: 1_000,
    endMs: 3_000,
    label: 'a killed',
  };
  const run = (overrides: Partial<ClientRun>): ClientRun => ({
    name: 'detour-grpc-js',
    label: 'detour + grpc-js',
    transport: 'grpc',
    detour: true,
    calls: [],
    stateChanges: [],
    attempts: 0,
    ...overrides,
  });

  it('faultOutcome() measures eject, restore and back from the pool’s changes and the calls', () => {
    const outcome = faultOutcome(
      run({
        calls: [
          call(500, 1, 'a'),
          call(1_200, 300, undefined, 'X'),
          call(3_100, 2, 'b'),
          call(3_500, 5, 'a'),
        ],
        stateChanges: [
          { atMs: 1_400, replica: 'a', from: 'healthy', to: 'ejected', detector: 'heartbeat' },
          { atMs: 3_300, replica: 'a', from: 'ejected', to: 'probing', detector: 'heartbeat' },
          { atMs: 3_600, replica: 'a', from: 'probing', to: 'healthy', detector: null },
        ],
      }),
      fault,
    );
    expect(outcome).toEqual({
      kind: 'crash',
      replica: 'a',
      label: 'a killed',
      failures: 1,
      ejectMs: 400,
      restoreMs: 600,
      backMs: 505,
    });
  });

  it('faultOutcome(): 0 when never taken out, null when not restored or not a detour client', () => {
    expect(faultOutcome(run({ calls: [call(3_000, 1, 'a')] }), fault)).toMatchObject({
      ejectMs: null,
      restoreMs: 0,
      backMs: 1,
    });
    const stuck = run({
      stateChanges: [{ atMs: 2_000, replica: 'a', from: 'healthy', to: 'ejected', detector: 'x' }],
    });
    expect(faultOutcome(stuck, fault)).toMatchObject({
      ejectMs: 1_000,
      restoreMs: null,
      backMs: null,
    });
    expect(faultOutcome({ ...stuck, detour: false }, fault)).toMatchObject({
      ejectMs: null,
      restoreMs: null,
    });
  });

  it('clientSummary() totals a run', () => {
    const summary = clientSummary(
      run({
        calls: [call(0, 1, 'a'), call(10, 3, 'b'), call(20, 1000, undefined, 'DEADLINE_EXCEEDED')],
        attempts: 4,
      }),
      [fault],
      ['a', 'b'],
      1_000,
      2_000,
    );
    expect(summary).toMatchObject({
      calls: 3,
      failures: 1,
      failuresByCode: { DEADLINE_EXCEEDED: 1 },
      attemptsPerCall: 1.33,
      p50Ms: 3,
      p99Ms: 1000,
      maxMs: 1000,
    });
    expect(summary.timeline).toHaveLength(2);
    expect(summary.faults).toHaveLength(1);
    expect(summary.failedCalls).toEqual([
      { startMs: 20, latencyMs: 1000, code: 'DEADLINE_EXCEEDED', message: null },
    ]);
  });
});

describe('the end summary', () => {
  it('says no detour call failed, and lists no call', () => {
    const lines = summaryLines(sampleSummary(), 'out');
    expect(
      lines.filter((l) => l.startsWith('Verdict: no call through detour failed')),
    ).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('  detour-'))).toEqual([]);
  });

  it('lists why failed detour calls failed, five per client at most', () => {
    const summary = sampleSummary();
    const failed = Array.from({ length: 7 }, (_, i) => ({
      startMs: 15_300 + i,
      latencyMs: 1_003,
      code: 'DEADLINE_EXCEEDED',
      message: i === 0 ? 'Deadline exceeded after 1.003s' : null,
    }));
    const clients = summary.clients.map((c) =>
      c.name === 'detour-grpc-js' ? { ...c, failures: 7, failedCalls: failed } : c,
    );
    const lines = summaryLines({ ...summary, clients, ok: false }, 'out');
    expect(lines.find((l) => l.startsWith('Verdict:'))).toMatch(
      /^Verdict: 7 of \d+ calls through detour FAILED; plain grpc-js round_robin lost \d+ of \d+\.$/,
    );
    const listed = lines.filter((l) => l.startsWith('  detour-'));
    expect(listed).toHaveLength(5);
    expect(listed[0]).toBe(
      '  detour-grpc-js: DEADLINE_EXCEEDED at 15.3 s after 1.0 s: Deadline exceeded after 1.003s',
    );
    expect(listed[1]).toBe('  detour-grpc-js: DEADLINE_EXCEEDED at 15.3 s after 1.0 s');
  });
});
