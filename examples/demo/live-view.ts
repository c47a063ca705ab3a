/**
 * What the demo shows while it runs. On a terminal: a view redrawn twice a second, per replica
 * (process state, fault, each detour client's view of it, share of traffic, p50/p99, ejections)
 * and per client (calls, failures, attempts per call, p99), with the latest events below. When
 * stdout is not a terminal (CI, a pipe): one line per event and a progress line every 5 s.
 */
import type { LocalReplica } from '../greeter-cluster/local-cluster.js';
import { quantile } from './measure.js';
import type { CallRecord } from './measure.js';
import type { ClientLog } from './traffic.js';

/** Calls that ended this recently make up the view's share and latency columns, ms. */
const windowMs = 2_000;
const redrawMs = 500;
const progressEveryMs = 5_000;
const eventLines = 6;

export interface ViewSource {
  readonly durationMs: number;
  readonly rate: number;
  readonly outDir: string;
  readonly replicas: readonly LocalReplica[];
  readonly logs: readonly ClientLog[];
  /** ms since `t = 0`. */
  now(): number;
  /** The fault each replica has now (label), if any. */
  faultOf(replica: string): string | undefined;
}

export interface DemoView {
  /** Something happened (a fault, a state change): shown with its time. */
  event(text: string): void;
  start(): void;
  stop(): void;
}

export function createView(source: ViewSource, live: boolean): DemoView {
  return live ? new LiveView(source) : new PlainView(source);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const ms = (value: number): string =>
  Number.isNaN(value) ? '—' : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
const pad = (text: string, width: number): string => text.padEnd(width);
const padStart = (text: string, width: number): string => text.padStart(width);

/** Calls of `log` that ended within the window. `calls` is in end order. */
function recent(log: ClientLog, now: number): CallRecord[] {
  const out: CallRecord[] = [];
  for (let i = log.calls.length - 1; i >= 0; i--) {
    const c = log.calls[i]!;
    if (c.startMs + c.latencyMs < now - windowMs) break;
    out.push(c);
  }
  return out;
}

function attemptsPerCall(log: ClientLog): string {
  const attempts = log.attempts();
  if (attempts === undefined || log.calls.length === 0) return '—';
  return (attempts / log.calls.length).toFixed(2);
}

function shareOf(calls: readonly CallRecord[], replica: string): string {
  const ok = calls.filter((c) => c.replica !== undefined);
  if (ok.length === 0) return '—';
  return `${Math.round((100 * ok.filter((c) => c.replica === replica).length) / ok.length)}%`;
}

/** The view's text, line by line. */
export function renderView(source: ViewSource, events: readonly string[]): string[] {
  const now = source.now();
  const detour = source.logs.filter((l) => l.client.pool !== undefined);
  const baseline = source.logs.filter((l) => l.client.pool === undefined);
  const detourRecent = detour.flatMap((l) => recent(l, now));
  const baselineRecent = baseline.flatMap((l) => recent(l, now));
  const lines = [
    `detour demo · ${seconds(Math.min(now, source.durationMs))} of ${seconds(source.durationMs)} · ${source.rate} calls/s per client · output: ${source.outDir}`,
    '',
    [
      pad('replica', 8),
      pad('process', 8),
      pad('fault', 20),
      ...detour.map((l) => pad(l.client.name.replace('detour-', ''), 10)),
      padStart('share', 6),
      padStart('baseline', 9),
      padStart('p50', 9),
      padStart('p99', 9),
      '  ejections',
    ].join(' '),
  ];
  for (const replica of source.replicas) {
    const answered = detourRecent
      .filter((c) => c.replica === replica.name)
      .map((c) => c.latencyMs)
      .sort((a, b) => a - b);
    lines.push(
      [
        pad(replica.name, 8),
        pad(replica.state, 8),
        pad(source.faultOf(replica.name) ?? '—', 20),
        ...detour.map((l) => pad(l.states.get(replica.name) ?? '?', 10)),
        padStart(shareOf(detourRecent, replica.name), 6),
        padStart(shareOf(baselineRecent, replica.name), 9),
        padStart(ms(quantile(answered, 0.5)), 9),
        padStart(ms(quantile(answered, 0.99)), 9),
        `  ${detour.map((l) => l.ejections.get(replica.name) ?? 0).join('/')}`,
      ].join(' '),
    );
  }
  lines.push(
    '',
    [
      pad('client', 20),
      padStart('calls', 7),
      padStart('failed', 7),
      padStart('attempts/call', 14),
      padStart('p99 (2 s)', 10),
    ].join(' '),
  );
  for (const log of source.logs) {
    const latencies = recent(log, now)
      .map((c) => c.latencyMs)
      .sort((a, b) => a - b);
    lines.push(
      [
        pad(log.client.name, 20),
        padStart(String(log.calls.length), 7),
        padStart(String(log.failures), 7),
        padStart(attemptsPerCall(log), 14),
        padStart(ms(quantile(latencies, 0.99)), 10),
      ].join(' '),
    );
  }
  lines.push('', ...events.slice(-eventLines));
  return lines;
}

class LiveView implements DemoView {
  readonly #source: ViewSource;
  readonly #events: string[] = [];
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(source: ViewSource) {
    this.#source = source;
  }

  event(text: string): void {
    this.#events.push(`[${padStart(seconds(this.#source.now()), 7)}] ${text}`);
  }

  start(): void {
    this.#timer = setInterval(() => this.#draw(), redrawMs);
    this.#timer.unref();
    this.#draw();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#draw();
  }

  #draw(): void {
    // Lines longer than the terminal would wrap and throw off the redraw: cut them.
    const width = Math.max(20, (process.stdout.columns ?? 120) - 1);
    const lines = renderView(this.#source, this.#events).map((line) =>
      line.length > width ? `${line.slice(0, width - 1)}…` : line,
    );
    // Up to the first line drawn last time, clear to the end of the screen, draw again.
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[0J` : '';
    process.stdout.write(`${up}${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }
}

class PlainView implements DemoView {
  readonly #source: ViewSource;
  #timer: NodeJS.Timeout | undefined;

  constructor(source: ViewSource) {
    this.#source = source;
  }

  event(text: string): void {
    console.log(`[${padStart(seconds(this.#source.now()), 7)}] ${text}`);
  }

  start(): void {
    this.#timer = setInterval(() => this.#progress(), progressEveryMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #progress(): void {
    const parts = this.#source.logs.map(
      (l) => `${l.client.name} ${l.calls.length} calls ${l.failures} failed`,
    );
    this.event(`progress: ${parts.join(' · ')}`);
  }
}
