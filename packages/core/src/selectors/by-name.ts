/**
 * Selectors by name, for configuration given as data (`selector: 'least-request'`). Each name
 * gives the selector with its default options; call the factory to set options.
 */
import { DetourConfigError } from '../errors.js';
import type { Selector } from '../selector.js';
import { consistentHashSelector } from './consistent-hash.js';
import { leastRequestSelector } from './least-request.js';
import { p2cPeakEwmaSelector } from './p2c-peak-ewma.js';
import { priorityGroupsSelector } from './priority-groups.js';
import { randomSelector } from './random.js';
import { roundRobinSelector } from './round-robin.js';
import { weightedLeastLoadSelector } from './weighted-least-load.js';
import { weightedRandomSelector } from './weighted-random.js';
import { weightedRoundRobinSelector } from './weighted-round-robin.js';

export type SelectorName =
  | 'random'
  | 'round-robin'
  | 'weighted-random'
  | 'weighted-round-robin'
  | 'least-request'
  | 'weighted-least-load'
  | 'p2c-peak-ewma'
  | 'consistent-hash'
  | 'priority-groups';

const factories: { readonly [N in SelectorName]: () => Selector } = {
  random: randomSelector,
  'round-robin': roundRobinSelector,
  'weighted-random': weightedRandomSelector,
  'weighted-round-robin': weightedRoundRobinSelector,
  'least-request': () => leastRequestSelector(),
  'weighted-least-load': weightedLeastLoadSelector,
  'p2c-peak-ewma': () => p2cPeakEwmaSelector(),
  'consistent-hash': () => consistentHashSelector(),
  'priority-groups': () => priorityGroupsSelector(),
};

/** Every selector name, in the order the documentation lists them. */
export const selectorNames: readonly SelectorName[] = Object.freeze(
  Object.keys(factories) as SelectorName[],
);

/** True when `name` is one of `selectorNames`. */
export function isSelectorName(name: unknown): name is SelectorName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(factories, name);
}

/**
 * The selector called `name`, with default options. Throws `DetourConfigError` naming `path`
 * and listing the known names when `name` is not one of them.
 */
export function selectorFromName(name: unknown, path: string): Selector {
  if (!isSelectorName(name)) {
    throw new DetourConfigError(
      path,
      name,
      `must be one of ${selectorNames.map((known) => JSON.stringify(known)).join(', ')}`,
    );
  }
  return factories[name]();
}
