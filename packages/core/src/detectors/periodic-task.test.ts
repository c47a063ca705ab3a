import { describe, expect, it } from 'vitest';
import { ManualClock, flushMicrotasks } from '../testing/manual-clock.js';
import { seededRandom } from '../testing/seeded-random.js';
import type { PeriodicResult, PeriodicSchedule } from './periodic-task.js';
import { PeriodicTask } from './periodic-task.js';

function setup(
  schedule: Partial<PeriodicSchedule>,
  run: (signal: AbortSignal) => Promise<number> | number,
  enabled?: () => boolean,
) {
  const clock = new ManualClock();
  const results: (PeriodicResult<number> & { at: number })[] = [];
  const task = new PeriodicTask<number>({
    clock,
    random: seededRandom(2),
    schedule: {
      intervalMs: 1000,
      jitterPercent: 0,
      timeoutMs: 500,
      initialDelayMs: 0,
      ...schedule,
    },
    run,
    onResult: (result) => results.push({ ...result, at: clock.now() }),
    ...(enabled ? { enabled } : {}),
  });
  return { clock, task, results };
}

describe('PeriodicTask', () => {
  it('runs at a fixed rate and reports values, with a synchronous run too', async () => {
    const starts: number[] = [];
    const { clock, task, results } = setup({}, () => starts.push(clock.now()));
    task.start();
    task.start(); // idempotent
    await clock.advanceAsync(3000, 100);
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    expect(results.map((r) => (r.ok ? r.value : 'failed'))).toEqual([1, 2, 3, 4]);
  });

  it('turns a synchronous throw into a failed result', async () => {
    const { clock, task, results } = setup({}, () => {
      throw new Error('boom');
    });
    task.start();
    clock.advance(0);
    await flushMicrotasks();
    expect(results).toEqual([
      { ok: false, timedOut: false, error: new Error('boom'), latencyMs: 0, at: 0 },
    ]);
  });

  it('skips ticks while disabled', async () => {
    let on = false;
    let runs = 0;
    const { clock, task } = setup(
      {},
      () => ++runs,
      () => on,
    );
    task.start();
    await clock.advanceAsync(2500, 100);
    expect(runs).toBe(0);
    on = true;
    await clock.advanceAsync(1000, 100);
    expect(runs).toBe(1);
  });

  it('never schedules closer than 1 % of the interval, even at 100 % jitter', async () => {
    const clock = new ManualClock();
    const starts: number[] = [];
    const task = new PeriodicTask<number>({
      clock,
      random: { next: () => 0 }, // the shortest possible delay every time
      schedule: { intervalMs: 1000, jitterPercent: 100, timeoutMs: 5, initialDelayMs: 0 },
      run: () => starts.push(clock.now()),
      onResult: () => {},
    });
    task.start();
    await clock.advanceAsync(35);
    expect(starts).toEqual([0, 10, 20, 30]);
    task.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('stop() aborts the run in flight and reports nothing more', async () => {
    let signal: AbortSignal | undefined;
    let settle: (value: number) => void = () => {};
    const { clock, task, results } = setup({}, (s) => {
      signal = s;
      return new Promise<number>((resolve) => (settle = resolve));
    });
    task.start();
    await clock.advanceAsync(100);
    expect(task.busy).toBe(true);
    task.stop();
    expect(signal!.aborted).toBe(true);
    expect(task.busy).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    settle(1);
    await flushMicrotasks();
    expect(results).toEqual([]);
    task.start(); // final: does not restart
    expect(clock.pendingTimers).toBe(0);
  });
});
