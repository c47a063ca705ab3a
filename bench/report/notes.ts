/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'In the closed loop the client and the three replicas share two cores, so every microsecond ' +
    'of CPU a client spends per call is throughput lost. On 2026-11-22 (3 runs) detour-grpc-js ' +
    'spent 395 µs of CPU per call against 305 µs for plain grpc-js (+90 µs), and detour-fetch ' +
    '482 µs against 353 µs for the fetch loop (+130 µs). The pool itself adds 0.8 µs per call ' +
    '(`pool.execute()` in the core section), so the cost is in the adapters. Likely ' +
    'candidates, not yet profiled: the AbortController and attempt timer each call gets, and ' +
    "for fetch the `AbortSignal.any()` that links the caller's signal (slow in Node 20) and " +
    'the URL resolved for each attempt. Profiling and trimming them is the next step; until ' +
    'then these goals are missed. The noise is large too: grpc-js-builtin-best, ' +
    'the same library as grpc-js-round-robin, came out 30 % faster than it in the same runs.',
};
