/**
 * `priority-groups`: failover between priority groups (`endpoint.priority`, 0 = primary), in the
 * manner of Envoy's priority levels without its proportional spill. All traffic goes to the
 * lowest priority whose eligible share, eligible candidates ÷ members of that priority × 100,
 * is at least `thresholdPercent`; if no priority reaches it, to the lowest priority that has
 * any eligible candidate. Within the chosen group the `within` selector picks.
 *
 * The choice is made at build time, and the pool rebuilds whenever eligibility changes, so
 * traffic returns to the primary at the first build after its share is back at the threshold.
 *
 * When every candidate of the chosen group is excluded (a call that already tried them all),
 * the pick falls over to the next group in priority order that has a non-excluded candidate,
 * wrapping round to the priorities before the chosen one last.
 *
 * - Per pick: the `within` picker's cost for the chosen group; in the fall-over case, that of
 *   each group tried (at most g groups).
 * - Per build: O(n + g log g) plus `within.build()` for each of the g groups (each over its own
 *   candidates, with that priority's members as `env.members`, an array that stays the same
 *   while membership does, so a consistent-hash `within` keeps its ring). O(members) more when
 *   the members array changes.
 * - Options: `within`, the selector used inside a group, default `roundRobinSelector()`;
 *   `thresholdPercent`, default 50 (%), from 0 to 100.
 */
import { DetourConfigError } from '../errors.js';
import type { Candidate, PickContext, Picker, Selector, SelectorEnvironment } from '../selector.js';
import * as v from '../validate.js';
import { roundRobinSelector } from './round-robin.js';

export interface PriorityGroupsOptions {
  /** Selector used within the chosen group. Default `roundRobinSelector()`. */
  readonly within?: Selector;
  /** Eligible share (%) a priority needs to take the traffic. Default 50; 0 to 100. */
  readonly thresholdPercent?: number;
}

export interface PriorityGroupsSelector extends Selector {
  readonly name: 'priority-groups';
  readonly within: Selector;
  readonly thresholdPercent: number;
  build<T extends Candidate>(
    candidates: readonly T[],
    env: SelectorEnvironment<T>,
  ): PriorityGroupsPicker<T>;
}

/** The picker of a priority-groups build: `priority` is the chosen group. */
export interface PriorityGroupsPicker<T extends Candidate = Candidate> extends Picker<T> {
  /** The priority that takes the traffic, as chosen at build time. */
  readonly priority: number;
}

const DEFAULT_THRESHOLD_PERCENT = 50;

class GroupsPicker<T extends Candidate> implements PriorityGroupsPicker<T> {
  readonly priority: number;
  /** The chosen group's picker first, then the fall-over order. */
  readonly #pickers: readonly Picker<T>[];

  constructor(priority: number, pickers: readonly Picker<T>[]) {
    this.priority = priority;
    this.#pickers = pickers;
  }

  pick(context: PickContext<T>): T | undefined {
    const pickers = this.#pickers;
    for (let i = 0; i < pickers.length; i++) {
      const candidate = pickers[i]!.pick(context);
      if (candidate !== undefined) return candidate;
    }
    return undefined;
  }
}

function groupBy<T extends Candidate>(list: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of list) {
    const priority = item.endpoint.priority;
    const group = groups.get(priority);
    if (group === undefined) groups.set(priority, [item]);
    else group.push(item);
  }
  return groups;
}

function isSelector(value: unknown): value is Selector {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Selector).name === 'string' &&
    typeof (value as Selector).build === 'function'
  );
}

/** Priority failover with a healthy-share threshold; `within` picks inside the group. */
export function priorityGroupsSelector(options?: PriorityGroupsOptions): PriorityGroupsSelector {
  v.knownKeys('selector', options, ['within', 'thresholdPercent']);
  const within: unknown = options?.within === undefined ? roundRobinSelector() : options.within;
  if (!isSelector(within)) {
    throw new DetourConfigError(
      'selector.within',
      within,
      'must be a selector (an object with a name and a build() method)',
    );
  }
  const thresholdPercent = v.percent(
    'selector.thresholdPercent',
    options?.thresholdPercent,
    DEFAULT_THRESHOLD_PERCENT,
  );
  // A cache, not state: each priority's members, a pure function of the members array.
  const layouts = new WeakMap<readonly Candidate[], Map<number, Candidate[]>>();
  function membersByPriority<T extends Candidate>(members: readonly T[]): Map<number, T[]> {
    let layout = layouts.get(members) as Map<number, T[]> | undefined;
    if (layout === undefined) {
      layout = groupBy(members);
      layouts.set(members, layout);
    }
    return layout;
  }
  return Object.freeze({
    name: 'priority-groups',
    within,
    thresholdPercent,
    build<T extends Candidate>(
      candidates: readonly T[],
      env: SelectorEnvironment<T>,
    ): PriorityGroupsPicker<T> {
      if (candidates.length === 0) return new GroupsPicker<T>(0, []);
      const layout = membersByPriority(env.members);
      const groups = groupBy(candidates);
      const priorities = [...groups.keys()].sort((a, b) => a - b);
      let chosen = 0;
      for (let k = 0; k < priorities.length; k++) {
        const eligible = groups.get(priorities[k]!)!.length;
        const members = Math.max(eligible, layout.get(priorities[k]!)?.length ?? 0);
        if (eligible * 100 >= thresholdPercent * members) {
          chosen = k;
          break;
        }
      }
      const pickers: Picker<T>[] = [];
      for (let k = 0; k < priorities.length; k++) {
        const priority = priorities[(chosen + k) % priorities.length]!;
        const group = groups.get(priority)!;
        pickers.push(
          within.build(group, {
            random: env.random,
            clock: env.clock,
            members: layout.get(priority) ?? group,
          }),
        );
      }
      return new GroupsPicker(priorities[chosen]!, pickers);
    },
  });
}
