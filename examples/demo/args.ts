/** The demo's command line: `pnpm demo [--duration s] [--replicas n] [--rate n] [--no-chaos] …`. */
import { parseArgs } from 'node:util';
import { faultKinds } from './model.js';
import type { FaultKind } from './model.js';

export interface DemoArgs {
  /** How long traffic runs, s. Default 60. */
  readonly durationS: number;
  /** Greeter replicas. Default 3. */
  readonly replicas: number;
  /** Calls started per second by each client. Default 50. */
  readonly rate: number;
  /** Every call's deadline, ms. Default 1000. */
  readonly deadlineMs: number;
  /** Play the fault schedule. Default true (`--no-chaos` turns it off). */
  readonly chaos: boolean;
  /** The faults to play, in schedule order. Default all four. */
  readonly faults: readonly FaultKind[];
  /** Output folder; undefined: `demo-output/<date>-<time>` in the working directory. */
  readonly out: string | undefined;
  /** Redraw a live view (true) or print plain progress lines. Default: whether stdout is a TTY. */
  readonly live: boolean | undefined;
  /**
   * Where detour's clients find the replicas: `static`, a fixed list (default), or `etcd`: the
   * replicas register themselves in etcd and the clients watch it.
   */
  readonly registry: 'static' | 'etcd';
  /** etcd client URLs (`--etcd`); undefined with `--registry etcd`: the demo starts its own etcd. */
  readonly etcd: readonly string[] | undefined;
  readonly help: boolean;
}

export const usage = `Usage: pnpm demo [options]

Starts greeter replicas on 127.0.0.1, sends SayHello through detour (grpc-js, nice-grpc, fetch)
and through a plain grpc-js round_robin client while replicas are killed, frozen, slowed and made
to fail, then writes summary.json and report.html. Exits 0 when no call through detour failed.

Options:
  --duration <seconds>   how long traffic runs (default 60; the fault schedule scales to it)
  --replicas <n>         greeter replicas, 2 to 9 (default 3)
  --rate <n>             calls per second started by each client, 1 to 1000 (default 50)
  --deadline <ms>        every call's deadline, 100 to 60000 ms (default 1000)
  --no-chaos             play no faults
  --faults <list>        faults to play, comma-separated: crash,freeze,slow,errors (default all)
  --out <folder>         where summary.json and report.html go (default demo-output/<date>-<time>)
  --live / --no-live     live terminal view or plain lines (default: live when stdout is a TTY)
  --registry <kind>      where detour's clients find the replicas: static (a fixed list, default)
                         or etcd (the replicas register under a lease; the clients watch etcd)
  --etcd <urls>          etcd client URLs, comma-separated (implies --registry etcd; default: the
                         demo starts an etcd server of its own, which needs etcd installed)
  -h, --help             show this text`;

/** A bad command line; the message names the option and the value. */
export class DemoUsageError extends Error {
  override readonly name = 'DemoUsageError';
}

/** Parses the demo's arguments. @throws DemoUsageError */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        replicas: { type: 'string' },
        rate: { type: 'string' },
        deadline: { type: 'string' },
        'no-chaos': { type: 'boolean' },
        faults: { type: 'string' },
        out: { type: 'string' },
        live: { type: 'boolean' },
        'no-live': { type: 'boolean' },
        registry: { type: 'string' },
        etcd: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new DemoUsageError((error as Error).message);
  }
  const chaos = values['no-chaos'] !== true;
  if (!chaos && values.faults !== undefined) {
    throw new DemoUsageError(`--faults ${values.faults} cannot be combined with --no-chaos`);
  }
  if (values.live === true && values['no-live'] === true) {
    throw new DemoUsageError('--live and --no-live cannot both be given');
  }
  const out = values.out;
  if (out !== undefined && out.trim() === '') {
    throw new DemoUsageError(`--out must name a folder, got ${JSON.stringify(out)}`);
  }
  const registry = values.registry ?? (values.etcd === undefined ? 'static' : 'etcd');
  if (registry !== 'static' && registry !== 'etcd') {
    throw new DemoUsageError(`--registry must be static or etcd, got ${registry}`);
  }
  let etcd: string[] | undefined;
  if (values.etcd !== undefined) {
    if (registry !== 'etcd')
      throw new DemoUsageError('--etcd cannot be combined with --registry static');
    etcd = values.etcd.split(',').map((u) => u.trim());
    const bad = etcd.find((u) => !/^https?:\/\/[^/\s]+\/?$/.test(u));
    if (bad !== undefined) {
      throw new DemoUsageError(`--etcd must be etcd client URLs (http://host:port), got ${bad}`);
    }
  }
  return {
    registry,
    etcd,
    durationS: numberOption('--duration', values.duration, 60, 5, 3600, false),
    replicas: numberOption('--replicas', values.replicas, 3, 2, 9, true),
    rate: numberOption('--rate', values.rate, 50, 1, 1000, false),
    deadlineMs: numberOption('--deadline', values.deadline, 1000, 100, 60_000, true),
    chaos,
    faults: chaos ? faultList(values.faults) : [],
    out,
    live: values.live === true ? true : values['no-live'] === true ? false : undefined,
    help: values.help === true,
  };
}

function numberOption(
  name: string,
  given: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  const ok =
    given.trim() !== '' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? 'an integer' : 'a number';
    throw new DemoUsageError(`${name} must be ${kind} from ${min} to ${max}, got ${given}`);
  }
  return value;
}

function faultList(given: string | undefined): FaultKind[] {
  if (given === undefined) return [...faultKinds];
  const names = given.split(',').map((s) => s.trim());
  const faults: FaultKind[] = [];
  for (const name of names) {
    if (!(faultKinds as readonly string[]).includes(name)) {
      throw new DemoUsageError(
        `--faults: ${JSON.stringify(name)} is not a fault; choose from ${faultKinds.join(', ')}`,
      );
    }
    if (faults.includes(name as FaultKind)) {
      throw new DemoUsageError(`--faults names ${name} twice`);
    }
    faults.push(name as FaultKind);
  }
  return faults;
}
