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

  it('runSoon() runs at once and the loop goes on from there', async () => {
    const starts: number[] = [];
    const { clock, task } = setup({}, () => starts.push(clock.now()));
    task.start();
    await clock.advanceAsync(1700, 100);
    task.runSoon();
    await clock.advanceAsync(1300, 100);
    expect(starts).toEqual([0, 1000, 1700, 2700]);
  });

  it('runSoon() does nothing within half an interval of the last start, while busy or stopped', async () => {
    const starts: number[] = [];
    let settle = (): void => {};
    const { clock, task } = setup({ timeoutMs: 900 }, () => {
      starts.push(clock.now());
      return new Promise<number>((resolve) => (settle = () => resolve(1)));
    });
    const step = async (ms: number): Promise<void> => {
      clock.advance(ms);
      await flushMicrotasks();
    };
    task.runSoon(); // not started
    await step(0);
    expect(starts).toEqual([]);
    task.start();
    await step(0);
    expect(starts).toEqual([0]);
    await step(600);
    task.runSoon(); // the run of 0 is still in flight
    expect(starts).toEqual([0]);
    settle();
    await step(0);
    await step(400); // the tick of 1000
    settle();
    await step(400);
    task.runSoon(); // 1400: 400 ms after the last start
    expect(starts).toEqual([0, 1000]);
    await step(100);
    task.runSoon(); // 1500: half an interval after it
    expect(starts).toEqual([0, 1000, 1500]);
    task.stop();
    await step(600);
    task.runSoon();
    expect(starts).toEqual([0, 1000, 1500]);
  });

  it('after a stall of this process, reads an answer that came meanwhile before timing out', async () => {
    let answer: (value: number) => void = () => {};
    const { clock, task, results } = setup({ timeoutMs: 500 }, () => {
      return new Promise<number>((resolve) => (answer = resolve));
    });
    task.start();
    clock.advance(0);
    await flushMicrotasks();
    clock.stall(800); // the timeout, due at 500, fires at 800: late, so it waits a turn
    answer(7); // the answer that arrived during the stall is read
    await flushMicrotasks();
    clock.advance(0);
    expect(results).toEqual([{ ok: true, value: 7, latencyMs: 800, at: 800 }]);
    // With no answer, the late timeout holds after that turn.
    clock.advance(200); // the run of 1000
    await flushMicrotasks();
    clock.stall(900);
    await flushMicrotasks();
    expect(results).toHaveLength(1);
    clock.advance(0);
    await flushMicrotasks();
    expect(results[1]).toMatchObject({ ok: false, timedOut: true, latencyMs: 900, at: 1900 });
    task.stop();
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
