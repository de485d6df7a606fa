/**
 * Shared reads: steps starting together share a read in flight, and nobody is served one that has
 * already answered; steps settling together share one read made after all of their writes.
 */
import { describe, expect, it } from 'vitest';
import { afterTurn, joined } from '../../../src/engine/run/sharedReads.js';
import { withTenant } from '../../../src/tenant.js';

/** A read that answers when told to, counting how often it was made. */
function controlledRead() {
  const calls: string[] = [];
  const answers: Array<(value: string) => void> = [];
  const fails: Array<(error: Error) => void> = [];
  const read = (id: string) => {
    calls.push(id);
    return new Promise<string>((resolve, reject) => {
      answers.push((v) => resolve(v));
      fails.push(reject);
    });
  };
  return { calls, read, answer: (i: number, v: string) => answers[i]!(v), fail: (i: number, e: Error) => fails[i]!(e) };
}

describe('joined reads', () => {
  it('makes one read for callers asking at once, and all of them get its answer', async () => {
    const r = controlledRead();
    const read = joined(r.read);
    const both = Promise.all([read('o1'), read('o1')]);
    r.answer(0, 'doc');
    expect(await both).toEqual(['doc', 'doc']);
    expect(r.calls).toEqual(['o1']);
  });

  it('reads again once a read has answered: nothing is kept', async () => {
    const r = controlledRead();
    const read = joined(r.read);
    const first = read('o1');
    r.answer(0, 'old');
    await first;
    const second = read('o1');
    r.answer(1, 'new');
    expect(await second).toBe('new');
    expect(r.calls).toEqual(['o1', 'o1']);
  });

  it('reads each id, and each workspace, on its own', async () => {
    const r = controlledRead();
    const read = joined(r.read);
    const reads = [
      read('o1'),
      read('o2'),
      withTenant({ teamId: 'T1', enterpriseId: null }, () => read('o1')),
      withTenant({ teamId: 'T2', enterpriseId: null }, () => read('o1')),
    ];
    for (let i = 0; i < 4; i++) r.answer(i, `answer ${i}`);
    expect(await Promise.all(reads)).toEqual(['answer 0', 'answer 1', 'answer 2', 'answer 3']);
    expect(r.calls).toHaveLength(4);
  });

  it('fails every caller of a failed read, and the next caller reads again', async () => {
    const r = controlledRead();
    const read = joined(r.read);
    const both = Promise.allSettled([read('o1'), read('o1')]);
    r.fail(0, new Error('connection reset'));
    expect((await both).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    const again = read('o1');
    r.answer(1, 'doc');
    expect(await again).toBe('doc');
  });
});

describe('reads after the turn', () => {
  it('makes one read for the callers of one turn, after it: it sees what each of them wrote before asking', async () => {
    const stored: string[] = [];
    let reads = 0;
    const read = afterTurn(async () => {
      reads += 1;
      return [...stored];
    });
    // Three steps settle in one turn: each writes, then asks what is ready.
    const asked = ['a', 'b', 'c'].map((key) => {
      stored.push(key);
      return read('run');
    });
    expect(await Promise.all(asked)).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
    expect(reads).toBe(1);
  });

  it('a caller asking once the read has left gets a read of its own, made after its write', async () => {
    const stored: string[] = [];
    let release: () => void = () => {};
    const read = afterTurn(async () => {
      const seen = [...stored];
      await new Promise<void>((r) => (release = r));
      return seen;
    });
    stored.push('a');
    const first = read('run');
    await new Promise((r) => setImmediate(r)); // the first read has left
    stored.push('b');
    const second = read('run');
    release();
    expect(await first).toEqual(['a']);
    await new Promise((r) => setImmediate(r));
    release();
    expect(await second).toEqual(['a', 'b']);
  });
});
