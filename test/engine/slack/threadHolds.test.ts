/**
 * Thread holds: the deliverable's post waits for the live draft to close, the posts stored before
 * the hold do not, and a hold that never settles lets the posts go after 30 s.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ThreadHolds } from '../../../src/engine/slack/threadHolds.js';

const settled = () => new Promise((r) => setTimeout(r, 0));

describe('ThreadHolds', () => {
  afterEach(() => vi.useRealTimers());

  it('holds the posts of the thread stored from the hold on, until it settles, then says so', async () => {
    const holds = new ThreadHolds();
    const before = new Date(Date.now() - 1000);
    let close!: () => void;
    const released = vi.fn();
    holds.hold('C1', '1.0', new Promise<void>((r) => (close = r)), released);
    const after = new Date(Date.now() + 1);
    expect(holds.has('C1', '1.0', before)).toBe(false);
    expect(holds.has('C1', '1.0', after)).toBe(true);
    expect(holds.has('C1', '2.0', after)).toBe(false);
    expect(holds.has('C2', '1.0', after)).toBe(false);
    expect(holds.has('C1', null, after)).toBe(false);
    close();
    await settled();
    expect(released).toHaveBeenCalledTimes(1);
    expect(holds.has('C1', '1.0', after)).toBe(false);
  });

  it('lets the posts go when what it waits for fails, and keeps a second hold until that one settles', async () => {
    const holds = new ThreadHolds();
    let second!: () => void;
    holds.hold('C1', '1.0', Promise.reject(new Error('stopStream failed')), () => undefined);
    holds.hold('C1', '1.0', new Promise<void>((r) => (second = r)), () => undefined);
    await settled();
    const later = new Date(Date.now() + 1);
    expect(holds.has('C1', '1.0', later)).toBe(true);
    second();
    await settled();
    expect(holds.has('C1', '1.0', later)).toBe(false);
  });

  it('never holds longer than 30 s', async () => {
    vi.useFakeTimers();
    const holds = new ThreadHolds();
    const released = vi.fn();
    holds.hold('C1', '1.0', new Promise(() => undefined), released);
    const later = new Date(Date.now() + 1);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(holds.has('C1', '1.0', later)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(released).toHaveBeenCalledTimes(1);
    expect(holds.has('C1', '1.0', later)).toBe(false);
  });
});
