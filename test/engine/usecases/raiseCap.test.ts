/** Raise cap and continue on its own (usecases/raiseCap.ts): only for a run stopped by its budget, to a valid cap. */
import { describe, expect, it } from 'vitest';
import { decodeControlValue, InputIds, ViewIds } from '../../../src/blocks/actionIds.js';
import { raiseCapModalFor, submitRaiseCap } from '../../../src/engine/usecases/raiseCap.js';
import { APPROVER, clickOn, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

const BLOCK = InputIds.budget.block;
const stopped = () => seed({ status: 'failed', budgetStop: true, maxUsd: 2, spentUsd: 1.9 });

describe('raiseCapModalFor', () => {
  it('opens for a run stopped by its budget, with the current cap and spend', async () => {
    const { services } = makeServices();
    const id = await stopped();
    const outcome = await raiseCapModalFor(services, clickOn(id, 1, { userId: APPROVER }));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.view.callback_id).toBe(ViewIds.raiseCap);
    expect(decodeControlValue(outcome.view.private_metadata)).toEqual({ orchestrationId: id, revision: 1 });
    expect(JSON.stringify(outcome.view.blocks)).toContain('$1.90 spent of $2.00');
  });

  it('does not open for a run that failed otherwise, or one still running', async () => {
    const { services } = makeServices();
    const failed = await seed({ status: 'failed', budgetStop: false });
    expect(await raiseCapModalFor(services, clickOn(failed, 1))).toEqual({
      ok: false,
      reply: { text: 'This run is not waiting for a higher cap: it is *:x: Failed*.' },
    });
    const running = await seed({ status: 'executing' });
    const outcome = await raiseCapModalFor(services, clickOn(running, 1));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reply.text).toMatch(/^This run is not waiting for a higher cap/);
  });

  it('refuses a stranger and a run that does not exist', async () => {
    const { services } = makeServices();
    const id = await stopped();
    const outcome = await raiseCapModalFor(services, clickOn(id, 1, { userId: STRANGER }));
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reply.text).toContain(`Only <@${REQUESTER}>`);
    expect(await raiseCapModalFor(services, { control: null, userId: REQUESTER, botUserId: undefined })).toEqual({
      ok: false,
      reply: { text: 'That run no longer exists. Nothing was changed.' },
    });
  });
});

describe('submitRaiseCap', () => {
  it('refuses an amount that is not positive, not above the current cap, or above the ceiling', async () => {
    const { services, engine } = makeServices();
    const id = await stopped();
    const submit = (usd: number) => submitRaiseCap(services, clickOn(id, 1), usd, BLOCK);
    for (const usd of [0, -1, Number.NaN])
      expect((await submit(usd))?.[BLOCK]).toMatch(/^Enter a positive amount in USD/);
    expect(await submit(2)).toEqual({ [BLOCK]: 'The new cap must be above the current one (2.00 USD).' });
    expect(await submit(1.5)).toEqual({ [BLOCK]: 'The new cap must be above the current one (2.00 USD).' });
    // Stored in cents: 2.004 would resume at the very cap that stopped the run.
    expect(await submit(2.004)).toEqual({ [BLOCK]: 'The new cap must be above the current one (2.00 USD).' });
    expect(await submit(100.01)).toEqual({ [BLOCK]: 'The cap can be at most $100.00 (ORCHESTRATE_MAX_BUDGET_USD).' });
    expect(engine.raiseCapAndContinue).not.toHaveBeenCalled();
    expect(await load(id)).toMatchObject({ status: 'failed', budgetStop: true, budget: { maxUsd: 2 } });
  });

  it('resumes with the amount rounded to cents, by the person who raised it', async () => {
    const { services, engine } = makeServices();
    const id = await stopped();
    expect(await submitRaiseCap(services, clickOn(id, 1, { userId: APPROVER }), 4.126, BLOCK)).toBeNull();
    expect(engine.raiseCapAndContinue).toHaveBeenCalledExactlyOnceWith(id, 4.13, APPROVER);
    expect(await load(id)).toMatchObject({ status: 'executing', budgetStop: false, budget: { maxUsd: 4.13 } });
  });

  it('refuses a second raise once the run goes on', async () => {
    const { services, engine } = makeServices();
    const id = await stopped();
    await submitRaiseCap(services, clickOn(id, 1), 5, BLOCK);
    expect(await submitRaiseCap(services, clickOn(id, 1), 6, BLOCK)).toEqual({
      [BLOCK]: 'This run is no longer waiting for a higher cap.',
    });
    expect(engine.raiseCapAndContinue).toHaveBeenCalledTimes(1);
  });

  it('says so when the engine finds the run already resumed or closed', async () => {
    const { services, engine } = makeServices();
    const id = await stopped();
    engine.raiseCapAndContinue.mockResolvedValueOnce(null);
    expect(await submitRaiseCap(services, clickOn(id, 1), 5, BLOCK)).toEqual({
      [BLOCK]: 'Someone else resumed or closed this run meanwhile.',
    });
  });

  it('refuses a stranger without a mention, and a form for a run that does not exist', async () => {
    const { services, engine } = makeServices();
    const id = await stopped();
    expect(await submitRaiseCap(services, clickOn(id, 1, { userId: STRANGER }), 5, BLOCK)).toEqual({
      [BLOCK]: 'Only the requester (who asked for this) or an approver can do that. Nothing was changed.',
    });
    expect(
      await submitRaiseCap(services, { control: null, userId: REQUESTER, botUserId: undefined }, 5, BLOCK),
    ).toEqual({
      [BLOCK]: 'That run no longer exists.',
    });
    expect(engine.raiseCapAndContinue).not.toHaveBeenCalled();
  });
});
