/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'In the closed loop the client and the three replicas share two cores, so every microsecond ' +
    'of CPU a client spends per call is throughput lost. In these runs detour-grpc-js spent 395 µs ' +
    'of CPU per call against 305 µs for plain grpc-js, and detour-fetch 482 µs against 353 µs for ' +
    'the fetch loop. Measured again alone, each client 4 s after a warm-up, the gRPC gap held ' +
    '(351 against 264 µs: +87 µs, +33 %) but the fetch gap nearly closed (404 against 384 µs, ' +
    '+5 %): the fetch numbers here carry the noise of the machine and of running right after ' +
    'nginx. A CPU profile of detour-grpc-js puts about 8 % of its busy time in detour itself ' +
    '(the call in @detour/core 2.8 %, the gRPC call and attempt wrappers 3.1 %, the pool 0.9 %) ' +
    'and another 4–5 % in AbortController, EventTarget and async_hooks: each call creates two ' +
    'AbortControllers (the call and the attempt), plus the garbage that goes with them. ' +
    'Creating those signals only when something listens is the next step; until then these ' +
    'goals are missed.',
};
