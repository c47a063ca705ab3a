import { describe, expect, it } from 'vitest';
import { DetourConfigError, isDetourError } from './errors.js';
import type { PoolOptions } from './pool-options.js';
import { createPool } from './pool.js';
import { ManualClock } from './testing/manual-clock.js';

function configError(options: unknown): DetourConfigError {
  try {
    createPool({ clock: new ManualClock(), ...(options as PoolOptions) }).close();
  } catch (error) {
    expect(error).toBeInstanceOf(DetourConfigError);
    expect(isDetourError(error)).toBe(true);
    expect((error as DetourConfigError).code).toBe('DETOUR_CONFIG');
    return error as DetourConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(options)}`);
}

const one = ['a:1'];

describe('pool configuration errors', () => {
  const cases: [string, unknown, string, string][] = [
    // [what, options, option path, text the message must contain]
    ['no endpoints and no source', {}, 'endpoints', 'undefined'],
    ['an empty endpoint list', { endpoints: [] }, 'endpoints', '[]'],
    ['endpoints not an array', { endpoints: 'a:1' }, 'endpoints', '"a:1"'],
    ['an empty address', { endpoints: [''] }, 'endpoints[0].address', '""'],
    [
      'duplicate ids',
      { endpoints: ['a:1', { id: 'a:1', address: 'b:1' }] },
      'endpoints[1].id',
      '"a:1"',
    ],
    [
      'a negative weight',
      { endpoints: [{ address: 'a:1', weight: -1 }] },
      'endpoints[0].weight',
      '-1',
    ],
    [
      'a NaN weight',
      { endpoints: [{ address: 'a:1', weight: NaN }] },
      'endpoints[0].weight',
      'NaN',
    ],
    [
      'an infinite weight',
      { endpoints: [{ address: 'a:1', weight: Infinity }] },
      'endpoints[0].weight',
      'Infinity',
    ],
    ['a zero weight', { endpoints: [{ address: 'a:1', weight: 0 }] }, 'endpoints[0].weight', '0'],
    [
      'a negative capacity',
      { endpoints: [{ address: 'a:1', capacity: -2 }] },
      'endpoints[0].capacity',
      '-2',
    ],
    [
      'a fractional priority',
      { endpoints: [{ address: 'a:1', priority: 0.5 }] },
      'endpoints[0].priority',
      '0.5',
    ],
    [
      'an unknown endpoint key',
      { endpoints: [{ address: 'a:1', wieght: 2 }] },
      'endpoints[0].wieght',
      '2',
    ],
    ['an unknown selector name', { endpoints: one, selector: 'fastest' }, 'selector', '"fastest"'],
    ['a selector of the wrong type', { endpoints: one, selector: 42 }, 'selector', '42'],
    ['detectors not an array', { endpoints: one, detectors: {} }, 'detectors', '{}'],
    ['a detector that is not one', { endpoints: one, detectors: [{}] }, 'detectors[0]', '{}'],
    [
      'a percentage above 100',
      { endpoints: one, health: { maxEjectedPercent: 101 } },
      'health.maxEjectedPercent',
      '101',
    ],
    [
      'a negative percentage',
      { endpoints: one, health: { panicThresholdPercent: -1 } },
      'health.panicThresholdPercent',
      '-1',
    ],
    [
      'a NaN percentage',
      { endpoints: one, health: { ejectionJitterPercent: NaN } },
      'health.ejectionJitterPercent',
      'NaN',
    ],
    [
      'a negative ejection time',
      { endpoints: one, health: { baseEjectionMs: -5 } },
      'health.baseEjectionMs',
      '-5',
    ],
    [
      'an infinite ejection time',
      { endpoints: one, health: { maxEjectionMs: Infinity } },
      'health.maxEjectionMs',
      'Infinity',
    ],
    [
      'max below base',
      { endpoints: one, health: { baseEjectionMs: 10, maxEjectionMs: 5 } },
      'health.maxEjectionMs',
      '5',
    ],
    ['zero trial calls', { endpoints: one, health: { trialCalls: 0 } }, 'health.trialCalls', '0'],
    ['an unknown health key', { endpoints: one, health: { trials: 2 } }, 'health.trials', '2'],
    ['a zero window', { endpoints: one, stats: { windowMs: 0 } }, 'stats.windowMs', '0'],
    [
      'a fractional bucket count',
      { endpoints: one, stats: { windowBuckets: 2.5 } },
      'stats.windowBuckets',
      '2.5',
    ],
    ['an unknown option', { endpoints: one, selecter: 'random' }, 'selecter', '"random"'],
    ['a source without subscribe', { source: {} }, 'source', '{}'],
    ['a clock without now', { endpoints: one, clock: {} }, 'clock', '{}'],
    ['a random without next', { endpoints: one, random: {} }, 'random', '{}'],
  ];
  for (const [what, options, path, text] of cases) {
    it(`rejects ${what}`, () => {
      const error = configError(options);
      expect(error.option).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toContain(text);
    });
  }

  it('rejects an invalid endpoint in an update', () => {
    const pool = createPool({ endpoints: one, clock: new ManualClock() });
    expect(() =>
      pool.update({ type: 'full', endpoints: [{ address: 'b:1', weight: -1 }] }),
    ).toThrow(/update\.endpoints\[0\]\.weight.*-1/);
    expect(() => pool.update({ type: 'delta', added: [{ address: '' }] })).toThrow(
      /update\.added\[0\]\.address/,
    );
    pool.close();
  });
});
