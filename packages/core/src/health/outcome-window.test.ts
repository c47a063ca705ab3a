import { describe, expect, it } from 'vitest';
import { OutcomeWindow } from './outcome-window.js';

describe('OutcomeWindow', () => {
  it('counts outcomes within the window and forgets older buckets', () => {
    const w = new OutcomeWindow(10_000, 10, 0);
    w.record(0, true);
    w.record(500, false);
    w.record(5_500, true);
    expect(w.totals(5_500)).toEqual({ successes: 2, failures: 1 });
    expect(w.totals(10_999)).toEqual({ successes: 1, failures: 0 }); // bucket [0, 1000) gone
    expect(w.totals(16_000)).toEqual({ successes: 0, failures: 0 });
  });

  it('survives a jump longer than the whole window', () => {
    const w = new OutcomeWindow(1_000, 4, 0);
    w.record(0, false);
    w.record(1_000_000, true);
    expect(w.totals(1_000_000)).toEqual({ successes: 1, failures: 0 });
  });
});
