/** Group commit: a lone write leaves at once; writes arriving meanwhile go together, or each on its own. */
import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../../src/engine/money/groupCommit.js';

/** A write that ends when told to, recording what each call carried. */
function gatedWrites(manyApplies = true) {
  const calls: Array<{ kind: 'one' | 'many'; items: number[] }> = [];
  const gates: Array<() => void> = [];
  const wait = () => new Promise<void>((resolve) => gates.push(resolve));
  const write = groupCommit<number, string>(
    async (item) => {
      calls.push({ kind: 'one', items: [item] });
      await wait();
      return `one ${item}`;
    },
    async (items) => {
      calls.push({ kind: 'many', items });
      await wait();
      return manyApplies ? items.map((i) => `many ${i}`) : null;
    },
  );
  const openAll = async () => {
    for (let i = 0; i < 20 && gates.length; i++) {
      for (const go of gates.splice(0)) go();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { calls, write, openAll };
}

describe('groupCommit', () => {
  it('sends a lone write at once, and the writes that arrive while it is in flight together in the next', async () => {
    const { calls, write, openAll } = gatedWrites();
    const first = write('doc', 1);
    expect(calls).toEqual([{ kind: 'one', items: [1] }]);
    const rest = [2, 3, 4].map((i) => write('doc', i));
    await openAll();
    expect(await Promise.all([first, ...rest])).toEqual(['one 1', 'many 2', 'many 3', 'many 4']);
    expect(calls).toEqual([
      { kind: 'one', items: [1] },
      { kind: 'many', items: [2, 3, 4] },
    ]);
  });

  it('writes each on its own, in arrival order, when the group cannot apply as a whole', async () => {
    const { calls, write, openAll } = gatedWrites(false);
    const all = [1, 2, 3].map((i) => write('doc', i));
    await openAll();
    expect(await Promise.all(all)).toEqual(['one 1', 'one 2', 'one 3']);
    expect(calls.map((c) => `${c.kind} ${c.items.join()}`)).toEqual(['one 1', 'many 2,3', 'one 2', 'one 3']);
  });

  it('keeps documents apart: a write to one never waits for another', async () => {
    const { calls, write, openAll } = gatedWrites();
    const a = write('a', 1);
    const b = write('b', 2);
    expect(calls).toEqual([
      { kind: 'one', items: [1] },
      { kind: 'one', items: [2] },
    ]);
    await openAll();
    expect(await Promise.all([a, b])).toEqual(['one 1', 'one 2']);
  });

  it('fails the items of a failed group write without writing them again, and goes on with later ones', async () => {
    let failNext = true;
    let writes = 0;
    const write = groupCommit<number, number>(
      async (item) => {
        writes++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return item;
      },
      async () => {
        writes++;
        if (failNext) {
          failNext = false;
          throw new Error('connection reset');
        }
        return null;
      },
    );
    const outcomes = await Promise.allSettled([write('doc', 1), write('doc', 2), write('doc', 3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(writes).toBe(2);
    expect(await write('doc', 4)).toBe(4);
  });
});
