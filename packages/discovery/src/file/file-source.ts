/**
 * Endpoints from a JSON file, watched for changes: a list of endpoints (address strings or
 * `EndpointInit` objects), or an object with an `endpoints` list.
 *
 * ```json
 * { "endpoints": ["10.0.0.1:50051", { "address": "10.0.0.2:50051", "weight": 2, "priority": 1 }] }
 * ```
 *
 * The file's folder is watched (`fs.watch`), so a file replaced by a rename (the safe way to
 * write it, and how Kubernetes updates a mounted ConfigMap) is seen as soon as a change to the
 * file itself; the file is also read every `intervalMs`, for file systems where watching misses
 * changes (network mounts). A file that is missing or not valid JSON is a registry failure (the
 * last good endpoints stay); an entry that is not a valid endpoint is skipped.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import type { EndpointInit } from '@detour/core';
import { DetourConfigError, validate as v } from '@detour/core';
import {
  DiscoveryError,
  PollingSource,
  pollingOptionKeys,
  resolvePollingOptions,
  resolveSourceOptions,
  sourceOptionKeys,
} from '../source.js';
import type { PollingOptions, Resolution, SkippedRecord, SourceOptions } from '../source.js';

export interface FileSourceOptions extends SourceOptions, PollingOptions {
  /** The JSON file. Relative paths are resolved against the working directory. */
  readonly path: string;
  /**
   * Whether to watch the file's folder for changes (besides reading it every `intervalMs`).
   * Default true.
   */
  readonly watch?: boolean;
}

const fileSourceKeys = [...sourceOptionKeys, ...pollingOptionKeys, 'path', 'watch'];

/** The file source's polling defaults, ms: read every 5 s, at most every 100 ms. */
export const fileSourceDefaults = {
  intervalMs: 5_000,
  minIntervalMs: 100,
  maxIntervalMs: 5_000,
} as const;

/** Checks every option at construction time; returns the base classes' settings. */
function checkFileOptions(
  options: FileSourceOptions,
): [ReturnType<typeof resolveSourceOptions>, ReturnType<typeof resolvePollingOptions>] {
  if (typeof options !== 'object' || options === null) {
    throw new DetourConfigError('options', options, 'must be an object');
  }
  v.knownKeys('options', options, fileSourceKeys);
  const path = resolvePath(v.nonEmptyString('path', options.path));
  v.boolean('watch', options.watch, true);
  return [
    resolveSourceOptions(options, `file:${path}`),
    resolvePollingOptions(options, fileSourceDefaults),
  ];
}

/** Endpoints from a watched JSON file. */
export class FileSource extends PollingSource {
  /** The file, as an absolute path. */
  readonly path: string;
  readonly #watch: boolean;
  #watcher: FSWatcher | undefined;

  constructor(options: FileSourceOptions) {
    super(...checkFileOptions(options));
    // Checked by checkFileOptions().
    this.path = resolvePath(options.path);
    this.#watch = options.watch ?? true;
  }

  protected override start(): void {
    if (this.#watch) this.#startWatching();
    super.start();
  }

  protected override stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    super.stop();
  }

  protected async resolve(): Promise<Resolution> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DiscoveryError(this.name, `cannot read ${this.path}: ${code ?? String(error)}`, {
        cause: error,
      });
    }
    return parseEndpointFile(text, this.name);
  }

  #startWatching(): void {
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        // A rename inside the folder (an atomic replace, a ConfigMap's `..data` swap) may name
        // another entry than the file: any change there may be a change to the file.
        if (file === null || file === name || file.startsWith('..')) this.refresh();
      });
      this.#watcher.on('error', () => {
        // The folder went away: reading every `intervalMs` goes on, and reports the failure.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // The folder does not exist (yet): reading every `intervalMs` reports it.
      this.#watcher = undefined;
    }
  }
}

/**
 * Parses the file's text: a list of endpoints or `{ "endpoints": [...] }`. Not JSON, or neither
 * shape, is a failure (thrown); entries that are neither a string nor an object are skipped here,
 * and the base class skips the invalid objects.
 */
export function parseEndpointFile(text: string, source: string): Resolution {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new DiscoveryError(source, `not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' &&
        data !== null &&
        Array.isArray((data as { endpoints?: unknown }).endpoints)
      ? (data as { endpoints: unknown[] }).endpoints
      : undefined;
  if (!list) {
    throw new DiscoveryError(source, 'expected a list of endpoints or { "endpoints": [...] }');
  }
  const endpoints: EndpointInit[] = [];
  const skipped: SkippedRecord[] = [];
  list.forEach((entry: unknown, i) => {
    if (typeof entry === 'string') endpoints.push({ address: entry });
    else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry))
      endpoints.push(entry as EndpointInit);
    else
      skipped.push({
        record: `endpoints[${i}] = ${JSON.stringify(entry)}`,
        reason: 'must be an address string or an endpoint object',
      });
  });
  return { endpoints, skipped };
}

/** Endpoints from a JSON file, watched for changes. See `FileSource`. */
export function fileSource(options: FileSourceOptions): FileSource {
  return new FileSource(options);
}
