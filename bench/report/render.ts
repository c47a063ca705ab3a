/**
 * Writes the `peers` section of docs/benchmarks.md and its charts (docs/bench/*.svg) from
 * results files of `pnpm bench`; several files are several runs, reported as medians.
 *
 *   node --import tsx bench/report/render.ts [results.json …]
 *
 * Without a file, reads bench/results/latest.json. Options: --docs FILE and --charts DIR (where
 * to write; default docs/benchmarks.md and docs/bench), --sample [SEED] (synthetic results from
 * sample-results.ts instead of files, for working on the report).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResults } from '../harness/types.js';
import { writeBenchmarkDocs } from './markdown.js';
import { scenarioNotes } from './notes.js';
import { sampleResults } from './sample-results.js';

const latest = fileURLToPath(new URL('../results/latest.json', import.meta.url));

function parseArgs(args: readonly string[]) {
  const files: string[] = [];
  let docsFile: string | undefined;
  let chartsDir: string | undefined;
  let sample: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--docs') docsFile = value();
    else if (arg === '--charts') chartsDir = value();
    else if (arg === '--sample') {
      const next = args[i + 1];
      sample = next !== undefined && /^\d+$/.test(next) ? Number(args[++i]) : 1;
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else files.push(arg);
  }
  return { files, docsFile, chartsDir, sample };
}

function readResults(file: string): BenchResults {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const schema = (parsed as { schema?: unknown } | null)?.schema;
  if (schema !== 'detour-bench/1') {
    throw new Error(`${file} is not a detour-bench/1 results file (schema: ${String(schema)})`);
  }
  return parsed as BenchResults;
}

try {
  const args = parseArgs(process.argv.slice(2));
  const runs =
    args.sample === undefined
      ? (args.files.length > 0 ? args.files : [latest]).map(readResults)
      : [sampleResults(args.sample)];
  const written = await writeBenchmarkDocs(runs, {
    notes: scenarioNotes,
    ...(args.docsFile === undefined ? {} : { docsFile: args.docsFile }),
    ...(args.chartsDir === undefined ? {} : { chartsDir: args.chartsDir }),
  });
  console.log(`wrote the peers section of ${written.docsFile} and ${written.charts.length} charts`);
} catch (error) {
  console.error(`bench/report/render: ${(error as Error).message}`);
  process.exitCode = 1;
}
