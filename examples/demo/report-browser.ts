/**
 * Opens a `report.html` in headless Chromium (Debian's `/usr/bin/chromium`, driven by
 * playwright-core) and reads back what it drew: the series of every live ECharts instance, the
 * console errors and warnings, the page errors and the requests that left `file:`. For the
 * report's tests, and by hand:
 *
 *     node --import tsx examples/demo/report-browser.ts <report.html> <out.png>
 *
 * takes a full-page screenshot and prints the check as JSON.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { ClientName } from './model.js';

/** What the page drew and said. */
export interface ReportCheck {
  /** Every `.chart` container, in document order. */
  readonly charts: ReadonlyArray<{
    readonly id: string;
    /** The client the chart shows (its container's `data-client`). */
    readonly client: string | null;
    /** The series of its ECharts instance; `points` is the length of each one's `data`. */
    readonly series: ReadonlyArray<{ readonly name: string; readonly points: number }>;
  }>;
  /** Console messages of type error or warning, from load on, as `type: text`. */
  readonly consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  readonly pageErrors: string[];
  /** Requests for anything but `file:`, `data:` and `blob:` URLs (the report should make none). */
  readonly externalRequests: string[];
  readonly title: string;
}

export interface OpenReportOptions {
  /** Where to write a full-page PNG screenshot; none when absent. */
  readonly screenshotPath?: string;
  /** Viewport width, px. Defaults to 1400. */
  readonly width?: number;
  /** Viewport height, px. Defaults to 900. */
  readonly height?: number;
  /** A detour client to pick for the left column (by clicking its button) before reading. */
  readonly select?: ClientName;
  /** Defaults to Debian's `/usr/bin/chromium`. */
  readonly executablePath?: string;
}

/** How long the page gets to set `window.__reportReady`, ms. */
const readyTimeoutMs = 20_000;

/** Reads the live charts; a string, so no transpiler helper has to exist in the page. */
const readCharts = `Array.from(document.querySelectorAll('.chart')).map((el) => {
  const chart = window.echarts && window.echarts.getInstanceByDom(el);
  const series = chart ? chart.getOption().series || [] : [];
  return {
    id: el.id,
    client: el.getAttribute('data-client'),
    series: series.map((s) => ({
      name: String(s.name ?? ''),
      points: Array.isArray(s.data) ? s.data.length : 0,
    })),
  };
})`;

const isReady = 'window.__reportReady === true';

/** Opens `file` and checks it; always closes the browser. */
export async function openReport(
  file: string,
  options: OpenReportOptions = {},
): Promise<ReportCheck> {
  const browser = await chromium.launch({
    executablePath: options.executablePath ?? '/usr/bin/chromium',
    headless: true,
    // Chromium refuses to start sandboxed as root, and containers often lack the namespaces the
    // sandbox needs. The page is our own report, read from disk.
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({
      viewport: { width: options.width ?? 1400, height: options.height ?? 900 },
    });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const externalRequests: string[] = [];
    page.on('console', (message) => {
      const type = message.type();
      if (type === 'error' || type === 'warning') consoleErrors.push(`${type}: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      const url = request.url();
      if (!/^(file|data|blob):/.test(url)) externalRequests.push(url);
    });

    await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
    await page.waitForFunction(isReady, undefined, { timeout: readyTimeoutMs });
    if (options.select !== undefined) {
      await page.click(`#left-picker button[data-client="${options.select}"]`);
      await page.waitForFunction(
        `${isReady} && document.getElementById('chart-left-share')?.getAttribute('data-client') === ${JSON.stringify(options.select)}`,
        undefined,
        { timeout: readyTimeoutMs },
      );
    }
    const charts = await page.evaluate<ReportCheck['charts']>(readCharts);
    if (options.screenshotPath !== undefined) {
      await page.screenshot({ path: options.screenshotPath, fullPage: true, type: 'png' });
    }
    return { charts, consoleErrors, pageErrors, externalRequests, title: await page.title() };
  } finally {
    await browser.close();
  }
}

const argv1 = process.argv[1];
if (argv1 !== undefined && import.meta.url === pathToFileURL(resolve(argv1)).href) {
  const [file, screenshotPath] = process.argv.slice(2);
  if (file === undefined || screenshotPath === undefined) {
    console.error(
      'usage: node --import tsx examples/demo/report-browser.ts <report.html> <out.png>',
    );
    process.exitCode = 2;
  } else {
    const check = await openReport(file, { screenshotPath });
    console.log(JSON.stringify(check, null, 2));
  }
}
