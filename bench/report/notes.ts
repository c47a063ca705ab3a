/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'In the closed loop the client and the three replicas share two cores, so every microsecond ' +
    'of CPU a client spends per call is throughput lost, and the numbers move a lot from run to ' +
    'run (grpc-js-builtin-best, the same library as grpc-js-round-robin, came out 30 % faster ' +
    'than it here). In these full runs detour-grpc-js spent 395 µs of CPU per call against 305 ' +
    'µs for plain grpc-js, and detour-fetch 482 µs against 353 µs for the fetch loop. Three more ' +
    'runs of this scenario alone (`pnpm bench --scenarios overhead --clients ' +
    'grpc-js-round-robin,detour-grpc-js,fetch-naive,detour-fetch --runs 3`, results in ' +
    '`bench/results/overhead-only/`) gave detour-grpc-js 0.97× the throughput of grpc-js ' +
    'round_robin with p50 1.08× (276 against 236 µs of CPU per call), and detour-fetch 1.19× the ' +
    'throughput of the fetch loop with p50 0.82×: the fetch gap above is noise, the gRPC one is ' +
    'not. A CPU profile of that scenario for detour-grpc-js (`node --cpu-prof --import tsx ' +
    'bench/harness/run.ts --scenarios overhead --clients detour-grpc-js --no-docs`) puts 8.6 % ' +
    'of the busy time in detour itself (the gRPC call and attempt wrappers 3.5 %, the call in ' +
    '@detour/core 2.0 %, the pool 0.6 %), 6.3 % in AbortController, EventTarget and async_hooks ' +
    "(each call creates two AbortControllers, the call's and the attempt's) and 11.7 % in " +
    'garbage collection. Creating those signals only when something listens is the next step.',
};
