/**
 * The contracts of the peer benchmark (`pnpm bench`): the clients it drives, and the results it
 * writes to `bench/results/latest.json`. Times are ms, CPU time µs.
 */

export type Transport = 'grpc' | 'http';

/** gRPC clients, all calling SayHello on the same greeter replicas. */
export const grpcClients = [
  'grpc-js-round-robin',
  'grpc-js-builtin-best',
  'nice-grpc-retry',
  'detour-grpc-js',
  'detour-nice-grpc',
] as const;
/** HTTP clients, all calling `GET /hello?name=` on the same replicas. */
export const httpClients = [
  'fetch-naive',
  'undici-balanced-retry',
  'nginx',
  'detour-fetch',
] as const;
export type BenchClientName = (typeof grpcClients)[number] | (typeof httpClients)[number];

/** How one call ended: the replica that answered (from the reply), or what it failed with. */
export type CallResult = { readonly replica: string } | { readonly code: string };

/** A replica as the clients see it. */
export interface BenchReplica {
  readonly name: string;
  /** `127.0.0.1:<port>` */
  readonly grpcAddress: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
}

/** One client under test, connected to the replicas. */
export interface BenchClient {
  readonly name: BenchClientName;
  readonly transport: Transport;
  /**
   * One call: SayHello `{ name: 'bench' }` (gRPC) or `GET /hello?name=bench` (HTTP), which must
   * end by `deadlineMs` from now (the client's own deadline mechanism: a gRPC deadline, an
   * `AbortSignal.timeout`…). Never rejects: failures resolve `{ code }` (a gRPC status name such
   * as `UNAVAILABLE`, `HTTP 503`, or an error code / name such as `ECONNREFUSED`, `TimeoutError`).
   * Success resolves the answering replica's name (`Hello bench from r2` → `r2`; HTTP JSON
   * `{ replica }`).
   */
  send(deadlineMs: number): Promise<CallResult>;
  /** Releases everything (channels, agents, processes); the process must be able to exit after. */
  close(): Promise<void>;
}

/** Makes a client for the replicas; resolves once it is ready to send. */
export type BenchClientFactory = (replicas: readonly BenchReplica[]) => Promise<BenchClient>;

/** The scenarios, in run order. */
export const scenarios = [
  'overhead',
  'steady',
  'crash',
  'recovery',
  'freeze',
  'gray',
  'errors',
  'outage',
  'flapping',
] as const;
export type Scenario = (typeof scenarios)[number];

/** One row of the results: one client in one scenario (one run). */
export interface ResultRow {
  readonly scenario: Scenario;
  readonly client: BenchClientName;
  readonly transport: Transport;
  /** Calls started (and ended: every call ends by its deadline). */
  readonly calls: number;
  /** Calls that failed. */
  readonly failed: number;
  /**
   * Attempts per call: requests the replicas received during the run ÷ calls, counted by the
   * replicas themselves (retries, hedges and proxy retries included; connections refused by a
   * dead replica are not requests). Null when it does not apply.
   */
  readonly attempts: number | null;
  /** Calls that ended per second of the run. */
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** The harness process's CPU time (user + system) per call, µs: the client's cost. */
  readonly cpuUsPerCall: number;
  /** From the fault until the faulty replica stopped hurting calls (see the README); null if n/a. */
  readonly ejectMs: number | null;
  /** From the heal until the healed replica had its share of answers back; null if n/a or never. */
  readonly recoverMs: number | null;
}

/** Latency over time of one client in one scenario, for the charts. */
export interface Timeline {
  readonly scenario: Scenario;
  readonly client: BenchClientName;
  readonly bucketMs: number;
  /** One point per bucket from the run's start; latencies of the calls started in it. */
  readonly points: readonly {
    readonly t: number;
    readonly calls: number;
    readonly failed: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly maxMs: number | null;
  }[];
  /** The fault, ms from the run's start; null for the healthy scenarios. */
  readonly fault: {
    readonly startMs: number;
    readonly endMs: number;
    readonly label: string;
  } | null;
}

/** `bench/results/latest.json`. */
export interface BenchResults {
  readonly schema: 'detour-bench/1';
  /** ISO 8601. */
  readonly startedAt: string;
  readonly machine: {
    readonly cores: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
    /** Versions of the clients' packages and of nginx: `{ "@grpc/grpc-js": "1.14.7", … }`. */
    readonly packages: Readonly<Record<string, string>>;
  };
  readonly parameters: {
    /** Open-loop calls per second. */
    readonly rate: number;
    /** Calls in flight in the closed-loop `overhead` scenario. */
    readonly concurrency: number;
    readonly deadlineMs: number;
    readonly quick: boolean;
    /** Length of each scenario's run per client, ms. */
    readonly durationsMs: Readonly<Record<Scenario, number>>;
    readonly scenarios: readonly Scenario[];
    readonly clients: readonly BenchClientName[];
  };
  readonly rows: readonly ResultRow[];
  readonly timelines: readonly Timeline[];
}
