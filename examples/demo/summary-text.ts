/** The summary the demo prints at the end, from `summary.json`'s data. */
import type { DemoSummary } from './model.js';

const duration = (value: number | null): string =>
  value === null
    ? '—'
    : value >= 1000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
/** Failed detour calls listed under the verdict, per client. */
const failedCallsShown = 5;
const latency = (value: number): string =>
  value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** The lines of the end summary. */
export function summaryLines(summary: DemoSummary, outDir: string): string[] {
  const { options } = summary;
  const lines = [
    '',
    `Summary: ${options.durationS} s, ${options.replicas} replicas, ${options.rate} calls/s per client, deadline ${options.deadlineMs} ms`,
    '',
    ...table([
      ['client', 'calls', 'failed', 'p50', 'p99', 'max', 'attempts/call'],
      ...summary.clients.map((c) => [
        c.label,
        String(c.calls),
        String(c.failures),
        latency(c.p50Ms),
        latency(c.p99Ms),
        latency(c.maxMs),
        c.attemptsPerCall === null ? '—' : c.attemptsPerCall.toFixed(2),
      ]),
    ]),
  ];
  if (summary.faults.length > 0) {
    lines.push(
      '',
      'Per fault: failed calls during it; ejected = time from the fault to the ejection, restored =',
      'from the fault ending to the replica healthy again, back = to its first answer again.',
      '',
      ...table([
        ['fault', 'client', 'failed', 'ejected', 'restored', 'back'],
        ...summary.faults.flatMap((fault, i) =>
          summary.clients.map((c) => {
            const o = c.faults[i]!;
            return [
              fault.label,
              c.name,
              String(o.failures),
              duration(o.ejectMs),
              duration(o.restoreMs),
              duration(o.backMs),
            ];
          }),
        ),
      ]),
    );
  }
  const detour = summary.clients.filter((c) => c.detour);
  const detourCalls = detour.reduce((n, c) => n + c.calls, 0);
  const detourFailed = detour.reduce((n, c) => n + c.failures, 0);
  const verdict = summary.ok
    ? `no call through detour failed (${detourCalls} calls)`
    : `${detourFailed} of ${detourCalls} calls through detour FAILED`;
  const baselines = summary.clients
    .filter((c) => !c.detour)
    .map((c) => `; ${c.label} lost ${c.failures} of ${c.calls}`);
  lines.push('', `Verdict: ${verdict}${baselines.join('')}.`);
  // Why detour's calls failed, so that a failed run can be read without its summary.json.
  for (const client of detour) {
    for (const call of client.failedCalls.slice(0, failedCallsShown)) {
      const message = call.message === null || call.message === '' ? '' : `: ${call.message}`;
      lines.push(
        `  ${client.name}: ${call.code} at ${seconds(call.startMs)} after ${duration(call.latencyMs)}${message}`,
      );
    }
  }
  lines.push(`Wrote ${outDir}/summary.json and ${outDir}/report.html`);
  return lines;
}

export function printSummary(summary: DemoSummary, outDir: string): void {
  console.log(summaryLines(summary, outDir).join('\n'));
}
