import { describe, expect, it } from 'vitest';
import { normalizeEndpoint } from '../endpoint.js';
import { EndpointRecord } from '../health/endpoint-record.js';
import { LoadTable } from '../health/load-table.js';
import type { Candidate, Selector } from '../selector.js';
import { ManualClock } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import { leastRequestSelector } from './least-request.js';
import { p2cPeakEwmaSelector } from './p2c-peak-ewma.js';
import { sharedLoad } from './shared-load.js';
import { recordSettings } from '../test-support/records.js';

const settings = { ...recordSettings, faultLogSize: 4 };

/** Records of one pool (one table), with varied latencies (some without a sample) and load. */
function poolRecords(n: number): EndpointRecord[] {
  const table = new LoadTable(settings.latencyDecayMs, settings.failurePenaltyDecayMs);
  const random = seededRandom(99);
  return Array.from({ length: n }, (_, i) => {
    const r = new EndpointRecord(normalizeEndpoint(`e${i}:1`, 'e'), settings, 0, table);
    if (i % 7 !== 0) r.recordLatency(random.next() * 1000, 1 + random.next() * 50);
    r.inflight = Math.floor(random.next() * 3);
    return r;
  });
}

/** The same candidates behind the plain interface, so pickers take the generic path. */
function plain(records: readonly EndpointRecord[]): Candidate[] {
  return records.map((r) => ({
    endpoint: r.endpoint,
    get inflight() {
      return r.inflight;
    },
    latencyEstimate: (now: number) => r.latencyEstimate(now),
  }));
}

describe('shared load fast path', () => {
  it('is taken only for records of one table', () => {
    const records = poolRecords(5);
    expect(sharedLoad(records)?.slots).toEqual(Int32Array.from(records.map((r) => r.slot)));
    expect(sharedLoad(plain(records))).toBeUndefined();
    const stranger = new EndpointRecord(normalizeEndpoint('x:1', 'e'), settings, 0);
    expect(sharedLoad([...records, stranger])).toBeUndefined();
  });

  const selectors: [string, () => Selector][] = [
    ['p2c-peak-ewma', () => p2cPeakEwmaSelector()],
    ['least-request', () => leastRequestSelector()],
    ['least-request (3 choices)', () => leastRequestSelector({ choiceCount: 3 })],
  ];
  for (const [name, make] of selectors) {
    it(`${name} picks exactly as through the Candidate interface`, () => {
      const records = poolRecords(200);
      const generic = plain(records);
      const clock = new ManualClock();
      const fast = make().build(records, { random: seededRandom(5), clock, members: records });
      const slow = make().build(generic, { random: seededRandom(5), clock, members: generic });
      const excluded = new Set([records[3]!, records[4]!]);
      const excludedGeneric = new Set([generic[3]!, generic[4]!]);
      for (let k = 0; k < 5000; k++) {
        const now = 1000 + k * 3;
        const withExclusion = k % 3 === 0;
        const a = fast.pick({ now, exclude: withExclusion ? excluded : undefined })!;
        const b = slow.pick({ now, exclude: withExclusion ? excludedGeneric : undefined })!;
        expect(generic[records.indexOf(a)]).toBe(b);
        a.inflight = (a.inflight + 1) % 4; // load moves between picks
      }
    });
  }
});
