/** Approve on its own (usecases/approve.ts): one approval of the current revision, and every refusal in words. */
import { describe, expect, it, vi } from 'vitest';
import { notOpen, UNKNOWN_BUTTON } from '../../../src/blocks/replies.js';
import { staleText } from '../../../src/blocks/stalePlan.js';
import { approvePlan } from '../../../src/engine/usecases/approve.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { APPROVER, BOT, clickOn, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

/** Runs once right after the next check has read the orchestration: another click landing in between. */
const between = vi.hoisted(() => ({ next: null as null | (() => Promise<unknown>) }));
vi.mock('../../../src/engine/run/transition.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/engine/run/transition.js')>();
  return {
    ...real,
    loadOrchestration: async (id: Parameters<typeof real.loadOrchestration>[0]) => {
      const doc = await real.loadOrchestration(id);
      const hook = between.next;
      between.next = null;
      await hook?.();
      return doc;
    },
  };
});

describe('approvePlan', () => {
  it('approves the current revision once, records who and when, redraws and enqueues the run', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 2 });
    expect(await approvePlan(services, clickOn(id, 2, { userId: APPROVER }))).toBeNull();
    const doc = await load(id);
    expect(doc).toMatchObject({ status: 'approved', approvedBy: APPROVER, approvedRevision: 2 });
    expect(doc.approvedAt).toBeInstanceOf(Date);
    expect(doc.transitions).toEqual([
      expect.objectContaining({ from: 'proposed', to: 'approved', by: APPROVER, reason: 'approved revision 2' }),
    ]);
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
    expect(engine.enqueueStart).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('tells the truth when the run cannot be queued at once: approved, and it will start by itself', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    engine.enqueueStart.mockRejectedValueOnce(new Error('queue unreachable'));
    const reply = await approvePlan(services, clickOn(id, 1));
    expect(reply?.text).toMatch(/^:white_check_mark: Approved\. .*will go on within a minute by itself/);
    expect((await load(id)).status).toBe('approved');
  });

  it('says a second approval came after the first, naming who approved, and enqueues nothing more', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    await approvePlan(services, clickOn(id, 1));
    const again = await approvePlan(services, clickOn(id, 1, { userId: APPROVER }));
    expect(again?.text).toBe(
      `This plan was already approved by <@${REQUESTER}>; it is *:white_check_mark: Approved → executing*.`,
    );
    expect(engine.enqueueStart).toHaveBeenCalledTimes(1);
    expect((await load(id)).approvedBy).toBe(REQUESTER);
  });

  it('gives one run for many clicks at once', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        approvePlan(services, clickOn(id, 1, { userId: i % 2 ? APPROVER : REQUESTER })),
      ),
    );
    expect(replies.filter((r) => r === null)).toHaveLength(1);
    for (const r of replies.filter((r) => r !== null)) expect(r.text).toMatch(/already approved|got there first/);
    expect(engine.enqueueStart).toHaveBeenCalledTimes(1);
    expect((await load(id)).transitions).toHaveLength(1);
  });

  it('answers a stale revision with the current plan and changes nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 3 });
    const reply = await approvePlan(services, clickOn(id, 2));
    expect(reply?.text).toBe(staleText(2, 3));
    expect(JSON.stringify(reply?.blocks)).toContain('*The current plan*');
    const doc = await load(id);
    expect(doc).toMatchObject({ status: 'proposed', approvedBy: null, approvedRevision: null, transitions: [] });
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it('refuses someone who is neither the requester nor an approver, naming the requester', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const reply = await approvePlan(services, clickOn(id, 1, { userId: STRANGER }));
    expect(reply?.text).toContain(`Only <@${REQUESTER}> (who asked for this) or an approver can do that.`);
    expect((await load(id)).status).toBe('proposed');
    expect(engine.redraw).not.toHaveBeenCalled();
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it("refuses the bot's own user id", async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const reply = await approvePlan(services, { ...clickOn(id, 1), userId: BOT });
    expect(reply?.text).toBe(':no_entry: The bot cannot act on its own proposals.');
    expect((await load(id)).status).toBe('proposed');
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it('says a closed orchestration is no longer open', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ status: 'cancelled' });
    const reply = await approvePlan(services, clickOn(id, 1));
    expect(reply?.text).toBe(notOpen('cancelled'));
    expect(reply?.text).toContain('no longer open');
    expect((await load(id)).status).toBe('cancelled');
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it('answers a control it does not understand', async () => {
    const { services, engine } = makeServices();
    const reply = await approvePlan(services, { control: null, userId: REQUESTER, botUserId: BOT });
    expect(reply?.text).toBe(UNKNOWN_BUTTON);
    expect(UNKNOWN_BUTTON).toContain('not one Orchestrate understands');
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it('loses to an edit stored after its check: answers with the new revision and approves nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    between.next = () => Orchestration.updateOne({ _id: id }, { $set: { revision: 2 } });
    const reply = await approvePlan(services, clickOn(id, 1));
    expect(reply?.text).toBe(staleText(1, 2));
    expect(await load(id)).toMatchObject({ status: 'proposed', approvedBy: null, transitions: [] });
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });

  it('loses to a cancel stored after its check: says so and approves nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    between.next = () => Orchestration.updateOne({ _id: id }, { $set: { status: 'cancelled' } });
    const reply = await approvePlan(services, clickOn(id, 1));
    expect(reply?.text).toBe(
      'Someone got there first: the orchestration is *:no_entry_sign: Cancelled*. Nothing was changed.',
    );
    expect((await load(id)).approvedBy).toBeNull();
    expect(engine.enqueueStart).not.toHaveBeenCalled();
  });
});
