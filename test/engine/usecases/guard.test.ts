/** The checks every click and form passes before it may change anything (usecases/guard.ts). */
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { notOpen, UNKNOWN_BUTTON } from '../../../src/blocks/replies.js';
import { staleText } from '../../../src/blocks/stalePlan.js';
import type { OrchestrationId } from '../../../src/engine/plan/ids.js';
import { answerStale, checkClick, checkForm } from '../../../src/engine/usecases/guard.js';
import { APPROVER, BOT, clickOn, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

const current = { requireCurrentRevision: true };
const anyRevision = { requireCurrentRevision: false };
const missingId = () => new Types.ObjectId().toHexString() as OrchestrationId;

describe('checkClick', () => {
  it('refuses a control Orchestrate did not draw', async () => {
    const { services } = makeServices();
    const checked = await checkClick(services, { control: null, userId: REQUESTER, botUserId: BOT }, current);
    expect(checked).toEqual({ ok: false, reply: { text: UNKNOWN_BUTTON } });
  });

  it('says when the orchestration is gone, in its own words when given', async () => {
    const { services } = makeServices();
    const click = clickOn(missingId(), 1);
    expect(await checkClick(services, click, current)).toEqual({
      ok: false,
      reply: { text: 'That orchestration no longer exists. Nothing was changed.' },
    });
    expect(await checkClick(services, click, { ...current, missingText: 'No such run.' })).toEqual({
      ok: false,
      reply: { text: 'No such run.' },
    });
  });

  it('lets the requester and an approver through, and refuses anyone else by naming the requester', async () => {
    const { services } = makeServices();
    const id = await seed();
    for (const userId of [REQUESTER, APPROVER]) {
      const checked = await checkClick(services, clickOn(id, 1, { userId }), current);
      expect(checked.ok).toBe(true);
    }
    const refused = await checkClick(services, clickOn(id, 1, { userId: STRANGER }), current);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.reply.text).toMatch(/^:no_entry: Only <@UREQUESTER> \(who asked for this\) or an approver/);
    expect(refused.reply.text).toContain('Nothing was changed.');
  });

  it('refuses the bot itself, even when it is named as the requester', async () => {
    const { services } = makeServices();
    const id = await seed();
    const click = { ...clickOn(id, 1), userId: BOT };
    const checked = await checkClick(services, click, current);
    expect(checked).toEqual({ ok: false, reply: { text: ':no_entry: The bot cannot act on its own proposals.' } });
    const asRequester = await checkClick(services, { ...clickOn(id, 1), botUserId: REQUESTER }, current);
    expect(asRequester.ok).toBe(false);
  });

  it('says a closed orchestration is no longer open, or what the caller says instead', async () => {
    const { services } = makeServices();
    const id = await seed({ status: 'completed' });
    expect(await checkClick(services, clickOn(id, 1), current)).toEqual({
      ok: false,
      reply: { text: notOpen('completed') },
    });
    expect(notOpen('completed')).toContain('no longer open');
    const custom = await checkClick(services, clickOn(id, 1), {
      ...anyRevision,
      closedText: (d) => `ended: ${d.status}`,
    });
    expect(custom).toEqual({ ok: false, reply: { text: 'ended: completed' } });
  });

  it('answers a click on an older revision with the current plan, and redraws the message', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 3 });
    const checked = await checkClick(services, clickOn(id, 2), current);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.reply.text).toBe(staleText(2, 3));
    expect(JSON.stringify(checked.reply.blocks)).toContain('the current one is *revision 3*');
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('lets an older revision through when the action does not need the current one', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 3 });
    const checked = await checkClick(services, clickOn(id, 1, { target: 'draft' }), anyRevision);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.control).toEqual({ orchestrationId: id, revision: 1, target: 'draft' });
    expect(checked.doc.revision).toBe(3);
    expect(engine.redraw).not.toHaveBeenCalled();
  });
});

describe('answerStale', () => {
  it('names the last change and who made it', async () => {
    const { services } = makeServices();
    const doc = await load(await seed({ revision: 2 }));
    const reply = await answerStale(services, 1, doc);
    expect(JSON.stringify(reply.blocks)).toContain('Last change: edit number 2 by <@UREQUESTER>');
  });

  it('says only the revisions when there is no plan to show', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 2 });
    const doc = { ...(await load(id)), proposal: null };
    expect(await answerStale(services, 1, doc)).toEqual({ text: staleText(1, 2) });
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
  });
});

describe('checkForm', () => {
  const block = 'the_block';

  it('refuses a form Orchestrate did not draw', async () => {
    const { services } = makeServices();
    const checked = await checkForm(services, { control: null, userId: REQUESTER, botUserId: BOT }, block);
    expect(checked).toEqual({
      ok: false,
      errors: { [block]: 'This form is not one Orchestrate understands. Close it and click the button again.' },
    });
  });

  it('says when the orchestration is gone', async () => {
    const { services } = makeServices();
    const checked = await checkForm(services, clickOn(missingId(), 1), block);
    expect(checked).toEqual({ ok: false, errors: { [block]: 'That orchestration no longer exists.' } });
  });

  it('refuses a stranger without a mention (modals do not render them)', async () => {
    const { services } = makeServices();
    const id = await seed();
    const checked = await checkForm(services, clickOn(id, 1, { userId: STRANGER }), block);
    expect(checked).toEqual({
      ok: false,
      errors: { [block]: 'Only the requester (who asked for this) or an approver can do that. Nothing was changed.' },
    });
  });

  it('refuses the bot', async () => {
    const { services } = makeServices();
    const id = await seed();
    const checked = await checkForm(services, { ...clickOn(id, 1), userId: BOT }, block);
    expect(checked).toEqual({ ok: false, errors: { [block]: 'The bot cannot act on its own proposals.' } });
  });

  it('refuses a plan that was approved or closed', async () => {
    const { services } = makeServices();
    for (const status of ['approved', 'cancelled'] as const) {
      const id = await seed({ status });
      const checked = await checkForm(services, clickOn(id, 1), block);
      expect(checked).toEqual({
        ok: false,
        errors: { [block]: 'The plan can no longer be edited: it was approved or closed.' },
      });
    }
  });

  it('refuses a form opened on an older revision', async () => {
    const { services } = makeServices();
    const id = await seed({ revision: 2 });
    const checked = await checkForm(services, clickOn(id, 1), block);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors[block]).toMatch(/^The plan changed while this form was open \(it is now revision 2\)\./);
  });

  it('passes a current form by an approver', async () => {
    const { services } = makeServices();
    const id = await seed({ revision: 2 });
    const checked = await checkForm(services, clickOn(id, 2, { userId: APPROVER, target: 'analyst' }), block);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.control).toEqual({ orchestrationId: id, revision: 2, target: 'analyst' });
  });
});
