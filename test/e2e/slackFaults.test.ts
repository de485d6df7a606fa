/**
 * A whole run while Slack misbehaves: a 429 (Retry-After 1) on every third post or update, one in
 * ten answering 500, and answers lost after the post landed. The run completes, the plan message
 * and the run card end showing its final state, and every post arrives once, in order.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { SlackPost } from '../../src/models/slackPost.js';
import { CHANNEL, eventually, type Harness, REQUESTER, startHarness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

const textOf = (message: { text?: string; blocks?: unknown } | undefined) =>
  `${message?.text ?? ''} ${JSON.stringify(message?.blocks ?? [])}`;

describe('a run while Slack fails', () => {
  it('completes; the plan message and the run card end in the final state; every post lands once, in order', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal run while Slack keeps failing');
    h.slack.chaos({ rateLimitEvery: 3, retryAfterSeconds: 1, serverErrorRatio: 0.1, seed: 3 });
    h.slack.dropAfterStoreNext('chat.postMessage', 1);
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(
      async () =>
        (await SlackPost.countDocuments({ orchestrationId, status: 'pending' })) === 0 &&
        h.slack.threadReplies(CHANNEL, ts).some((m) => m.text.startsWith('Cost rollup')),
      90_000,
      'every post of the run delivered',
    );
    // The last redraws land after the last posts: give them the Retry-After they may be waiting out.
    await eventually(
      () => textOf(h.slack.message(CHANNEL, ts)).includes('Completed'),
      20_000,
      'the plan message showing Completed',
    );
    const replies = h.slack.threadReplies(CHANNEL, ts);
    const card = replies[0]!;
    await eventually(
      () => textOf(h.slack.message(CHANNEL, card.ts)).includes('Completed'),
      20_000,
      'the run card final',
    );
    expect(h.slack.rateLimitedCount()).toBeGreaterThan(0);

    // Every post once, in the run's order.
    const texts = replies.map((m) => textOf(m));
    const once = (needle: string) => texts.filter((t) => t.includes(needle)).length;
    for (const needle of [
      'formed',
      'Position of Market analyst',
      'Position of Positioning writer',
      'Result of Map the competitors',
      'Result of Compare pricing',
      'Result of Draft the positioning',
      'We win offline',
      ':tada: *Completed*',
      'Cost rollup',
    ]) {
      expect(once(needle), needle).toBe(1);
    }
    const at = (needle: string) => texts.findIndex((t) => t.includes(needle));
    expect(at('formed')).toBe(0);
    expect(at('Result of Draft the positioning')).toBeGreaterThan(at('Result of Compare pricing'));
    expect(at('We win offline')).toBeGreaterThan(at('Result of Draft the positioning'));
    expect(at(':tada: *Completed*')).toBeGreaterThan(at('We win offline'));
    expect(at('Cost rollup')).toBeGreaterThan(at(':tada: *Completed*'));
    h.slack.chaos(null);
  });

  it('a database error just after the proposal landed neither fails the plan nor posts it twice', async () => {
    const goal = 'A goal whose proposal lands while the database blinks';
    const real = SlackPost.updateOne.bind(SlackPost);
    let blinked = false;
    const spy = vi.spyOn(SlackPost, 'updateOne').mockImplementation(((filter: any, update: any, ...rest: any[]) => {
      if (!blinked && update?.$set?.status === 'sent') {
        blinked = true;
        throw new Error('connection reset by the database');
      }
      return real(filter, update, ...rest);
    }) as never);
    try {
      await h.command(goal);
      const doc = await eventually(
        async () => {
          const d = await Orchestration.findOne({ goal }).lean();
          return d?.messageTs ? d : null;
        },
        20_000,
        'the proposal ts stored after the job was retried',
      );
      expect(blinked).toBe(true);
      expect(doc.status).toBe('proposed');
      const posted = h.slack
        .callsTo('chat.postMessage')
        .filter((c) => !c.args.thread_ts && String(c.args.text).includes(goal));
      expect(posted.filter((c) => c.response?.ok)).toHaveLength(1);
      // The retry looked for the post in the channel instead of posting again.
      expect(h.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });
});
