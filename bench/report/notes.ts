/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'Missed in these three full runs (2026-11-22, 20:48–21:26). Per run, detour-grpc-js reached ' +
    '0.84×, 0.62× and 0.85× the throughput of grpc-js round_robin (CPU per call 289 against ' +
    '225 µs, 531 against 279, 310 against 230), and detour-fetch 1.03×, 0.96× and 0.84× the ' +
    "fetch loop's: 0.947× on the medians, just under the goal, while its p50 goal is met. In this " +
    'closed loop each client process is busy all the time, so throughput follows the CPU time ' +
    'per call. Where that time goes, from a CPU profile of a `pnpm bench --scenarios overhead` ' +
    'run (21:31, `BENCH_CLIENT_NODE_ARGS="--cpu-prof …"`, read with `bench/report/profile.ts`): ' +
    "detour's own code is 8.1 % of detour-grpc-js's busy CPU, about 30 µs of its 367 µs per " +
    "call, and 7.8 % of detour-fetch's, about 42 µs of 535 (9 µs of it the AbortController that " +
    "each fetch attempt needs); the garbage collector's share is the peers' (10.6 % against " +
    '10.2 %). Beneath detour, each attempt is a whole grpc-js call (44 % of the process) or a ' +
    "whole fetch (undici, 55 %), as each of the peer's calls is; on this 2-core machine the goal " +
    'leaves detour about 20 µs per call. Run 2 is low for detour-grpc-js here (0.62×) and in the ' +
    'previous set (0.69×); it is the first client of that run’s rotation, but a run of that ' +
    'alone (`--scenarios overhead,steady --runs 4`, two clients, 21:29) gave 0.78–0.86× whichever ' +
    'went first, and no cause was found. Changed since the previous runs: a first gRPC attempt ' +
    "no longer copies the caller's metadata, the call transformer no longer copies grpc-js's " +
    "call properties, and the clock's timers are objects rather than closures (small; not " +
    'measured alone). detour-nice-grpc, for which the goal sets no target, reached 0.78×, 0.58× ' +
    'and 0.71×.',
  gray:
    'Missed on the medians for detour-grpc-js (1.33×) and detour-nice-grpc (2.05×), met for ' +
    'detour-fetch (0.90×). Per run, gray p99 over steady p99 was 1.33×, 0.92× and 1.72× for ' +
    'detour-grpc-js, 1.23×, 0.93× and 4.69× for detour-nice-grpc, and 0.53×, 0.53× and 1.79× ' +
    "for detour-fetch. All of detour's gray p99s but one are 9–31 ms, under the 50 ms the late " +
    "replica adds, while every peer's is 52–70 ms: the late replica's calls stay under 1 % of " +
    'the calls, and what sets these p99s is the machine noise that also sets the steady ones ' +
    "(12–32 ms across these runs). The exception, detour-nice-grpc's 57.7 ms in run 3, came " +
    'with `ejectMs` 0: no call during the fault was 20 ms slower than the p99 before it, so the ' +
    'whole run was slow. Changed since the previous runs: the latency-outlier detector sweeps ' +
    'every 250 ms, judges an endpoint on up to 1 s of outcomes when one interval has fewer ' +
    'than 10, ejects at the second sweep in a row that finds it an outlier, and forgets an ' +
    "ejected endpoint's outcomes. detour-grpc-js's slow calls ended 0.6 s and 0.7 s into the " +
    'fault in runs 1 and 3 (`ejectMs`; 0.8–4.9 s in the previous runs). What remains: P2C tries ' +
    'the late replica again in bursts. Once its latency estimate has decayed, every pick in the ' +
    'roughly 50 ms before the first of those calls answers may go to it. Counting how long its ' +
    "attempts have been in flight into P2C's cost cut such a burst from 13 picks to 4 in the " +
    "selector's test, but was taken out again: after a stall of the client's own event loop, " +
    'the attempts in flight on the busy replicas all look old, and the idle late replica wins ' +
    'the picks that catch up (detour-grpc-js gray p99 112 and 42 ms in the two runs made with it, ' +
    '21:51, not published). What would tell a stall from a slow replica is still to find.',
};
