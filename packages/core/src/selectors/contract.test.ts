/**
 * The selector contract, checked as properties for every selector: whatever the endpoints,
 * eligibility, exclusions, load and latencies, a pick never throws, never returns an excluded
 * candidate or a non-candidate, and returns undefined only when every candidate is excluded.
 */
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import type { Selector } from '../selector.js';
import { records } from '../test-support/records.js';
import { env } from '../test-support/selector-env.js';
import { selectorFromName, selectorNames } from './by-name.js';
import { consistentHashSelector } from './consistent-hash.js';
import { leastRequestSelector } from './least-request.js';
import { p2cPeakEwmaSelector } from './p2c-peak-ewma.js';
import { priorityGroupsSelector } from './priority-groups.js';

const selectors: [string, Selector][] = [
  ...selectorNames.map((name): [string, Selector] => [name, selectorFromName(name, 'selector')]),
  ['least-request, choiceCount 10', leastRequestSelector({ choiceCount: 10 })],
  ['p2c-peak-ewma, defaultRttMs 1', p2cPeakEwmaSelector({ defaultRttMs: 1 })],
  ['consistent-hash, 1 virtual node', consistentHashSelector({ virtualNodes: 1 })],
  [
    'priority-groups within least-request, threshold 100%',
    priorityGroupsSelector({ within: leastRequestSelector(), thresholdPercent: 100 }),
  ],
  [
    'priority-groups within consistent-hash',
    priorityGroupsSelector({ within: consistentHashSelector({ virtualNodes: 3 }) }),
  ],
];

const endpointSpec = fc.record({
  weight: fc.double({ min: 0.001, max: 1000, noNaN: true }),
  capacity: fc.double({ min: 0.001, max: 1000, noNaN: true }),
  priority: fc.integer({ min: 0, max: 3 }),
  inflight: fc.nat({ max: 50 }),
  latencyMs: fc.option(fc.double({ min: 0, max: 2000, noNaN: true }), { nil: undefined }),
  eligible: fc.boolean(),
  excluded: fc.boolean(),
});

const scenario = fc.record({
  endpoints: fc.array(endpointSpec, { minLength: 1, maxLength: 50 }),
  forceEligible: fc.nat(),
  seed: fc.integer(),
  now: fc.double({ min: 0, max: 100_000, noNaN: true }),
  keys: fc.array(fc.option(fc.string(), { nil: undefined }), { minLength: 1, maxLength: 20 }),
});

describe.each(selectors)('the selector contract: %s', (_, selector) => {
  it('picks only non-excluded candidates, and undefined only when all are excluded', () => {
    fc.assert(
      fc.property(scenario, ({ endpoints, forceEligible, seed, now, keys }) => {
        const members = records(
          endpoints.map(({ weight, capacity, priority, inflight, latencyMs }) => ({
            weight,
            capacity,
            priority,
            inflight,
            latencyMs,
          })),
        );
        const forced = forceEligible % members.length;
        const candidates = members.filter((_, i) => endpoints[i]!.eligible || i === forced);
        const exclude = new Set(members.filter((_, i) => endpoints[i]!.excluded));
        const allExcluded = candidates.every((c) => exclude.has(c));
        const picker = selector.build(candidates, env(members, seed));
        for (const key of keys) {
          const free = picker.pick({ now, key });
          expect(free).toBeDefined();
          expect(candidates).toContain(free);
          const picked = picker.pick({ now, key, exclude });
          if (allExcluded) {
            expect(picked).toBeUndefined();
          } else {
            expect(picked).toBeDefined();
            expect(candidates).toContain(picked);
            expect(exclude.has(picked!)).toBe(false);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
