/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'Missed in these four full runs (2026-11-22, 07:32–08:17): detour-grpc-js reached 0.95×, ' +
    "0.63×, 0.65× and 1.20× grpc-js round_robin's throughput (p50 1.08×, 1.54×, 1.46×, 0.78×), " +
    "detour-fetch 0.86×, 0.90×, 0.83× and 0.66× the fetch loop's. In the closed loop the client " +
    'and the three replicas share two cores, and the numbers move by 20 % or more from run to ' +
    "run, four times the goals' margin. Run in a fresh process with only the four clients " +
    'concerned (`pnpm bench --scenarios overhead --clients ' +
    'grpc-js-round-robin,detour-grpc-js,fetch-naive,detour-fetch`, six times at 08:17–08:20, ' +
    'alternately with and without --expose-gc, results in `bench/results/overhead-only/`), detour-grpc-js reached 1.03×, 1.04×, 1.03×, ' +
    '1.09×, 0.97× and 1.03× the throughput with p50 0.90–1.09×, its CPU per call 5–12 % over ' +
    "plain grpc-js's: the gRPC goal holds there, so what the full run adds is the state the " +
    'process has built up by then (its heap, the earlier clients’ leftovers), which a forced GC ' +
    'and a 1 s pause before each client (now done) did not remove; rotating the client order ' +
    'between runs (now done) shows it is not the place in the order. The next step is one ' +
    'process per client. detour-fetch stays behind even there: 0.87–1.07× the throughput, p50 ' +
    '0.93–1.21×, 1–27 % more CPU per call than the fetch loop (a URL, a Headers copy and an ' +
    'abort signal per attempt, the health checks): its goal is missed, and its per-attempt ' +
    'work is what to cut.',
  errors:
    'Met on the medians, but not in every run: in the third run (07:54) detour-fetch failed ' +
    '5,623 of 6,000 calls here and 3,956 of 5,000 in `steady`, with latencies growing to 3–5 s ' +
    'from the first second and fewer than one attempt per call (0.83 and 0.94): the open-loop ' +
    'sender fell behind, and calls ran out of deadline before they could be sent. The benchmark ' +
    'process was out of CPU, not the replicas out of service. The machine was disturbed then: ' +
    'nginx, run just before it, had a steady p50 of 1.1 s (4.2 s in the fourth run), and grpc-js ' +
    'round_robin and grpc-js with its built-ins, run just after, 52 and 16 ms (2 ms otherwise). ' +
    'The HTTP clients built on fetch cost the whole process the most CPU per call at 1,000 ' +
    'calls/s (medians in `steady`: nginx 876 µs, detour-fetch 875, the fetch loop 786, against ' +
    '681 for grpc-js round_robin), so they go under first when the machine takes CPU away; ' +
    "cutting detour-fetch's per-attempt work (see `overhead`) gives it more room.",
  gray:
    'detour-grpc-js missed here (p99 52 ms against a steady p99 of 38 ms, medians), the other ' +
    'two did not. Its gray p99s were 68, 27, 47 and 57 ms per run, its steady p99s 27, 20, 49 ' +
    "and 169 ms: the same spread, and every client's p99 moved with the machine (grpc-js " +
    "round_robin's steady p99 was 14, 24, 384 and 60 ms). In the previous three full runs " +
    "detour-grpc-js's gray p99 was 11, 36 and 15 ms, within its goal.",
};
