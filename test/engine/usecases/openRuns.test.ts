/**
 * /orchestrate status and cancel on their own (usecases/openRuns.ts): the caller's open
 * orchestrations with their links, and cancelling by id or by link through the proposal's own
 * cancel, with the same rights.
 */
import { describe, expect, it, vi } from 'vitest';
import { NO_SUCH_ORCHESTRATION } from '../../../src/blocks/replies.js';
import { cancelByRef, openRunsReply, proposalLink } from '../../../src/engine/usecases/openRuns.js';
import { parseOrchestrationRef } from '../../../src/engine/usecases/orchestrationRef.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { APPROVER, BOT, load, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();

const permalinks = (answer: (args: { channel: string; message_ts: string }) => Promise<unknown>) => {
  const getPermalink = vi.fn(answer);
  return { client: { chat: { getPermalink } } as any, getPermalink };
};
const slackPermalink = permalinks(async (args) => ({
  ok: true,
  permalink: `https://acme.slack.com/archives/${args.channel}/p${args.message_ts.replace('.', '')}`,
}));

describe('proposalLink', () => {
  const doc = { channelId: 'C1', messageTs: '1700000000.000100', slackTeamId: 'T1' };

  it('is the proposal message’s permalink from Slack', async () => {
    expect(await proposalLink(slackPermalink.client, doc)).toEqual({
      url: 'https://acme.slack.com/archives/C1/p1700000000000100',
      to: 'message',
    });
  });

  it('falls back to the channel’s link when Slack gives none, and is null while there is no message', async () => {
    const refused = permalinks(async () => {
      throw new Error('channel_not_found');
    });
    const errors: unknown[] = [];
    expect(await proposalLink(refused.client, doc, (e) => errors.push(e))).toEqual({
      url: 'https://slack.com/app_redirect?channel=C1&team=T1',
      to: 'channel',
    });
    expect(errors).toHaveLength(1);
    expect(await proposalLink(permalinks(async () => ({ ok: true })).client, doc)).toMatchObject({ to: 'channel' });
    expect(await proposalLink(refused.client, { ...doc, messageTs: null })).toBeNull();
  });
});

describe('openRunsReply', () => {
  it('lists the caller’s open orchestrations only, newest first, with links and ids', async () => {
    const { services } = makeServices();
    const older = await seed({ status: 'executing' });
    const newer = await seed({ status: 'proposed' });
    await Orchestration.updateOne({ _id: newer }, { $set: { createdAt: new Date(Date.now() + 1000) } });
    await seed({ status: 'completed' });
    const theirs = await seed();
    await Orchestration.updateOne({ _id: theirs }, { $set: { requesterId: STRANGER } });
    const reply = await openRunsReply(services, slackPermalink.client, REQUESTER);
    expect(reply.text).toBe('You have 2 open orchestrations.');
    const text = JSON.stringify(reply.blocks);
    expect(text.indexOf(newer)).toBeGreaterThan(-1);
    expect(text.indexOf(newer)).toBeLessThan(text.indexOf(older));
    expect(text).not.toContain(theirs);
    expect(text).toContain('https://acme.slack.com/archives/CGENERAL/p10|open the proposal');
  });
});

describe('cancelByRef', () => {
  it('cancels the caller’s own by id, and an approver cancels anyone’s by link', async () => {
    const { services, engine } = makeServices();
    const mine = await seed();
    const ref = parseOrchestrationRef(mine)!;
    const reply = await cancelByRef(services, { ref, userId: REQUESTER, botUserId: BOT });
    expect(reply.text).toMatch(/^:no_entry_sign: Cancelled: _Research the competitive landscape/);
    expect((await load(mine)).status).toBe('cancelled');

    const theirs = await seed({ status: 'executing' });
    await Orchestration.updateOne({ _id: theirs }, { $set: { requesterId: STRANGER, messageTs: '1700000000.000200' } });
    const link = parseOrchestrationRef('https://acme.slack.com/archives/CGENERAL/p1700000000000200')!;
    expect((await cancelByRef(services, { ref: link, userId: APPROVER, botUserId: BOT })).text).toMatch(/Cancelled/);
    expect(engine.cancel.mock.calls).toEqual([
      [mine, REQUESTER],
      [theirs, APPROVER],
    ]);
  });

  it('refuses someone else’s, says what is already over, and says when nothing matches', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const ref = parseOrchestrationRef(id)!;
    expect((await cancelByRef(services, { ref, userId: STRANGER, botUserId: BOT })).text).toMatch(
      /Only <@UREQUESTER> \(who asked for this\) or an approver can do that\. Nothing was changed\./,
    );
    await Orchestration.updateOne({ _id: id }, { $set: { status: 'completed' } });
    expect((await cancelByRef(services, { ref, userId: REQUESTER, botUserId: BOT })).text).toMatch(/already finished/);
    const nothing = parseOrchestrationRef('https://acme.slack.com/archives/CGENERAL/p1800000000000100')!;
    expect(await cancelByRef(services, { ref: nothing, userId: REQUESTER, botUserId: BOT })).toEqual({
      text: NO_SUCH_ORCHESTRATION,
    });
    expect(engine.cancel).not.toHaveBeenCalled();
  });
});
