/** The endpoint selectors of `@detour/core`. See README.selectors.md for a comparison. */
export { consistentHashSelector, ringPointsPerEndpoint } from './consistent-hash.js';
export type { ConsistentHashOptions, ConsistentHashSelector } from './consistent-hash.js';
export { leastRequestSelector } from './least-request.js';
export type { LeastRequestOptions, LeastRequestSelector } from './least-request.js';
export { p2cPeakEwmaSelector } from './p2c-peak-ewma.js';
export type { P2cPeakEwmaOptions, P2cPeakEwmaSelector } from './p2c-peak-ewma.js';
export { priorityGroupsSelector } from './priority-groups.js';
export type {
  PriorityGroupsOptions,
  PriorityGroupsPicker,
  PriorityGroupsSelector,
} from './priority-groups.js';
export { randomSelector } from './random.js';
export type { RandomSelector } from './random.js';
export { roundRobinSelector } from './round-robin.js';
export type { RoundRobinSelector } from './round-robin.js';
export { weightedLeastLoadSelector } from './weighted-least-load.js';
export type { WeightedLeastLoadSelector } from './weighted-least-load.js';
export { weightedRandomSelector } from './weighted-random.js';
export type { WeightedRandomSelector } from './weighted-random.js';
export { weightedRoundRobinSelector } from './weighted-round-robin.js';
export type { WeightedRoundRobinSelector } from './weighted-round-robin.js';
export { isSelectorName, selectorFromName, selectorNames } from './by-name.js';
export type { SelectorName } from './by-name.js';
