/**
 * Where a client process's CPU time goes, from a V8 CPU profile of it
 * (`BENCH_CLIENT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" pnpm bench --scenarios overhead`).
 * Each sample goes to the library nearest its leaf on the stack: detour (`packages/`), grpc-js,
 * undici (Node's fetch, or the package), the harness and the clients (`bench/`, `examples/`), else
 * Node itself (http2, streams, timers called from the load loop); the garbage collector and V8's
 * own work stay apart.
 * So a Node function detour calls (a timer, a promise) counts as detour's, and one grpc-js calls
 * as grpc-js's.
 *
 *   TSX_TSCONFIG_PATH=bench/tsconfig.json node --import tsx bench/report/profile.ts \
 *     <file.cpuprofile> [--us-per-call <client CPU µs per call>] [--top <n>]
 *
 * With `--us-per-call` (the `cpuUsPerCall` of the client's `overhead` row), shares are also given
 * in µs per call.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: CallFrame;
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Owner = 'detour' | 'grpc-js' | 'undici' | 'bench' | 'node' | 'gc' | 'v8';

export interface Attribution {
  /** Busy time (idle left out), µs. */
  readonly busyUs: number;
  /** µs by owner. */
  readonly owners: Readonly<Record<Owner, number>>;
  /** µs by detour function (`name file:line`), largest first. */
  readonly detour: readonly (readonly [string, number])[];
}

function libraryOf(url: string): Owner | undefined {
  if (url.includes('/packages/')) return 'detour';
  if (url.includes('@grpc/grpc-js')) return 'grpc-js';
  if (url.includes('/undici/') || url.startsWith('node:internal/deps/undici')) return 'undici';
  if (url.includes('/bench/') || url.includes('/examples/')) return 'bench';
  return undefined;
}

/** Attributes every busy sample of `profile` (see the header). */
export function attribute(profile: CpuProfile): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const owners: Record<Owner, number> = {
    detour: 0,
    'grpc-js': 0,
    undici: 0,
    bench: 0,
    node: 0,
    gc: 0,
    v8: 0,
  };
  const detour = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(profile.samples[i]!)?.callFrame;
    if (!leaf || leaf.functionName === '(idle)') continue;
    busyUs += us;
    if (leaf.url === '' && leaf.functionName === '(garbage collector)') {
      owners.gc += us;
      continue;
    }
    if (leaf.url === '' && leaf.functionName === '(program)') {
      owners.v8 += us;
      continue;
    }
    let owner: Owner = 'node';
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      const library = libraryOf(frame.url);
      if (library === undefined) continue;
      owner = library;
      if (library === 'detour') {
        const file = frame.url.split('/').slice(-2).join('/');
        const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
        detour.set(key, (detour.get(key) ?? 0) + us);
      }
      break;
    }
    owners[owner] += us;
  }
  return { busyUs, owners, detour: [...detour].sort((a, b) => b[1] - a[1]) };
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'us-per-call': { type: 'string' }, top: { type: 'string' } },
  });
  const file = positionals[0];
  if (file === undefined)
    throw new Error('usage: profile.ts <file.cpuprofile> [--us-per-call <µs>] [--top <n>]');
  const result = attribute(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const perCall = values['us-per-call'] === undefined ? undefined : Number(values['us-per-call']);
  if (perCall !== undefined && !(perCall > 0)) {
    throw new Error(`--us-per-call must be a number > 0, got ${values['us-per-call']}`);
  }
  const show = (us: number): string => {
    const share = us / result.busyUs;
    const call =
      perCall === undefined ? '' : `  ${(share * perCall).toFixed(1).padStart(6)} µs/call`;
    return `${(share * 100).toFixed(1).padStart(5)} %${call}`;
  };
  console.log(`busy ${(result.busyUs / 1e6).toFixed(2)} s`);
  for (const [owner, us] of Object.entries(result.owners))
    console.log(`${owner.padEnd(8)} ${show(us)}`);
  console.log('detour, by function:');
  for (const [name, us] of result.detour.slice(0, Number(values.top ?? 20))) {
    console.log(`  ${show(us)}  ${name}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main();
