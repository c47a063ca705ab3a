import { describe, it, expect } from 'vitest';
import { DetourConfigError } from '../errors.js';
import { isSelectorName, selectorFromName, selectorNames } from './by-name.js';

describe('selectorFromName', () => {
  it('knows every selector', () => {
    expect(selectorNames).toEqual([
      'random',
      'round-robin',
      'weighted-random',
      'weighted-round-robin',
      'least-request',
      'weighted-least-load',
      'p2c-peak-ewma',
      'consistent-hash',
      'priority-groups',
    ]);
  });

  it.each(selectorNames.map((name) => [name]))('gives %s with its default options', (name) => {
    const selector = selectorFromName(name, 'selector');
    expect(selector.name).toBe(name);
    expect(typeof selector.build).toBe('function');
    expect(isSelectorName(name)).toBe(true);
  });

  it.each([
    ['roundrobin', '"roundrobin"'],
    ['', '""'],
    ['toString', '"toString"'],
    [42, '42'],
    [undefined, 'undefined'],
    [null, 'null'],
    [{ name: 'random' }, '{"name":"random"}'],
  ])('rejects %s, naming the path and listing the known names', (name, shown) => {
    let error: unknown;
    try {
      selectorFromName(name, 'pools[1].selector');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DetourConfigError);
    const configError = error as DetourConfigError;
    expect(configError.option).toBe('pools[1].selector');
    expect(configError.value).toBe(name);
    expect(configError.message).toContain(shown);
    for (const known of selectorNames) expect(configError.message).toContain(`"${known}"`);
    expect(isSelectorName(name)).toBe(false);
  });
});
