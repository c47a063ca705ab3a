/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'Missed in these three full runs (2026-11-22, 13:47–14:25). The clients took turns (5 slices ' +
    "of 1 s each, rotated), since run one after the other the same client's throughput moved by " +
    'up to 2× between runs. detour-grpc-js reached 0.84×, 0.68× and 0.93× the throughput of ' +
    "grpc-js round_robin, detour-fetch 0.79×, 0.82× and 0.84× the fetch loop's. CPU time per " +
    'call in the client process (load generator included): detour-grpc-js 536, 544 and 547 µs ' +
    'against 406, 312 and 427 µs; detour-fetch 660, 562 and 800 µs against 518, 483 and 649 µs. ' +
    'With nine client processes alive (idle ones keep their health checks), every client ran ' +
    "slower than in the morning's runs, and single runs of the four clients alone, old code and " +
    'new alternating, put detour-grpc-js between 0.81× and 0.99× and detour-fetch between 0.74× ' +
    "and 0.93×: the machine (CPU steal) moves the ratio by more than the goal's margin. " +
    "Work removed per call since the morning's runs: core keeps no timer for a call's " +
    'deadline, a unary gRPC call none of its own, option checks make no arrays or names, and ' +
    'detour-fetch gives fetch one fixed-shape init per attempt (it spread and deleted fields, ' +
    'which undici then read slowly), copies headers only when given, spends no turn on a request ' +
    'without body and passes the URL as the string fetch parses anyway. A CPU profile ' +
    '(`BENCH_CLIENT_NODE_ARGS="--cpu-prof …"`) puts detour\'s own code at 8–10 % of each client ' +
    "process's busy time, spread over some 30 functions; in detour-fetch's process undici and " +
    "Node's streams also do about as much again more per call than under the fetch loop. The goal " +
    "needs roughly half of detour's per-call work gone. detour-nice-grpc, for which the goal sets " +
    'no target, reached 0.71×, 0.63× and 0.75×.',
  gray:
    'Missed for detour-grpc-js in these runs: its gray p99 was 24.0, 192 and 52.0 ms against a ' +
    'steady p99 of 22.8, 12.6 and 27.0 ms. The late replica kept getting at least 1 % of its ' +
    'calls (p99 ≈ the 50 ms delay; calls were hurt until the fault ended, ejectMs 4.7 and 4.9 s). ' +
    'P2C peak-EWMA avoids it, but its estimate decays and it is tried again now and then; the ' +
    'latency-outlier detector judges only replicas with 10 outcomes (requestVolume) in one 1 s ' +
    'interval, which a replica tried now and then may not reach in any interval (the likely ' +
    "reason it was not ejected; per-interval counts were not recorded). Gathering a replica's " +
    'outcomes over up to 5 intervals was tried after these runs: three runs of steady and gray ' +
    'alone then gave 1.10×, 1.10× and 0.90× for the three detour clients, but in the test suite ' +
    'it ejected replicas on outcomes from before they were ejected or restarted (a frozen ' +
    "replica's timeouts, a restarted one's first calls), so it was taken out again; the " +
    'detector needs a way to judge a rarely tried replica without that.',
};
