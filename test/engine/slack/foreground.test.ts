import { describe, expect, it } from 'vitest';
import { Foreground } from '../../../src/engine/slack/foreground.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('Foreground.whenQuiet', () => {
  it('waits while a hand-off is in flight, and goes once it is released', async () => {
    const fg = new Foreground(60_000, 0);
    fg.hold('handoff:a');
    const done: string[] = [];
    const stored = fg.whenQuiet('posts:1', async () => done.push('result'));
    await tick();
    expect(done).toEqual([]);
    fg.release('handoff:a');
    await stored;
    expect(done).toEqual(['result']);
  });

  it('goes at once when nothing is in flight', async () => {
    const fg = new Foreground(60_000, 0);
    await expect(fg.whenQuiet('posts:1', async () => 'stored')).resolves.toBe('stored');
  });

  it('goes at once when what closes the thread hurries its group, and no other group', async () => {
    const fg = new Foreground(60_000, 0);
    fg.hold('handoff:a');
    const done: string[] = [];
    void fg.whenQuiet('posts:1', async () => done.push('run 1'));
    void fg.whenQuiet('posts:2', async () => done.push('run 2'));
    await fg.hurry('posts:1');
    expect(done).toEqual(['run 1']);
    fg.release('handoff:a');
    await tick();
    expect(done).toEqual(['run 1', 'run 2']);
  });

  it('goes after what it follows, hurried or not', async () => {
    const fg = new Foreground(60_000, 0);
    let earlierStored = () => {};
    const earlier = new Promise<void>((resolve) => (earlierStored = resolve));
    const done: string[] = [];
    const stored = fg.whenQuiet('posts:1', async () => done.push('result'), earlier);
    const hurried = fg.hurry('posts:1');
    await tick();
    expect(done).toEqual([]);
    earlierStored();
    await Promise.all([stored, hurried]);
    expect(done).toEqual(['result']);
  });

  it('lets a hurry through when the work fails; its own caller sees the failure', async () => {
    const fg = new Foreground(60_000, 0);
    fg.hold('handoff:a');
    const failing = fg.whenQuiet('posts:1', async () => {
      throw new Error('the database is gone');
    });
    const seen = failing.catch((error: Error) => error.message);
    await fg.hurry('posts:1');
    await expect(seen).resolves.toBe('the database is gone');
  });

  it('never waits longer than its bound for a hold nobody releases', async () => {
    const fg = new Foreground(20, 0);
    fg.hold('handoff:forgotten', 60_000);
    await expect(fg.whenQuiet('posts:1', async () => 'stored')).resolves.toBe('stored');
  });

  it('has nothing to hurry once the work is done', async () => {
    const fg = new Foreground(60_000, 0);
    await fg.whenQuiet('posts:1', async () => 'stored');
    await expect(fg.hurry('posts:1')).resolves.toBeUndefined();
  });
});

describe('Foreground.quiet', () => {
  it('is quiet only once no hand-off has been in flight for a while: a hand-off right after another keeps it busy', async () => {
    const fg = new Foreground(60_000, 30);
    fg.hold('handoff:a');
    let quiet = false;
    void fg.quiet().then(() => (quiet = true));
    fg.release('handoff:a');
    await tick();
    expect(quiet).toBe(false);
    // The next result of the same level arrives: still not quiet.
    fg.hold('handoff:b');
    fg.release('handoff:b');
    await tick();
    expect(quiet).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(quiet).toBe(true);
    await expect(fg.quiet()).resolves.toBeUndefined();
  });
});
