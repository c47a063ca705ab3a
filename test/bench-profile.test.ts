/** bench/report/profile.ts: where a client process's CPU time goes, by library. */
import { describe, expect, it } from 'vitest';
import { attribute } from '../bench/report/profile.js';
import type { CpuProfile } from '../bench/report/profile.js';

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

// root → makeUnaryRequest (grpc-js) → DetourCall.start (detour) → setTimeout (node)
//                                   → http2 request (node)
// root → (idle), (garbage collector), (program); root → tick (bench) → Promise.then (node)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 6, 7, 8, 9] },
    {
      id: 2,
      callFrame: frame(
        'makeUnaryRequest',
        'file:///x/node_modules/@grpc/grpc-js/build/src/client.js',
        122,
      ),
      children: [3, 5],
    },
    {
      id: 3,
      callFrame: frame('start', 'file:///x/packages/grpc/dist/esm/channel/detour-call.js', 9),
      children: [4],
    },
    { id: 4, callFrame: frame('setTimeout', 'node:timers') },
    { id: 5, callFrame: frame('request', 'node:internal/http2/core') },
    { id: 6, callFrame: frame('(idle)', '') },
    { id: 7, callFrame: frame('(garbage collector)', '') },
    { id: 8, callFrame: frame('(program)', '') },
    { id: 9, callFrame: frame('tick', 'file:///x/bench/harness/load.ts'), children: [10] },
    { id: 10, callFrame: frame('then', 'node:internal/promise') },
  ],
  samples: [4, 3, 5, 2, 6, 7, 8, 10, 9, 6],
  timeDeltas: [10, 20, 40, 5, 1000, 30, 7, 3, 2, 1000],
};

describe('bench profile attribution', () => {
  it('gives each busy sample to the library nearest its leaf, idle left out', () => {
    const result = attribute(profile);
    expect(result.busyUs).toBe(117);
    expect(result.owners).toEqual({
      detour: 30, // its own 20, and the 10 of the timer it set
      'grpc-js': 45, // its own 5, and the 40 of the http2 request it made
      undici: 0,
      bench: 5,
      node: 0,
      gc: 30,
      v8: 7,
    });
    expect(result.detour).toEqual([['start channel/detour-call.js:10', 30]]);
  });

  it("counts undici's fetch as undici's, not as its caller's", () => {
    const result = attribute({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2] },
        {
          id: 2,
          callFrame: frame('operation', 'file:///x/packages/http/dist/esm/create-fetch.js'),
          children: [3],
        },
        { id: 3, callFrame: frame('fetch', 'node:internal/deps/undici/undici'), children: [4] },
        { id: 4, callFrame: frame('write', 'node:net') },
      ],
      samples: [2, 3, 4],
      timeDeltas: [4, 6, 9],
    });
    expect(result.owners.detour).toBe(4);
    expect(result.owners.undici).toBe(15);
  });

  it('counts Node work called from nowhere else as node', () => {
    const result = attribute({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2] },
        {
          id: 2,
          callFrame: frame('processTicksAndRejections', 'node:internal/process/task_queues'),
        },
      ],
      samples: [2],
      timeDeltas: [12],
    });
    expect(result.owners.node).toBe(12);
    expect(result.busyUs).toBe(12);
  });
});
