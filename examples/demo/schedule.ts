/**
 * The fault schedule, scaled to the demo's duration: a calm start (10 %), one slot per fault,
 * and a calm end (15 %) in which every replica is back. A fault holds for the first 70 % of its
 * slot; the rest of the slot lets the replica heal before the next fault. Crash and freeze get
 * longer slots than slow and errors, because detecting them and healing from them take longer
 * (a restarted process must be probed back; a frozen one must miss health checks).
 *
 * With the default 60 s: r1 killed 6.0–15.8 s, r2 frozen 20.1–29.9 s, r3 +80 ms 34.1–40.0 s,
 * r1 50 % UNAVAILABLE 42.6–48.5 s, calm from 51 s.
 */
import type { FaultKind } from './model.js';

/** A fault to play on replica `replica` (an index into the cluster) from `startMs` to `endMs`. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly replica: number;
  readonly startMs: number;
  readonly endMs: number;
}

/** Added latency of the `slow` fault, ms. */
export const slowByMs = 80;
/** Share of calls the `errors` fault answers UNAVAILABLE / 503. */
export const errorRate = 0.5;

const warmUpShare = 0.1;
const coolDownShare = 0.15;
const activeShare = 0.7;
const slotWeight: Record<FaultKind, number> = {
  crash: 1.25,
  freeze: 1.25,
  slow: 0.75,
  errors: 0.75,
};
/** Which replica each fault hits, as an index taken modulo the replica count. */
const target: Record<FaultKind, number> = { crash: 0, freeze: 1, slow: 2, errors: 0 };

/** The faults to play, in time order. */
export function planFaults(
  durationMs: number,
  replicas: number,
  kinds: readonly FaultKind[],
): PlannedFault[] {
  const totalWeight = kinds.reduce((sum, kind) => sum + slotWeight[kind], 0);
  const slotsMs = durationMs * (1 - warmUpShare - coolDownShare);
  let at = durationMs * warmUpShare;
  return kinds.map((kind) => {
    const slotMs = (slotsMs * slotWeight[kind]) / totalWeight;
    const fault = {
      kind,
      replica: target[kind] % replicas,
      startMs: Math.round(at),
      endMs: Math.round(at + slotMs * activeShare),
    };
    at += slotMs;
    return fault;
  });
}

/** For people: `r1 killed`, `r2 frozen`, `r3 +80 ms`, `r1 50% UNAVAILABLE`. */
export function faultLabel(kind: FaultKind, replicaName: string): string {
  switch (kind) {
    case 'crash':
      return `${replicaName} killed`;
    case 'freeze':
      return `${replicaName} frozen`;
    case 'slow':
      return `${replicaName} +${slowByMs} ms`;
    case 'errors':
      return `${replicaName} ${errorRate * 100}% UNAVAILABLE`;
  }
}

/** For people, when a fault is undone: `r1 restarted`, `r2 thawed`, … */
export function healedLabel(kind: FaultKind, replicaName: string): string {
  switch (kind) {
    case 'crash':
      return `${replicaName} restarted`;
    case 'freeze':
      return `${replicaName} thawed`;
    case 'slow':
      return `${replicaName} at full speed again`;
    case 'errors':
      return `${replicaName} answers every call again`;
  }
}
