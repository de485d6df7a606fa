import { describe, expect, it } from 'vitest';
import { RateGate } from '../../../src/engine/slack/rateGate.js';

describe('RateGate', () => {
  it('lets an urgent call (a status change) go before routine ones already waiting, and keeps order within each lane', async () => {
    const gate = new RateGate(() => 20);
    const order: string[] = [];
    const ask = (name: string, urgent = false) => gate.turn('update', { urgent }).then(() => order.push(name));
    await ask('first');
    const waiting = [ask('tick 1'), ask('tick 2'), ask('tick 3'), ask('Completed', true), ask('Failed', true)];
    await Promise.all(waiting);
    expect(order).toEqual(['first', 'Completed', 'Failed', 'tick 1', 'tick 2', 'tick 3']);
  });
});
