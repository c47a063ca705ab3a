/**
 * A `DetectorHost` for testing detectors without a pool: real `EndpointRecord`s, a log of the
 * verdicts, and a small model of the pool's health machine so that statuses move as they would.
 *
 * ```ts
 * const clock = new ManualClock();
 * const t = createTestDetectorHost({ clock, endpoints: ['a:1', 'b:1'] });
 * const detector = t.attach(consecutiveFailures());
 * t.feed(detector, 'a:1', { kind: 'error', latencyMs: 1 }, 5);
 * expect(t.ejected).toEqual([{ id: 'a:1', fault: expect.anything() }]);
 * ```
 *
 * The model: `eject` succeeds for a `healthy` or `probing` endpoint (unless `refuseEject` is set)
 * and makes it `ejected`; `hold` makes a `healthy` or `probing` endpoint `ejected`; the last
 * `release` of an `ejected` endpoint makes it `probing`; `restore(id)` makes it `healthy`, as the
 * end of a successful probation would. Every status change calls `onStatusChange` on the
 * attached instances. Timed ejections never end by themselves: call `restore()`.
 */
import type { Clock } from '../clock.js';
import type { Detector, DetectorHost, DetectorInstance, ProbeResult } from '../detector.js';
import type { EndpointInit } from '../endpoint.js';
import { normalizeEndpoint } from '../endpoint.js';
import type { HealthStatus } from '../health/endpoint-record.js';
import { EndpointRecord } from '../health/endpoint-record.js';
import type { Fault, Outcome } from '../outcome.js';
import type { Random } from '../random.js';
import { seededRandom } from './seeded-random.js';

export interface TestDetectorHostOptions {
  readonly clock: Clock;
  /** Default `seededRandom(1)`. */
  readonly random?: Random;
  readonly endpoints: readonly (EndpointInit | string)[];
}

export interface Verdict {
  readonly id: string;
  /** Name of the detector, or undefined for instances attached to the shared `host`. */
  readonly detector: string | undefined;
  readonly fault: Fault;
}

export interface TestDetectorHost {
  /** A host view shared by instances attached by hand (`detector.attach(t.host)`); see `listen`. */
  readonly host: DetectorHost;
  readonly clock: Clock;
  /** Every record ever added, draining ones included, in order. */
  readonly records: readonly EndpointRecord[];
  /** The record with this id; throws if there is none. */
  record(id: string): EndpointRecord;
  /** Attaches `detector` with its own host view (its own holds) and registers the instance. */
  attach(detector: Detector): DetectorInstance;
  /** Registers an instance attached by hand, for heartbeats, status and membership changes. */
  listen(instance: DetectorInstance): void;
  /** Records `outcome` on the endpoint at `clock.now()`, then calls `instance.onOutcome`; `times` times. */
  feed(instance: DetectorInstance, id: string, outcome: Outcome, times?: number): void;
  /** Adds an endpoint and calls `onAdded` on the registered instances. */
  add(init: EndpointInit | string): EndpointRecord;
  /** Marks the endpoint `draining` and calls `onRemoved` on the registered instances. */
  remove(id: string): void;
  /** Makes the endpoint `healthy` again (the end of an ejection and probation). */
  restore(id: string): void;
  /** Timed ejections granted, in order. */
  readonly ejected: Verdict[];
  /** Timed ejections refused (already out, draining, or `refuseEject`). */
  readonly refused: Verdict[];
  /** Ids held by at least one detector now. */
  readonly held: Set<string>;
  /** Every `hold` that took effect, in order. */
  readonly holds: Verdict[];
  /** Every `release` that took effect, in order. */
  readonly releases: { readonly id: string; readonly detector: string | undefined }[];
  /** Every `endEjection` that took effect, in order. */
  readonly endedEjections: { readonly id: string; readonly detector: string | undefined }[];
  /** Every `probed()` report, in order. */
  readonly probes: { readonly id: string; readonly result: ProbeResult }[];
  /** Set to true to make every `eject` refuse, as the pool does at its maximum ejected share. */
  refuseEject: boolean;
}

const recordSettings = {
  windowMs: 10000,
  windowBuckets: 10,
  latencyDecayMs: 10000,
  failurePenaltyDecayMs: 1000,
  faultLogSize: 8,
} as const;

export function createTestDetectorHost(options: TestDetectorHostOptions): TestDetectorHost {
  const { clock } = options;
  const random = options.random ?? seededRandom(1);
  const records: EndpointRecord[] = [];
  const instances: DetectorInstance[] = [];
  /** Holders (host views) per record. */
  const holders = new Map<EndpointRecord, Set<object>>();
  let members: readonly EndpointRecord[] | undefined;

  const newRecord = (init: EndpointInit | string): EndpointRecord => {
    const record = new EndpointRecord(
      normalizeEndpoint(init, `endpoints[${records.length}]`),
      recordSettings,
      clock.now(),
    );
    records.push(record);
    members = undefined;
    return record;
  };
  for (const init of options.endpoints) newRecord(init);

  const setStatus = (record: EndpointRecord, status: HealthStatus): void => {
    if (record.status === status) return;
    record.status = status;
    members = undefined;
    for (const instance of [...instances]) instance.onStatusChange?.(record);
  };

  const makeView = (detector: string | undefined): DetectorHost => {
    const view: DetectorHost = {
      clock,
      random,
      members() {
        members ??= Object.freeze(records.filter((r) => r.status !== 'draining'));
        return members;
      },
      eject(record, fault) {
        const verdict = { id: record.id, detector, fault };
        if (t.refuseEject || (record.status !== 'healthy' && record.status !== 'probing')) {
          t.refused.push(verdict);
          return false;
        }
        t.ejected.push(verdict);
        record.ejections++;
        record.ejectedBy = detector;
        setStatus(record, 'ejected');
        return true;
      },
      hold(record, fault) {
        let set = holders.get(record);
        if (set?.has(view)) return;
        if (!set) holders.set(record, (set = new Set()));
        set.add(view);
        t.held.add(record.id);
        t.holds.push({ id: record.id, detector, fault });
        if (record.status === 'healthy' || record.status === 'probing') {
          setStatus(record, 'ejected');
        }
      },
      release(record) {
        const set = holders.get(record);
        if (!set?.delete(view)) return;
        t.releases.push({ id: record.id, detector });
        if (set.size > 0) return;
        holders.delete(record);
        t.held.delete(record.id);
        if (record.status === 'ejected') setStatus(record, 'probing');
      },
      holding(record) {
        return holders.get(record)?.has(view) ?? false;
      },
      endEjection(record) {
        if (record.status !== 'ejected' || holders.has(record)) return;
        t.endedEjections.push({ id: record.id, detector });
        setStatus(record, 'probing');
      },
      probed(record, result) {
        t.probes.push({ id: record.id, result });
        if (!result.healthy) return;
        const at = clock.now();
        for (const instance of [...instances]) instance.onHeartbeat?.(record, at);
      },
    };
    return view;
  };

  const t: TestDetectorHost = {
    host: makeView(undefined),
    clock,
    records,
    record(id) {
      const found = records.find((r) => r.id === id);
      if (!found) throw new Error(`No endpoint ${JSON.stringify(id)} in the test host`);
      return found;
    },
    attach(detector) {
      const instance = detector.attach(makeView(detector.name));
      instances.push(instance);
      return instance;
    },
    listen(instance) {
      if (!instances.includes(instance)) instances.push(instance);
    },
    feed(instance, id, outcome, times = 1) {
      const record = t.record(id);
      for (let i = 0; i < times; i++) {
        record.recordOutcome(clock.now(), outcome);
        instance.onOutcome?.(record, outcome);
      }
    },
    add(init) {
      const record = newRecord(init);
      for (const instance of [...instances]) instance.onAdded?.(record);
      return record;
    },
    remove(id) {
      const record = t.record(id);
      record.statusBeforeDrain = record.status;
      setStatus(record, 'draining');
      for (const instance of [...instances]) instance.onRemoved?.(record);
    },
    restore(id) {
      setStatus(t.record(id), 'healthy');
    },
    ejected: [],
    refused: [],
    held: new Set(),
    holds: [],
    releases: [],
    endedEjections: [],
    probes: [],
    refuseEject: false,
  };
  return t;
}
