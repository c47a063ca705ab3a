/**
 * A synthetic `summary.json` for developing report.html and for its tests, so neither needs a
 * 60 s demo run. It is simulated, call by call, rather than written out: three replicas, 60 s of
 * traffic at 50 calls/s per client, 1 s buckets and the four faults (r1 killed 6–18 s, r2 frozen
 * 21–30 s, r3 +80 ms 33–42 s, r1 50 % UNAVAILABLE 42–51 s). The detour clients eject the faulty
 * replica, retry or hedge around it and lose no call; the baseline keeps sending a third of its
 * calls to whatever replica it is connected to and loses those the fault breaks. Randomness is
 * seeded per client, so every call returns the same summary. The numbers are made from the
 * simulated calls by `measure.ts`, as the demo makes them from real ones.
 */
import { clientSummary } from './measure.js';
import type { ClientRun } from './measure.js';
import type {
  ClientName,
  ClientSummary,
  DemoSummary,
  EndpointState,
  FaultKind,
  FaultWindow,
  StateChange,
} from './model.js';

const durationMs = 60_000;
const bucketMs = 1_000;
/** Calls started per second by each client. */
const rate = 50;
const deadlineMs = 1_000;
const replicas = ['r1', 'r2', 'r3'] as const;
const faults: readonly FaultWindow[] = [
  { kind: 'crash', replica: 'r1', startMs: 6_000, endMs: 18_000, label: 'r1 killed' },
  { kind: 'freeze', replica: 'r2', startMs: 21_000, endMs: 30_000, label: 'r2 frozen' },
  { kind: 'slow', replica: 'r3', startMs: 33_000, endMs: 42_000, label: 'r3 +80 ms' },
  { kind: 'errors', replica: 'r1', startMs: 42_000, endMs: 51_000, label: 'r1 50% UNAVAILABLE' },
];
/** Added latency of the slow fault, ms. */
const slowByMs = 80;
/** After this long, a detour client hedges a call its replica has not answered, ms. */
const hedgeAfterMs = 250;
/** The baseline notices a killed replica's connection closing after this long, ms. */
const disconnectAfterMs = 200;
/** The baseline reconnects to a restarted replica this long after the restart, ms. */
const reconnectAfterMs = 1_200;
/** Relative weight a latency-aware detour selector gives a slow replica it has not ejected. */
const slowWeight = 0.35;

/** How a detour client's pool reacts to a fault: ejected this long after the start, healthy this long after the end. */
interface Reaction {
  readonly ejectAfterMs: number;
  readonly healthyAfterMs: number;
  readonly detector: string;
}

interface ClientPlan {
  readonly name: ClientName;
  readonly label: string;
  readonly transport: 'grpc' | 'http';
  readonly seed: number;
  /** For detour clients, how the pool reacts to each fault (absent: it does not eject). */
  readonly reactions: Partial<Record<FaultKind, Reaction>> | null;
}

const plans: readonly ClientPlan[] = [
  {
    name: 'detour-grpc-js',
    label: 'detour + grpc-js',
    transport: 'grpc',
    seed: 1,
    reactions: {
      crash: { ejectAfterMs: 180, healthyAfterMs: 1_400, detector: 'consecutive-failures' },
      freeze: { ejectAfterMs: 1_100, healthyAfterMs: 1_600, detector: 'phi-accrual' },
      slow: { ejectAfterMs: 2_300, healthyAfterMs: 1_500, detector: 'latency-outlier' },
      errors: { ejectAfterMs: 350, healthyAfterMs: 1_200, detector: 'consecutive-failures' },
    },
  },
  {
    name: 'detour-nice-grpc',
    label: 'detour + nice-grpc',
    transport: 'grpc',
    seed: 2,
    reactions: {
      crash: { ejectAfterMs: 220, healthyAfterMs: 1_500, detector: 'consecutive-failures' },
      freeze: { ejectAfterMs: 1_250, healthyAfterMs: 1_700, detector: 'phi-accrual' },
      errors: { ejectAfterMs: 420, healthyAfterMs: 1_300, detector: 'consecutive-failures' },
    },
  },
  {
    name: 'detour-fetch',
    label: 'detour + fetch',
    transport: 'http',
    seed: 3,
    reactions: {
      crash: { ejectAfterMs: 90, healthyAfterMs: 1_300, detector: 'consecutive-failures' },
      freeze: { ejectAfterMs: 1_400, healthyAfterMs: 1_800, detector: 'heartbeat' },
      errors: { ejectAfterMs: 300, healthyAfterMs: 1_250, detector: 'outlier-detection' },
    },
  },
  {
    name: 'baseline-grpc-js',
    label: 'plain grpc-js round_robin',
    transport: 'grpc',
    seed: 4,
    reactions: null,
  },
];

/** The synthetic summary; a new object on every call. */
export function sampleSummary(): DemoSummary {
  const clients = plans.map(simulateClient);
  return {
    schema: 'detour-demo/1',
    startedAt: '2026-03-02T09:30:00.000Z',
    durationMs,
    bucketMs,
    options: {
      durationS: durationMs / 1_000,
      replicas: replicas.length,
      rate,
      chaos: true,
      faults: faults.map((fault) => fault.kind),
      deadlineMs,
    },
    replicas: [...replicas],
    faults,
    clients,
    ok: clients.every((client) => !client.detour || client.failures === 0),
    machine: { node: 'v20.19.0', platform: 'linux', cpus: 8 },
  };
}

/** One call as the simulation saw it. */
interface Call {
  readonly t: number;
  readonly latencyMs: number;
  /** The replica that answered it; null when it failed. */
  readonly replica: string | null;
  readonly code: string | null;
  readonly attempts: number;
}

function simulateClient(plan: ClientPlan): ClientSummary {
  const random = mulberry32(plan.seed);
  const stateChanges = plan.reactions === null ? [] : poolChanges(plan.reactions);
  const calls: Call[] = [];
  let next = 0;
  for (let t = 0; t < durationMs; t += 1_000 / rate) {
    if (plan.reactions === null) {
      calls.push(baselineCall(t, next++, random));
    } else {
      calls.push(detourCall(t, stateChanges, random));
    }
  }

  const run: ClientRun = {
    name: plan.name,
    label: plan.label,
    transport: plan.transport,
    detour: plan.reactions !== null,
    calls: calls.map((call) => ({
      startMs: call.t,
      latencyMs: call.latencyMs,
      replica: call.replica ?? undefined,
      code: call.code ?? undefined,
    })),
    stateChanges,
    attempts: plan.reactions === null ? undefined : calls.reduce((n, call) => n + call.attempts, 0),
  };
  return clientSummary(run, faults, replicas, bucketMs, durationMs);
}

/**
 * The pool's state changes: each reaction ejects the replica, probes it back after the fault and
 * marks it healthy; while a killed replica is down, one probe fails halfway through.
 */
function poolChanges(reactions: Partial<Record<FaultKind, Reaction>>): StateChange[] {
  const changes: StateChange[] = [];
  const change = (
    atMs: number,
    replica: string,
    from: EndpointState,
    to: EndpointState,
    detector: string | null,
  ): void => {
    changes.push({ atMs, replica, from, to, detector });
  };
  for (const fault of faults) {
    const reaction = reactions[fault.kind];
    if (reaction === undefined) continue;
    const { replica } = fault;
    change(fault.startMs + reaction.ejectAfterMs, replica, 'healthy', 'ejected', reaction.detector);
    if (fault.kind === 'crash') {
      const probeAt = Math.round((fault.startMs + fault.endMs) / 2);
      change(probeAt, replica, 'ejected', 'probing', null);
      change(probeAt + 40, replica, 'probing', 'ejected', null);
    }
    const healthyAt = fault.endMs + reaction.healthyAfterMs;
    change(healthyAt - 300, replica, 'ejected', 'probing', null);
    change(healthyAt, replica, 'probing', 'healthy', null);
  }
  return changes.sort((a, b) => a.atMs - b.atMs);
}

function stateAt(changes: readonly StateChange[], replica: string, t: number): EndpointState {
  let state: EndpointState = 'healthy';
  for (const change of changes) {
    if (change.atMs > t) break;
    if (change.replica === replica) state = change.to;
  }
  return state;
}

function faultAt(replica: string, t: number): FaultWindow | undefined {
  return faults.find((f) => f.replica === replica && t >= f.startMs && t < f.endMs);
}

/** A successful attempt's latency on a healthy replica: about 1 ms, with a tail. */
function serviceMs(random: () => number): number {
  return 0.7 + random() * 0.6 + random() ** 6 * 6;
}

/** A detour call: picks a pool member by weight, retries or hedges on another one when it fails. */
function detourCall(t: number, changes: readonly StateChange[], random: () => number): Call {
  const tried = new Set<string>();
  let latencyMs = 0;
  for (let attempts = 1; ; attempts++) {
    const members = replicas.filter((r) => !tried.has(r) && stateAt(changes, r, t) === 'healthy');
    const weights = members.map((r) => (faultAt(r, t)?.kind === 'slow' ? slowWeight : 1));
    const replica = members[pick(weights, random)];
    if (replica === undefined) {
      return { t, latencyMs: round(latencyMs, 2), replica: null, code: 'UNAVAILABLE', attempts };
    }
    tried.add(replica);
    const fault = faultAt(replica, t);
    if (fault?.kind === 'crash' || (fault?.kind === 'errors' && random() < 0.5)) {
      latencyMs += 0.5 + random();
      continue;
    }
    if (fault?.kind === 'freeze') {
      latencyMs += hedgeAfterMs;
      continue;
    }
    latencyMs += serviceMs(random) + (fault?.kind === 'slow' ? slowByMs : 0);
    return { t, latencyMs: round(latencyMs, 2), replica, code: null, attempts };
  }
}

/** A baseline call: round_robin over the replicas it is connected to, no retry. */
function baselineCall(t: number, index: number, random: () => number): Call {
  const connected = replicas.filter((r) => {
    const fault = faultAt(r, t);
    if (fault?.kind === 'crash' && t >= fault.startMs + disconnectAfterMs) return false;
    const restarted = faults.find(
      (f) =>
        f.kind === 'crash' && f.replica === r && t >= f.endMs && t < f.endMs + reconnectAfterMs,
    );
    return restarted === undefined;
  });
  const replica = connected[index % connected.length] ?? replicas[0];
  const fault = faultAt(replica, t);
  const failed = (code: string, latencyMs: number): Call => ({
    t,
    latencyMs: round(latencyMs, 2),
    replica: null,
    code,
    attempts: 1,
  });
  if (fault?.kind === 'crash') return failed('UNAVAILABLE', 0.5 + random());
  if (fault?.kind === 'freeze') return failed('DEADLINE_EXCEEDED', deadlineMs + random() * 3);
  if (fault?.kind === 'errors' && random() < 0.5) return failed('UNAVAILABLE', 0.5 + random());
  const latencyMs = serviceMs(random) + (fault?.kind === 'slow' ? slowByMs : 0);
  return { t, latencyMs: round(latencyMs, 2), replica, code: null, attempts: 1 };
}

/** An index into `weights`, chosen in proportion to them; -1 when there is none. */
function pick(weights: readonly number[], random: () => number): number {
  const total = weights.reduce((sum, w) => sum + w, 0);
  let x = random() * total;
  for (const [i, w] of weights.entries()) {
    x -= w;
    if (x < 0) return i;
  }
  return weights.length - 1;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
