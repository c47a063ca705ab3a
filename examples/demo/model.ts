/**
 * What the demo measures and writes to `summary.json`; `report.html` is drawn from it alone.
 * Times are ms since the demo's traffic started (`t = 0`), latencies in ms. The format is
 * versioned by `schema`.
 */

/** The demo's clients, in the order they are shown. */
export const clientNames = [
  'detour-grpc-js',
  'detour-nice-grpc',
  'detour-fetch',
  'baseline-grpc-js',
] as const;
export type ClientName = (typeof clientNames)[number];

/** The faults the schedule plays. */
export const faultKinds = ['crash', 'freeze', 'slow', 'errors'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** A fault the schedule played on one replica, from `startMs` until it was undone at `endMs`. */
export interface FaultWindow {
  readonly kind: FaultKind;
  /** The replica's name (`r1`, `r2`, …). */
  readonly replica: string;
  readonly startMs: number;
  readonly endMs: number;
  /** For people: `r1 killed`, `r2 frozen`, `r3 +80 ms`, `r1 50% UNAVAILABLE`. */
  readonly label: string;
}

/** A detour endpoint state, as `pool.snapshot()` reports it. */
export type EndpointState = 'healthy' | 'ejected' | 'probing' | 'draining';

/** One time bucket of a client's calls, by the time each call started. */
export interface Bucket {
  /** Start of the bucket. */
  readonly t: number;
  /** Calls started in the bucket (all of them have ended when the summary is written). */
  readonly calls: number;
  /** Of those, the ones that failed. */
  readonly failures: number;
  /** Latency percentiles of those calls, failed ones included; null when there were none. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /**
   * Successful calls answered by each replica (every replica is a key, 0 when it answered none):
   * the replica's share of traffic is `byReplica[name] / (calls - failures)`.
   */
  readonly byReplica: Readonly<Record<string, number>>;
}

/** A detour client's endpoint changing state (pool `state-change` events). */
export interface StateChange {
  readonly atMs: number;
  readonly replica: string;
  readonly from: EndpointState;
  readonly to: EndpointState;
  /** The detector behind the change, if one was. */
  readonly detector: string | null;
}

/** How one client lived through one fault. */
export interface FaultOutcome {
  readonly kind: FaultKind;
  readonly replica: string;
  readonly label: string;
  /** The client's calls that started during the fault (`startMs` ≤ start < `endMs`) and failed. */
  readonly failures: number;
  /**
   * From the fault's start until the client's pool ejected the replica; null when it was not
   * ejected before the fault ended, and for the baseline (it has no such state).
   */
  readonly ejectMs: number | null;
  /**
   * From the fault's end (restart, thaw, restore) until the pool had the replica `healthy` again;
   * 0 when it was never taken out, null when it was not restored by the end of the demo and for
   * the baseline.
   */
  readonly restoreMs: number | null;
  /**
   * From the fault's end until the replica answered one of this client's calls again; null when
   * it answered none before the demo ended. Applies to every client, baseline included.
   */
  readonly backMs: number | null;
}

/** One client's whole run. */
export interface ClientSummary {
  readonly name: ClientName;
  /** For people: `detour + grpc-js`, `plain grpc-js round_robin`, … */
  readonly label: string;
  readonly transport: 'grpc' | 'http';
  /** Whether the calls went through detour (the baseline's did not). */
  readonly detour: boolean;
  readonly calls: number;
  readonly failures: number;
  /** Failed calls by status: a gRPC status name (`DEADLINE_EXCEEDED`), an HTTP status or an error code. */
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** The first failed calls to end (at most `failedCallsKept`), in that order, to tell why they failed. */
  readonly failedCalls: readonly FailedCall[];
  /** Attempts sent per call (retries, hedges included); null for the baseline (no retries). */
  readonly attemptsPerCall: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly timeline: readonly Bucket[];
  /** Empty for the baseline. */
  readonly stateChanges: readonly StateChange[];
  /** One entry per entry of `DemoSummary.faults`, in the same order. */
  readonly faults: readonly FaultOutcome[];
}

/** How many failed calls a client's summary lists. */
export const failedCallsKept = 20;

/** One failed call, as `ClientSummary.failedCalls` lists it. */
export interface FailedCall {
  /** When it started, ms after the load began. */
  readonly startMs: number;
  /** How long it took to fail, ms. */
  readonly latencyMs: number;
  /** As in `failuresByCode`. */
  readonly code: string;
  /** The error's message (gRPC details, fetch's message and cause), if it had one. */
  readonly message: string | null;
}

/** The options a run used. */
export interface DemoRunOptions {
  readonly durationS: number;
  readonly replicas: number;
  /** Calls started per second by each client. */
  readonly rate: number;
  readonly chaos: boolean;
  /** The faults the schedule played (all four unless narrowed by `--faults`). */
  readonly faults: readonly FaultKind[];
  /** Each call's deadline, ms. */
  readonly deadlineMs: number;
}

/** `summary.json`. */
export interface DemoSummary {
  readonly schema: 'detour-demo/1';
  /** Wall-clock time of `t = 0`, ISO 8601. */
  readonly startedAt: string;
  /** How long traffic ran, ms. */
  readonly durationMs: number;
  /** Width of the timeline buckets, ms. */
  readonly bucketMs: number;
  readonly options: DemoRunOptions;
  /** Replica names in cluster order. */
  readonly replicas: readonly string[];
  readonly faults: readonly FaultWindow[];
  readonly clients: readonly ClientSummary[];
  /** True when no call through a detour client failed (every SayHello is idempotent). */
  readonly ok: boolean;
  /** Node version and platform, for the record. */
  readonly machine: { readonly node: string; readonly platform: string; readonly cpus: number };
}
