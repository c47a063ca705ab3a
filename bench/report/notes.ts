/**
 * What the docs say under a scenario whose goal was missed: the reason found, and what is being
 * done. Written by hand after looking at a run; `pnpm bench` and `bench/report/render.ts` print
 * them under the scenario's table.
 */
import type { Scenario } from '../harness/types.js';

export const scenarioNotes: Partial<Record<Scenario, string>> = {
  overhead:
    'detour-grpc-js: throughput met, p50 missed by a hair, in these three full runs ' +
    '(2026-12-08, 03:08–03:44). Per run it reached 0.97×, 1.00× and 0.94× the throughput of ' +
    'grpc-js round_robin with CPU per call 146 against 141 µs, 145 against 143 and 157 against ' +
    '149 (0.85× and 30–90 % more CPU per call before). Two changes: a unary attempt on a READY ' +
    "endpoint now goes straight on its connection (grpc-js 1.14's subchannel channel), skipping " +
    "grpc-js's resolving, retrying and load-balancing calls, which do nothing for an attempt " +
    'detour has already picked and timed (packages/grpc README); and each client runs one ' +
    'unmeasured slice before the measured ones, since the first slice after the warm-ups ran ' +
    'slow for whichever client had it (detour-grpc-js, first in run 2, had 0.62×, 0.69× and ' +
    '0.92× there; bench README). Its p50 is 1.09×, 1.01× and 1.11× per run: above its ' +
    'throughput ratio, because P2C peak-EWMA evens the replicas’ latencies out (a narrower ' +
    'spread: p99 22.0 against 23.0 ms in run 1), which moves the median up towards the mean. ' +
    'detour-fetch: missed, 0.93×, 0.88× and 0.91× the fetch loop (CPU per call 234 against 220 ' +
    'µs, 244 against 218, 258 against 241), p50 met (1.02×, 1.18×, 1.03×). Its own code is about ' +
    "30 µs per request (a profile of 2026-12-08 01:35: 4 µs of it Node's AbortController, the " +
    "rest spread over URL resolution, the redirect wrapper, classification and core's call); " +
    'fetch has no shortcut like the gRPC one, and no cut was found this session.',
  gray:
    'Missed on the medians for detour-grpc-js (2.00×) and detour-nice-grpc (1.49×), met for ' +
    'detour-fetch. Per run, gray p99 over steady p99 was 2.6×, 1.4× and 2.5× for ' +
    'detour-grpc-js (14.8, 10.8 and 18.6 ms against 5.6, 7.7 and 7.4), 2.6×, 0.76× and 1.5× for ' +
    'detour-nice-grpc, and 0.99×, 1.7× and 0.72× for detour-fetch. Every one of detour’s gray ' +
    "p99s is under the 50 ms the late replica adds, and every peer's is above it: the late " +
    "replica's calls stay under 1 % of the calls. This machine was quiet in these runs, and the " +
    'steady p99s (5.6–15 ms) were the lowest yet, so what the goal compares is the tail of two ' +
    'replicas carrying what three did once the late one is ejected, plus noise, against three. ' +
    'Nothing in the gray handling changed since the previous runs (1.33×, 2.05× and 0.90× on ' +
    'those medians). What remains: P2C tries the late replica again in bursts once its latency ' +
    'estimate has decayed; counting the age of its attempts in flight into the cost was tried ' +
    "and taken out (after a stall of the client's own event loop every busy replica's attempts " +
    'look old and the idle late one wins), and what would tell a client stall from a slow ' +
    'replica is still to find.',
};
