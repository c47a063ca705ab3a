import { describe, expect, it } from 'vitest';
import { configError } from '../test-support/config-error.js';
import type { Backoff } from './backoff.js';
import { backoffFromOptions, backoffNames, isBackoffName } from './backoff-by-name.js';

describe('backoffFromOptions', () => {
  it('knows every backoff', () => {
    expect(backoffNames).toEqual(['exponential', 'decorrelated-jitter', 'constant']);
  });

  it.each(backoffNames.map((name) => [name]))('gives %s with its default options', (name) => {
    expect(backoffFromOptions(name, 'backoff').name).toBe(name);
    expect(isBackoffName(name)).toBe(true);
  });

  it('gives exponential defaults for undefined', () => {
    expect(backoffFromOptions(undefined, 'backoff')).toMatchObject({
      name: 'exponential',
      baseMs: 25,
      maxMs: 250,
      jitter: 'full',
    });
  });

  it('uses a Backoff object as given', () => {
    const custom: Backoff = { name: 'custom', delay: () => 7 };
    expect(backoffFromOptions(custom, 'backoff')).toBe(custom);
  });

  it('makes a backoff from { kind, ...options }', () => {
    expect(backoffFromOptions({ kind: 'constant', delayMs: 5 }, 'retry.backoff')).toMatchObject({
      name: 'constant',
      delayMs: 5,
    });
    expect(
      backoffFromOptions({ kind: 'exponential', baseMs: 10, jitter: 'equal' }, 'retry.backoff'),
    ).toMatchObject({ name: 'exponential', baseMs: 10, maxMs: 100, jitter: 'equal' });
  });

  it('names the caller path in option errors', () => {
    const error = configError(() =>
      backoffFromOptions({ kind: 'exponential', baseMs: -1 }, 'retry.backoff'),
    );
    expect(error.option).toBe('retry.backoff.baseMs');
    expect(configError(() => backoffFromOptions({ kind: 'jittery' }, 'retry.backoff')).option).toBe(
      'retry.backoff.kind',
    );
    expect(
      configError(() => backoffFromOptions({ kind: 'constant', delay: 1 }, 'retry.backoff')).option,
    ).toBe('retry.backoff.delay');
  });

  it('rejects a Backoff object without a name', () => {
    expect(configError(() => backoffFromOptions({ delay: () => 1 }, 'retry.backoff')).option).toBe(
      'retry.backoff.name',
    );
  });

  it.each([
    ['fibonacci', '"fibonacci"'],
    ['', '""'],
    ['toString', '"toString"'],
    [25, '25'],
    [null, 'null'],
    [false, 'false'],
    [{ baseMs: 25 }, '{"baseMs":25}'],
    [[], '[]'],
  ])('rejects %j, naming the path and listing the names', (value, shown) => {
    const error = configError(() => backoffFromOptions(value, 'retry.backoff'));
    expect(error.option).toBe('retry.backoff');
    expect(error.value).toBe(value);
    expect(error.message).toContain(shown);
    for (const name of backoffNames) expect(error.message).toContain(`"${name}"`);
  });
});
