/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'Missed in these three full runs (2026-11-22, 10:26–11:05), each client in a process of its ' +
    "own: detour-grpc-js reached 0.92×, 0.86× and 1.06× grpc-js round_robin's throughput (p50 " +
    "1.10×, 1.17×, 0.93×), detour-fetch 0.88×, 0.80× and 0.98× the fetch loop's (p50 1.10×, " +
    "1.28×, 0.93×). The client process's CPU time per call (load generator included) was 413, 375 " +
    'and 332 µs for detour-grpc-js against 307, 317 and 303 µs for plain grpc-js, and 695, 627 and ' +
    '466 µs for detour-fetch against 536, 497 and 459 µs for the fetch loop. A CPU profile of the ' +
    'client processes (`BENCH_CLIENT_NODE_ARGS="--cpu-prof …"`, see bench/README.md) puts ' +
    "detour's own code at 8–9 % of the gRPC client's busy time (core 235–290 ms and the gRPC " +
    "adapter 220–260 ms of 5.9–6.4 s), with grpc-js, Node's http2 and the garbage collector " +
    'taking the same time as under plain grpc-js: the closed loop is bound by the CPU the client ' +
    "and the replicas share, so detour's per-call work (about 37 µs) shows almost fully in the " +
    'throughput, and the goal needs it roughly halved. The profile also shows why runs disagree ' +
    "by more than the goal's margin: two runs of the same detour-grpc-js client minutes apart " +
    'made 11,456 and 16,362 calls with the same busy CPU time (6.0 and 5.9 s) split the same ' +
    'way, so the CPU itself was slower during the first (vmstat showed 1–14 % steal during the ' +
    'runs). One item the profile found was fixed after these runs (the per-method channel view ' +
    'cost 3 µs per call), and is not in these numbers. detour-nice-grpc, for which the goal sets ' +
    "no target, reached 0.75×, 0.72× and 0.85×: nice-grpc's middleware chain adds its own work " +
    'per call.',
  gray:
    'Met on the medians (p99 23.0 ms against a steady p99 of 25.4 ms for detour-grpc-js), but ' +
    'per run detour-grpc-js was at 0.28×, 1.30× and 1.28× its steady p99 (gray 17.8, 33.0 and ' +
    '23.0 ms; steady 63.0, 25.5 and 18.0 ms): the ratio moves with the machine as much as with ' +
    "the fault, while every peer's gray p99 was 54–64 ms, the late replica's 50 ms showing in " +
    "each one's tail. detour-nice-grpc's steady p99 was 154 and 243 ms in two runs (25 ms in the " +
    'other), which its gray runs (23, 51 and 17 ms) did not repeat: a tail in its first seconds ' +
    'that is not explained yet.',
};
