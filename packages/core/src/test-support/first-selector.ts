/** A test selector: the first non-excluded candidate, in member order. Makes attempt order obvious. */
import type { Selector } from '../selector.js';

export const firstSelector: Selector = {
  name: 'first',
  build(candidates) {
    return {
      pick(context) {
        for (const c of candidates) if (!context.exclude?.has(c)) return c;
        return undefined;
      },
    };
  },
};
