/** Which settles may skip reading what is ready (localSteps.ts): only those whose every dependent waits on another step running here. */
import { describe, expect, it } from 'vitest';
import { LocalSteps } from '../../../src/engine/run/localSteps.js';

// a0 and a1 feed b0; a1 and a2 feed b1; b0 and b1 feed the synthesis.
const graph = [
  { key: 'a0', dependsOn: [] },
  { key: 'a1', dependsOn: [] },
  { key: 'a2', dependsOn: [] },
  { key: 'b0', dependsOn: ['a0', 'a1'] },
  { key: 'b1', dependsOn: ['a1', 'a2'] },
  { key: 'synthesis', dependsOn: ['b0', 'b1'] },
];

describe('LocalSteps', () => {
  it('lets a settle skip its read while each of its dependents waits on another step running here', () => {
    const local = new LocalSteps();
    local.learn('run', graph);
    for (const key of ['a0', 'a1', 'a2']) local.began('run', key);
    local.stored('run', 'a0');
    // b0 still waits on a1, running here: a1 reads once stored.
    expect(local.othersWillAdvance('run', 'a0')).toBe(true);
    local.stored('run', 'a1');
    // b0's other dependency is stored: a1 must read (b0 may be ready), although b1 waits on a2.
    expect(local.othersWillAdvance('run', 'a1')).toBe(false);
    local.stored('run', 'a2');
    expect(local.othersWillAdvance('run', 'a2')).toBe(false);
  });

  it('never skips for a run whose graph it has not read, nor for a step nothing depends on', () => {
    const local = new LocalSteps();
    local.began('run', 'a0');
    local.began('run', 'a1');
    expect(local.othersWillAdvance('run', 'a0')).toBe(false);
    local.learn('run', graph);
    local.began('run', 'b0');
    local.began('run', 'b1');
    expect(local.othersWillAdvance('run', 'synthesis')).toBe(false);
    expect(local.othersWillAdvance('other run', 'a0')).toBe(false);
  });

  it('keeps the graph it learned first, and a step once stored no longer counts, however often it is stored', () => {
    const local = new LocalSteps();
    local.learn('run', graph);
    local.learn('run', [{ key: 'b0', dependsOn: ['a0'] }]);
    local.began('run', 'a1');
    expect(local.othersWillAdvance('run', 'a0')).toBe(true);
    local.stored('run', 'a1');
    local.stored('run', 'a1');
    expect(local.othersWillAdvance('run', 'a0')).toBe(false);
  });

  it('forgets the oldest run past the runs it keeps', () => {
    const local = new LocalSteps();
    local.learn('first', graph);
    for (let i = 0; i < 200; i++) local.learn(`run ${i}`, graph);
    local.began('first', 'a1');
    expect(local.othersWillAdvance('first', 'a0')).toBe(false);
    local.began('run 199', 'a1');
    expect(local.othersWillAdvance('run 199', 'a0')).toBe(true);
  });
});
