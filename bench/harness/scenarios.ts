/**
 * The scenarios: what load each runs, for how long, and which fault it plays when. Faults hit
 * replica r2 (index 1) unless they hit all three. Times are ms from the start of a client's run;
 * `--quick` shortens every run (and the freeze and the outage) to keep the whole benchmark
 * within 3 minutes.
 */
import type { LocalCluster } from '../../examples/greeter-cluster/local-cluster.js';
import { setFaults } from './cluster-control.js';
import type { Scenario } from './types.js';

/** The replica the single-replica faults hit. */
export const victim = 1;

export interface FaultStep {
  readonly atMs: number;
  readonly run: (cluster: LocalCluster) => Promise<void> | void;
}

export interface ScenarioPlan {
  readonly scenario: Scenario;
  readonly loop: 'open' | 'closed';
  readonly durationMs: number;
  readonly steps: readonly FaultStep[];
  /** The fault's window, for the charts and `ejectMs`; null when healthy throughout. */
  readonly fault: {
    readonly startMs: number;
    readonly endMs: number;
    readonly label: string;
  } | null;
  /** When the replica(s) healed: `recoverMs` counts from here; null when nothing heals. */
  readonly healMs: number | null;
  /** Whether `ejectMs` applies (a single faulty replica that others can cover for). */
  readonly ejects: boolean;
  /**
   * Slices the run is cut into, the clients taking turns (`overhead`: a client's throughput is
   * compared with another's, so a noisy stretch of the machine must hit them alike); 1: each
   * client runs once, whole.
   */
  readonly slices: number;
}

const allReplicas = async (cluster: LocalCluster, faults: { errorRate: number }) => {
  await Promise.all(cluster.replicas.map((_, i) => setFaults(cluster, i, faults)));
};

/** The plan of `scenario`; `quick` shortens it. */
export function planScenario(scenario: Scenario, quick: boolean): ScenarioPlan {
  const q = (full: number, short: number): number => (quick ? short : full);
  switch (scenario) {
    case 'overhead':
      return { ...healthy(scenario, 'closed', q(5_000, 700)), slices: q(5, 2) };
    case 'steady':
      return healthy(scenario, 'open', q(5_000, 700));
    case 'crash': {
      const at = q(1_000, 400);
      const durationMs = q(6_000, 1_500);
      return {
        scenario,
        loop: 'open',
        durationMs,
        steps: [{ atMs: at, run: (c) => c.kill(victim) }],
        fault: { startMs: at, endMs: durationMs, label: 'r2 killed' },
        healMs: null,
        ejects: true,
        slices: 1,
      };
    }
    case 'recovery': {
      const at = q(1_000, 400);
      const heal = q(3_000, 1_000);
      return {
        scenario,
        loop: 'open',
        durationMs: q(9_000, 2_600),
        steps: [
          { atMs: at, run: (c) => c.kill(victim) },
          { atMs: heal, run: (c) => c.restart(victim) },
        ],
        fault: { startMs: at, endMs: heal, label: 'r2 killed, then restarted' },
        healMs: heal,
        ejects: true,
        slices: 1,
      };
    }
    case 'freeze': {
      const at = q(1_000, 400);
      const heal = at + q(5_000, 1_200);
      return {
        scenario,
        loop: 'open',
        durationMs: heal + q(3_000, 600),
        steps: [
          { atMs: at, run: (c) => c.freeze(victim) },
          { atMs: heal, run: (c) => c.thaw(victim) },
        ],
        fault: { startMs: at, endMs: heal, label: 'r2 frozen (SIGSTOP)' },
        healMs: heal,
        ejects: true,
        slices: 1,
      };
    }
    case 'gray':
      return single(scenario, q(1_000, 400), q(6_000, 1_200), { latencyMs: 50 }, 'r2 +50 ms');
    case 'errors':
      return single(
        scenario,
        q(1_000, 400),
        q(6_000, 1_200),
        { errorRate: 0.5 },
        'r2 fails half its calls',
      );
    case 'outage': {
      const at = q(1_000, 400);
      const heal = at + q(5_000, 800);
      return {
        scenario,
        loop: 'open',
        durationMs: heal + q(2_000, 600),
        steps: [
          { atMs: at, run: (c) => allReplicas(c, { errorRate: 1 }) },
          { atMs: heal, run: (c) => allReplicas(c, { errorRate: 0 }) },
        ],
        fault: { startMs: at, endMs: heal, label: 'all 3 fail every call' },
        healMs: heal,
        ejects: false,
        slices: 1,
      };
    }
    case 'flapping': {
      const durationMs = q(8_000, 1_800);
      const steps: FaultStep[] = [];
      // Down for a second, up for a second: SIGKILL, then a restart (which takes ~0.5 s).
      for (let at = q(1_000, 500); at < durationMs - 500; at += 1_000) {
        const down = steps.length % 2 === 0;
        steps.push({ atMs: at, run: (c) => (down ? c.kill(victim) : c.restart(victim)) });
      }
      return {
        scenario,
        loop: 'open',
        durationMs,
        steps,
        fault: { startMs: steps[0]!.atMs, endMs: durationMs, label: 'r2 down and up every second' },
        healMs: null,
        ejects: false,
        slices: 1,
      };
    }
  }
}

function healthy(scenario: Scenario, loop: 'open' | 'closed', durationMs: number): ScenarioPlan {
  return {
    scenario,
    loop,
    durationMs,
    steps: [],
    fault: null,
    healMs: null,
    ejects: false,
    slices: 1,
  };
}

function single(
  scenario: Scenario,
  at: number,
  durationMs: number,
  faults: { latencyMs?: number; errorRate?: number },
  label: string,
): ScenarioPlan {
  return {
    scenario,
    loop: 'open',
    durationMs,
    steps: [{ atMs: at, run: (c) => setFaults(c, victim, faults) }],
    fault: { startMs: at, endMs: durationMs, label },
    healMs: null,
    ejects: true,
    slices: 1,
  };
}
