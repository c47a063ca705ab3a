/**
 * The peer benchmark's charts: p99 latency over time, one line per client of a transport, with
 * the fault window shaded. Drawn by ECharts' server-side SVG renderer, so the SVG is static and
 * self-contained (no script, font or image to load) and shows on GitHub as an `<img>`.
 */
import * as echarts from 'echarts';
import type { BenchClientName, Scenario, Timeline, Transport } from '../harness/types.js';
import { clientOrder, transportOf } from './goals.js';

export interface TimelineChartOptions {
  /** Pixels; defaults to 900. */
  readonly width?: number;
  /** Pixels; defaults to 360. */
  readonly height?: number;
  /** Draws a dashed line at the calls' deadline, ms; none by default. */
  readonly deadlineMs?: number;
}

/**
 * One colour per client, the same in every chart; detour's clients get the strongest colours
 * and thicker lines, their peers' lines are thinner.
 */
const clientStyle: Record<BenchClientName, { readonly color: string; readonly width: number }> = {
  'grpc-js-round-robin': { color: '#8c8c8c', width: 1.5 },
  'grpc-js-builtin-best': { color: '#e08a1e', width: 1.5 },
  'nice-grpc-retry': { color: '#9467bd', width: 1.5 },
  'detour-grpc-js': { color: '#1f6fd1', width: 2.5 },
  'detour-nice-grpc': { color: '#1a9e4b', width: 2.5 },
  'fetch-naive': { color: '#8c8c8c', width: 1.5 },
  'undici-balanced-retry': { color: '#e08a1e', width: 1.5 },
  nginx: { color: '#9467bd', width: 1.5 },
  'detour-fetch': { color: '#1f6fd1', width: 2.5 },
};

/** Log axes cannot show 0; a p99 this low (ms) is drawn at this floor. */
const floorMs = 0.01;

const transportLabel: Record<Transport, string> = { grpc: 'gRPC', http: 'HTTP' };

/**
 * The SVG of one scenario's chart for one transport's clients, from the given timelines (those of
 * other scenarios and transports are left out; pass one run's). Buckets without calls are gaps.
 */
export function renderTimelineSvg(
  timelines: readonly Timeline[],
  scenario: Scenario,
  transport: Transport,
  options: TimelineChartOptions = {},
): string {
  const { width = 900, height = 360, deadlineMs } = options;
  const shown = timelines
    .filter((t) => t.scenario === scenario && transportOf(t.client) === transport)
    .sort((a, b) => clientOrder.indexOf(a.client) - clientOrder.indexOf(b.client));
  const bucketMs = shown[0]?.bucketMs ?? 100;
  const endS = Math.max(0, ...shown.map((t) => (t.points.length * t.bucketMs) / 1000));
  const fault = shown.find((t) => t.fault !== null)?.fault ?? null;

  const series = shown.map((timeline, index) => {
    const style = clientStyle[timeline.client];
    return {
      type: 'line' as const,
      name: timeline.client,
      showSymbol: false,
      connectNulls: false,
      z: style.width > 2 ? 3 : 2,
      color: style.color,
      lineStyle: { width: style.width },
      // ECharts' own marker of a missing value: the line breaks there.
      data: timeline.points.map((p) => [
        p.t / 1000,
        p.p99Ms === null ? '-' : Math.max(p.p99Ms, floorMs),
      ]),
      ...(index === 0 ? marks(fault, deadlineMs) : {}),
    };
  });

  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: 'sans-serif' },
      title: {
        text: `${scenario}: p99 latency per ${bucketMs} ms (${transportLabel[transport]})`,
        left: 12,
        top: 8,
        textStyle: { fontSize: 15, fontWeight: 'bold', color: '#222' },
      },
      legend: {
        bottom: 6,
        itemWidth: 22,
        itemHeight: 10,
        textStyle: { fontSize: 12, color: '#333' },
        data: shown.map((t) => t.client),
      },
      grid: { left: 76, right: 28, top: 44, bottom: 64 },
      xAxis: {
        type: 'value',
        name: 's',
        nameGap: 8,
        min: 0,
        max: Math.ceil(endS),
        minInterval: 1,
        axisLabel: { fontSize: 12, color: '#444' },
        splitLine: { show: false },
      },
      yAxis: {
        type: 'log',
        logBase: 10,
        name: 'p99, ms (log scale)',
        nameLocation: 'middle',
        nameGap: 52,
        nameTextStyle: { fontSize: 12, color: '#444' },
        // Room above the highest line (or the deadline) for the fault's label.
        max: (extent: { max: number }) => Math.max(extent.max, deadlineMs ?? 0) * 2.5,
        axisLabel: { fontSize: 12, color: '#444', formatter: axisMs, showMaxLabel: false },
        splitLine: { lineStyle: { color: '#e6e6e6' } },
      },
      series,
      ...(shown.length === 0
        ? {
            graphic: {
              type: 'text',
              left: 'center',
              top: 'middle',
              style: { text: 'no timeline in the results', fontSize: 14, fill: '#888' },
            },
          }
        : {}),
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** A log axis's tick (a power of ten): `0.1`, `1`, `1,000`. */
function axisMs(value: number): string {
  return value >= 1
    ? Math.round(value).toLocaleString('en-US')
    : String(Number(value.toPrecision(1)));
}

/** The fault window (shaded, labelled) and the deadline (dashed), hung on the first series. */
function marks(fault: Timeline['fault'], deadlineMs: number | undefined) {
  return {
    ...(fault === null
      ? {}
      : {
          markArea: {
            silent: true,
            itemStyle: { color: 'rgba(214, 39, 40, 0.10)' },
            label: {
              show: true,
              position: 'insideTop' as const,
              distance: 4,
              color: '#a31d1d',
              fontSize: 12,
            },
            data: [
              [{ name: fault.label, xAxis: fault.startMs / 1000 }, { xAxis: fault.endMs / 1000 }],
            ],
          },
        }),
    ...(deadlineMs === undefined
      ? {}
      : {
          markLine: {
            silent: true,
            symbol: 'none',
            lineStyle: { type: 'dashed' as const, color: '#999', width: 1 },
            label: { formatter: 'deadline', position: 'insideEndTop' as const, color: '#777' },
            data: [{ yAxis: deadlineMs }],
          },
        }),
  };
}
