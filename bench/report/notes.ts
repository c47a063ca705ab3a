/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'In the closed loop the client and the three replicas share two cores, so every microsecond ' +
    'of CPU a client spends per call is throughput lost, and the numbers move by 20 % or more ' +
    "from run to run, more than the goals' 5 % margin (per run, detour-grpc-js reached 1.07×, " +
    '1.09× and 1.06× the throughput of grpc-js round_robin, with p50 1.07×, 0.92× and 0.95×; ' +
    "the table compares medians). detour's gRPC adapter no longer creates an AbortController " +
    "per call and per attempt (`pool.start()` and the attempt's `onAbort()`): its CPU per call " +
    'went from 395 against 305 µs for plain grpc-js (+30 %) in the previous full runs to 361 ' +
    'against 336 µs (+7 %) in these. detour-fetch runs last of nine clients in each scenario ' +
    'and loses here (0.80×), but three runs of this scenario alone (`pnpm bench --scenarios ' +
    'overhead --clients grpc-js-round-robin,detour-grpc-js,fetch-naive,detour-fetch`, results ' +
    'in `bench/results/overhead-only/`, the last three files) gave it 1.07×, 0.98× and 1.21× the ' +
    "fetch loop's throughput, and detour-grpc-js 1.09×, 0.86× and 1.05× grpc-js round_robin's: " +
    'in the full run the late clients pay for what the earlier ones left behind in the process ' +
    '(their heap, their sockets closing), which the harness does not yet isolate.',
  gray:
    'detour-nice-grpc and detour-fetch missed here, detour-grpc-js did not. Their gray p99s ' +
    '(29–50 ms and 70–163 ms per run) are within the spread of steady p99s the same clients had ' +
    'in the same runs (16–46 ms and 10–628 ms): the machine was disturbed in the second run ' +
    '(steady p50 42 ms for detour-fetch against 1–2 ms otherwise). Run alone just after (`pnpm ' +
    'bench --scenarios steady,gray --clients detour-fetch,detour-grpc-js`, twice) detour-fetch ' +
    'had a gray p99 of 12 and 16 ms against a steady p99 of 62 and 61 ms, and in the previous ' +
    'three full runs its gray p99 was 11, 12 and 36 ms.',
};
