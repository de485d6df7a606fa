/** Cancel on its own (usecases/cancel.ts): any open orchestration, from any revision's button, once. */
import { describe, expect, it } from 'vitest';
import { alreadyFinished, UNKNOWN_BUTTON } from '../../../src/blocks/replies.js';
import { cancelOrchestration } from '../../../src/engine/usecases/cancel.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { APPROVER, BOT, clickOn, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

describe('cancelOrchestration', () => {
  it('cancels a proposal under review through the engine, with the id and the user', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    expect(await cancelOrchestration(services, clickOn(id, 1, { userId: APPROVER }))).toBeNull();
    expect(engine.cancel).toHaveBeenCalledExactlyOnceWith(id, APPROVER);
    expect((await load(id)).status).toBe('cancelled');
  });

  it('cancels from an older revision’s button, and a run in flight', async () => {
    const { services, engine } = makeServices();
    const stale = await seed({ revision: 3 });
    expect(await cancelOrchestration(services, clickOn(stale, 1))).toBeNull();
    const running = await seed({ status: 'executing' });
    expect(await cancelOrchestration(services, clickOn(running, 1))).toBeNull();
    expect(engine.cancel.mock.calls).toEqual([
      [stale, REQUESTER],
      [running, REQUESTER],
    ]);
    expect(engine.redraw).not.toHaveBeenCalled();
  });

  it('says an orchestration already cancelled was already cancelled, without asking the engine', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    await cancelOrchestration(services, clickOn(id, 1));
    const again = await cancelOrchestration(services, clickOn(id, 1));
    expect(again).toEqual({ text: 'It was already cancelled; nothing more to stop.' });
    expect(engine.cancel).toHaveBeenCalledTimes(1);
  });

  it('says a finished one has finished', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ status: 'completed' });
    expect(await cancelOrchestration(services, clickOn(id, 1))).toEqual({ text: alreadyFinished('completed') });
    expect(alreadyFinished('completed')).toContain('already finished');
    expect(engine.cancel).not.toHaveBeenCalled();
  });

  it('says how it ended when it closed between the check and the cancel', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ status: 'synthesizing' });
    engine.cancel.mockImplementationOnce(async () => {
      await Orchestration.updateOne({ _id: id }, { $set: { status: 'completed' } });
      return null;
    });
    expect(await cancelOrchestration(services, clickOn(id, 1))).toEqual({ text: alreadyFinished('completed') });
  });

  it('refuses a stranger, the bot and an unknown control, and cancels nothing', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const stranger = await cancelOrchestration(services, clickOn(id, 1, { userId: STRANGER }));
    expect(stranger?.text).toContain(`Only <@${REQUESTER}>`);
    const bot = await cancelOrchestration(services, { ...clickOn(id, 1), userId: BOT });
    expect(bot?.text).toContain('The bot cannot act on its own proposals.');
    const unknown = await cancelOrchestration(services, { control: null, userId: REQUESTER, botUserId: BOT });
    expect(unknown).toEqual({ text: UNKNOWN_BUTTON });
    expect(engine.cancel).not.toHaveBeenCalled();
    expect((await load(id)).status).toBe('proposed');
  });
});
