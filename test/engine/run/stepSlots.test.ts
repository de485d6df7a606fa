/** The process-wide step slots: never more taken than there are, and a waiting job served before a fork. */
import { describe, expect, it } from 'vitest';
import { StepSlots } from '../../../src/engine/run/stepSlots.js';

describe('StepSlots', () => {
  it('gives out at most its capacity, and a slot again once one is released', () => {
    const slots = new StepSlots(2);
    expect([slots.tryTake(), slots.tryTake(), slots.tryTake()]).toEqual([true, true, false]);
    slots.release();
    expect(slots.tryTake()).toBe(true);
    expect(slots.tryTake()).toBe(false);
  });

  it('hands a released slot to a job waiting for one, not to a fork asking after it', async () => {
    const slots = new StepSlots(1);
    await slots.take();
    let served = false;
    const waiting = slots.take().then(() => (served = true));
    expect(slots.tryTake()).toBe(false);
    slots.release();
    await waiting;
    expect(served).toBe(true);
    // The waiting job holds the one slot now.
    expect(slots.tryTake()).toBe(false);
    slots.release();
    expect(slots.tryTake()).toBe(true);
  });
});
