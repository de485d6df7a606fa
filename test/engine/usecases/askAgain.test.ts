/** Ask again on its own (usecases/askAgain.ts): the form keeps the click's response_url; submitting replans. */
import { describe, expect, it } from 'vitest';
import { decodeControlValue, InputIds, ViewIds } from '../../../src/blocks/actionIds.js';
import { askingAgain, notEditable } from '../../../src/blocks/replies.js';
import { staleText } from '../../../src/blocks/stalePlan.js';
import { askAgainModalFor, submitAskAgain } from '../../../src/engine/usecases/askAgain.js';
import type { Click } from '../../../src/engine/usecases/guard.js';
import { APPROVER, BOT, clickOn, makeServices, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

const BLOCK = InputIds.note.block;
const RESPONSE_URL = 'https://hooks.example.test/actions/T1/42/abc';

/** The form's submission, as the listener reads it: the control comes from the modal's private_metadata. */
const formFrom = (privateMetadata: string | undefined, userId: string): Click => ({
  control: decodeControlValue(privateMetadata),
  userId,
  botUserId: BOT,
});

describe('askAgainModalFor', () => {
  it("carries the click's response_url in the form's private_metadata", async () => {
    const { services } = makeServices();
    const id = await seed({ revision: 2 });
    const outcome = await askAgainModalFor(services, clickOn(id, 2, { responseUrl: RESPONSE_URL }));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.view.callback_id).toBe(ViewIds.askAgain);
    expect(decodeControlValue(outcome.view.private_metadata)).toEqual({
      orchestrationId: id,
      revision: 2,
      responseUrl: RESPONSE_URL,
    });
  });

  it('does not open on an older revision or a plan no longer editable', async () => {
    const { services } = makeServices();
    const stale = await seed({ revision: 2 });
    const outcome = await askAgainModalFor(services, clickOn(stale, 1));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reply.text).toBe(staleText(1, 2));
    const approved = await seed({ status: 'approved' });
    expect(await askAgainModalFor(services, clickOn(approved, 1))).toEqual({
      ok: false,
      reply: { text: notEditable('approved') },
    });
  });
});

describe('submitAskAgain', () => {
  it('enqueues the replan with revision, user and note only when asked, then tells the clicker', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const opened = await askAgainModalFor(services, clickOn(id, 1, { userId: APPROVER, responseUrl: RESPONSE_URL }));
    if (!opened.ok) throw new Error('the form did not open');
    const outcome = await submitAskAgain(
      services,
      formFrom(opened.view.private_metadata, APPROVER),
      'Fewer tickets',
      BLOCK,
    );
    if (!('enqueue' in outcome)) throw new Error(`refused: ${JSON.stringify(outcome.errors)}`);
    expect(engine.enqueueReplan).not.toHaveBeenCalled();

    await outcome.enqueue();
    expect(engine.enqueueReplan).toHaveBeenCalledExactlyOnceWith({
      orchestrationId: id,
      revision: 1,
      by: APPROVER,
      note: 'Fewer tickets',
      responseUrl: RESPONSE_URL,
    });
    expect(engine.respond).toHaveBeenCalledExactlyOnceWith(RESPONSE_URL, askingAgain(1));
    expect(askingAgain(1)).toMatch(/^:hourglass_flowing_sand: Asking the CEO agent again…/);
  });

  it('enqueues without a note or a response_url when there is none', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const outcome = await submitAskAgain(services, clickOn(id, 1), null, BLOCK);
    if (!('enqueue' in outcome)) throw new Error('refused');
    await outcome.enqueue();
    expect(engine.enqueueReplan.mock.calls[0]?.[0]).toMatchObject({ note: null, responseUrl: null });
    expect(engine.respond).toHaveBeenCalledExactlyOnceWith(null, askingAgain(1));
  });

  it('refuses a form opened on an older revision, and a stranger, enqueueing nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ revision: 2 });
    const stale = await submitAskAgain(services, clickOn(id, 1), 'note', BLOCK);
    expect('errors' in stale && stale.errors[BLOCK]).toMatch(
      /^The plan changed while this form was open \(it is now revision 2\)\./,
    );
    const stranger = await submitAskAgain(services, clickOn(id, 2, { userId: STRANGER }), 'note', BLOCK);
    expect('errors' in stranger && stranger.errors[BLOCK]).toMatch(/^Only the requester/);
    expect(engine.enqueueReplan).not.toHaveBeenCalled();
    expect(engine.respond).not.toHaveBeenCalled();
  });
});
