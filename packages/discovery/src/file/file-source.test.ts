import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, DetourConfigError } from '@detour/core';
import type { EndpointUpdate } from '@detour/core';
import { ManualClock } from '@detour/core/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DiscoveryEvents, SkippedRecord } from '../source.js';
import { FileSource, fileSource, parseEndpointFile } from './file-source.js';

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'detour-file-source-'));
  path = join(dir, 'endpoints.json');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the file the safe way: a temporary file renamed over it. */
async function replace(data: unknown): Promise<void> {
  const temporary = `${path}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, typeof data === 'string' ? data : JSON.stringify(data));
  await rename(temporary, path);
}

function addresses(update: EndpointUpdate | undefined): string[] {
  if (update?.type !== 'full') return [];
  return update.endpoints.map((e) => (typeof e === 'string' ? e : e.address));
}

/**
 * The inotify watches this process holds (Linux: one `inotify wd:` line per watch in the
 * fdinfo of libuv's inotify descriptor). The watcher is not persistent, so Node's
 * `getActiveResourcesInfo()` does not list it.
 */
async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fdinfo')) {
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    count += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
  }
  return count;
}

function follow(source: FileSource): { updates: EndpointUpdate[]; stop: () => void } {
  const updates: EndpointUpdate[] = [];
  const stop = source.subscribe({ next: (u) => updates.push(u) });
  return { updates, stop };
}

function collect<K extends keyof DiscoveryEvents>(
  source: FileSource,
  event: K,
): DiscoveryEvents[K][] {
  const seen: DiscoveryEvents[K][] = [];
  source.on(event, (e) => seen.push(e));
  return seen;
}

describe('parseEndpointFile', () => {
  it('takes a list or { endpoints }, and skips entries that are not endpoints', () => {
    expect(parseEndpointFile('["a:1", {"address": "b:1", "weight": 2}]', 'f')).toEqual({
      endpoints: [{ address: 'a:1' }, { address: 'b:1', weight: 2 }],
      skipped: [],
    });
    const { endpoints, skipped } = parseEndpointFile('{"endpoints": ["a:1", 7, null, ["x"]]}', 'f');
    expect(endpoints).toEqual([{ address: 'a:1' }]);
    expect(skipped?.map((s: SkippedRecord) => s.record)).toEqual([
      'endpoints[1] = 7',
      'endpoints[2] = null',
      'endpoints[3] = ["x"]',
    ]);
  });

  it('throws for text that is not JSON or has neither shape', () => {
    expect(() => parseEndpointFile('{"endpoints": [', 'file:x')).toThrow(
      /^file:x: not valid JSON: /,
    );
    expect(() => parseEndpointFile('{"hosts": []}', 'file:x')).toThrow(
      'file:x: expected a list of endpoints or { "endpoints": [...] }',
    );
  });
});

describe('fileSource', () => {
  it('reads the file, and sees a replaced file at once through the watch', async () => {
    await replace(['127.0.0.1:1', '127.0.0.1:2']);
    const source = fileSource({ path, intervalMs: 60_000, maxIntervalMs: 60_000 });
    const { updates } = follow(source);
    await expect(source.ready()).resolves.toEqual([
      { address: '127.0.0.1:1' },
      { address: '127.0.0.1:2' },
    ]);
    expect(addresses(updates[0])).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    await replace({ endpoints: ['127.0.0.1:2', { address: '127.0.0.1:3', priority: 1 }] });
    // Not the 60 s poll: the watch.
    await vi.waitFor(() => expect(updates).toHaveLength(2), { timeout: 5_000, interval: 20 });
    expect(addresses(updates[1])).toEqual(['127.0.0.1:2', '127.0.0.1:3']);
    source.close();
  });

  it('reads the file every intervalMs when not watching', async () => {
    await replace(['a:1']);
    const clock = new ManualClock();
    const source = fileSource({ path, watch: false, clock, intervalMs: 1_000 });
    const { updates } = follow(source);
    await source.ready();
    await replace(['b:1']);
    expect(updates).toHaveLength(1);
    clock.advance(1_000);
    await vi.waitFor(() => expect(updates).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(addresses(updates[1])).toEqual(['b:1']);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps the last good endpoints when the file goes missing or is not JSON, and skips bad entries', async () => {
    await replace(['a:1', 'b:1']);
    const clock = new ManualClock();
    const source = fileSource({ path, watch: false, clock, intervalMs: 1_000 });
    const { updates } = follow(source);
    const errors = collect(source, 'error');
    const skipped = collect(source, 'skipped');
    await source.ready();

    await rm(path);
    clock.advance(1_000);
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect(errors[0]!.error.message).toBe(`file:${path}: cannot read ${path}: ENOENT`);
    expect(source.health()).toMatchObject({ state: 'failing', endpoints: 2 });
    expect(source.endpoints()).toHaveLength(2);

    await replace('{"endpoints": ["a:1",');
    clock.advance(errors[0]!.retryInMs!);
    await vi.waitFor(() => expect(errors).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(errors[1]!.error.message).toMatch(/not valid JSON/);

    await replace(['a:1', { address: 'c:1', weight: 0 }, { address: 'd:1', weight: 3 }]);
    clock.advance(errors[1]!.retryInMs!);
    await vi.waitFor(() => expect(updates).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(addresses(updates[1])).toEqual(['a:1', 'd:1']);
    expect(skipped.map((s) => s.record)).toEqual(['{"address":"c:1","weight":0}']);
    expect(skipped[0]!.reason).toContain('weight');
    expect(source.health().state).toBe('healthy');
    source.close();
  });

  it('does not empty the list on an empty file unless allowEmpty', async () => {
    await replace(['a:1']);
    const clock = new ManualClock();
    const source = fileSource({ path, watch: false, clock, intervalMs: 1_000 });
    const empty = collect(source, 'empty');
    follow(source);
    await source.ready();
    await replace([]);
    clock.advance(1_000);
    await vi.waitFor(() => expect(empty).toEqual([{ kept: 1 }]), { timeout: 5_000, interval: 10 });
    expect(source.endpoints()).toEqual([{ address: 'a:1' }]);
    source.close();
  });

  it('feeds a pool, and closing the pool stops the watch', async () => {
    await replace(['127.0.0.1:1']);
    const watchesBefore = await inotifyWatches();
    class CountingSource extends FileSource {
      reads = 0;
      protected override resolve(): ReturnType<FileSource['resolve']> {
        this.reads++;
        return super.resolve();
      }
    }
    const source = new CountingSource({ path, intervalMs: 60_000, maxIntervalMs: 60_000 });
    const pool = createPool({ source, metrics: false });
    await source.ready();
    expect(pool.members().map((r) => r.endpoint.address)).toEqual(['127.0.0.1:1']);
    await replace(['127.0.0.1:2']);
    await vi.waitFor(() => expect(source.reads).toBe(2), { timeout: 5_000, interval: 10 });
    expect(await inotifyWatches()).toBe(watchesBefore + 1);
    pool.close();
    expect(await inotifyWatches()).toBe(watchesBefore);
    expect(source.health().state).toBe('stopped');
    source.close();
  });

  it('rejects bad options naming the option and the value', () => {
    const cases: [unknown, string][] = [
      [undefined, 'options'],
      [{}, 'path'],
      [{ path: '' }, 'path'],
      [{ path, watch: 'yes' }, 'watch'],
      [{ path, interval: 5 }, 'options.interval'],
      [{ path, intervalMs: 0 }, 'intervalMs'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        fileSource(options as never);
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(DetourConfigError);
      expect((error as DetourConfigError).option, JSON.stringify(options)).toBe(option);
    }
  });
});
