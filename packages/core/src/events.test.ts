import { describe, expect, it } from 'vitest';
import { Emitter } from './events.js';

describe('Emitter', () => {
  it('reports whether anyone listens, and stops calling a removed listener', () => {
    const emitter = new Emitter<{ ping: number }>();
    expect(emitter.has('ping')).toBe(false);
    const seen: number[] = [];
    const off = emitter.on('ping', (n) => seen.push(n));
    expect(emitter.has('ping')).toBe(true);
    emitter.emit('ping', 1);
    off();
    emitter.emit('ping', 2);
    expect(seen).toEqual([1]);
    expect(emitter.has('ping')).toBe(false);
  });

  it('keeps a listener added after clear() when an older unsubscribe runs', () => {
    const emitter = new Emitter<{ ping: number }>();
    const off = emitter.on('ping', () => {});
    emitter.clear();
    const seen: number[] = [];
    emitter.on('ping', (n) => seen.push(n));
    off();
    emitter.emit('ping', 3);
    expect(seen).toEqual([3]);
  });

  it('isolates a throwing listener from the others', async () => {
    const emitter = new Emitter<{ ping: number }>();
    const seen: number[] = [];
    const errors: unknown[] = [];
    const onError = (error: unknown): void => {
      errors.push(error);
    };
    process.on('uncaughtException', onError);
    emitter.on('ping', () => {
      throw new Error('listener bug');
    });
    emitter.on('ping', (n) => seen.push(n));
    emitter.emit('ping', 7);
    expect(seen).toEqual([7]);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('uncaughtException', onError);
    expect((errors[0] as Error).message).toBe('listener bug');
  });
});
