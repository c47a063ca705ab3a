import { describe, expect, it } from 'vitest';
import { lateTimerMs, setTimeoutAfterInput, sleep } from '../clock.js';
import { ManualClock } from './manual-clock.js';

describe('ManualClock', () => {
  it('fires timers in time order, ties in the order they were set', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('c'), 20);
    const cancelled = clock.setTimeout(() => fired.push('x'), 5);
    cancelled.cancel();
    clock.advance(15);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(115);
    clock.advance(5);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a timer set by a timer within the same advance', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    clock.setTimeout(() => {
      at.push(clock.now());
      clock.setTimeout(() => at.push(clock.now()), 10);
    }, 10);
    clock.advance(25);
    expect(at).toEqual([10, 20]);
  });

  it('stall(): no timer fires meanwhile, then the overdue ones fire late; timers they set wait', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`a2@${clock.now()}`), 0);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('x'), 30);
    clock.setTimeout(() => cancelled.cancel(), 15); // a timer may cancel another due one
    clock.setTimeout(() => fired.push(`later@${clock.now()}`), 500);
    clock.stall(100);
    expect(fired).toEqual(['a@100', 'b@100']);
    expect(clock.now()).toBe(100);
    clock.advance(0);
    expect(fired).toEqual(['a@100', 'b@100', 'a2@100']);
    clock.advance(400);
    expect(fired.at(-1)).toBe('later@500');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('setTimeoutAfterInput', () => {
  it('fires on time like setTimeout', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    setTimeoutAfterInput(clock, () => at.push(clock.now()), 100);
    clock.advance(100);
    expect(at).toEqual([100]);
    expect(clock.pendingTimers).toBe(0);
  });

  it(`after a stall, waits one more turn; a cancel() then still holds`, () => {
    const clock = new ManualClock();
    const at: number[] = [];
    setTimeoutAfterInput(clock, () => at.push(clock.now()), 100);
    clock.stall(100 + lateTimerMs); // on the edge: still on time
    expect(at).toEqual([100 + lateTimerMs]);
    const timer = setTimeoutAfterInput(clock, () => at.push(-1), 100);
    clock.stall(300);
    expect(at).toHaveLength(1); // late: set again for one turn
    expect(clock.pendingTimers).toBe(1);
    timer.cancel(); // the input that came meanwhile answered
    clock.advance(0);
    expect(at).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    setTimeoutAfterInput(clock, () => at.push(clock.now()), 100);
    clock.stall(300);
    clock.advance(0);
    expect(at).toEqual([100 + lateTimerMs, clock.now()]);
  });
});

describe('sleep', () => {
  it('resolves after the delay on the given clock', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(clock, 50).then(() => (done = true));
    clock.advance(49);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects at once with the abort reason and cancels its timer', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const p = sleep(clock, 1000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects without a timer when the signal is already aborted', async () => {
    const clock = new ManualClock();
    await expect(sleep(clock, 10, AbortSignal.abort(new Error('early')))).rejects.toThrow('early');
    expect(clock.pendingTimers).toBe(0);
  });
});
