/**
 * The posting path against the fake Slack (with the real WebClient) and the embedded database:
 * posts land once and in order whatever Slack does, a post that landed before its process died is
 * not made again, and a live message always ends showing the last stored state.
 */

import { WebClient } from '@slack/web-api';
import mongoose from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type EmbeddedServer, startEmbeddedMongo } from '../../../src/db.js';
import { type OrchestrationId, orchestrationIdOf } from '../../../src/engine/plan/ids.js';
import { LiveMessages } from '../../../src/engine/slack/liveMessages.js';
import { Outbox } from '../../../src/engine/slack/outbox.js';
import { RateGate } from '../../../src/engine/slack/rateGate.js';
import { POST_EVENT_TYPE } from '../../../src/engine/slack/slackCalls.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { LiveMessage, SlackPost } from '../../../src/models/slackPost.js';
import { FakeSlack } from '../../fakes/fakeSlack.js';
import { TEAM_ID } from '../../fixtures.js';
import { captureLogger } from '../../helpers/captureLogger.js';
import { eventually } from '../../helpers/harness.js';

const CHANNEL = 'C_OUTBOX';
let mongo: EmbeddedServer;
let slack: FakeSlack;
let client: WebClient;
const logs: string[] = [];
const logger = captureLogger(logs);

beforeAll(async () => {
  mongo = await startEmbeddedMongo();
  await mongoose.connect(mongo.uri);
  slack = new FakeSlack();
  await slack.start();
  // As the app builds it: no retries of its own, 429s handed back.
  client = new WebClient('xoxb-test', {
    slackApiUrl: slack.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 2000,
  });
});
afterAll(async () => {
  await mongoose.disconnect();
  await mongo.stop();
  await slack.stop();
});
beforeEach(() => {
  slack.reset();
  logs.length = 0;
});

const newOutbox = (paceMs = 0) =>
  new Outbox(client, new RateGate(() => paceMs), logger, { retryBaseMs: 20, maxAttempts: 9, leaseMs: 5000 });

async function orchestrationWithThread(): Promise<{ id: OrchestrationId; threadTs: string }> {
  const doc = await Orchestration.create({
    slackTeamId: TEAM_ID,
    requesterId: 'U1',
    channelId: CHANNEL,
    goal: 'outbox',
    status: 'executing',
    budget: { maxUsd: 1, spentUsd: 0, reservedUsd: 0, warned: false },
  });
  const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'the proposal' });
  return { id: orchestrationIdOf(doc), threadTs: parent.ts! };
}

const posts = (id: OrchestrationId, threadTs: string, n: number, prefix = 'post') =>
  Array.from({ length: n }, (_, i) => ({
    key: `${id}:${prefix}:${i}`,
    channelId: CHANNEL,
    threadTs,
    message: { text: `${prefix} ${i}` },
  }));

const delivered = (threadTs: string) => slack.threadReplies(CHANNEL, threadTs).map((m) => m.text);
const allSettled = (id: OrchestrationId) =>
  eventually(
    async () => (await SlackPost.countDocuments({ orchestrationId: id, status: 'pending' })) === 0,
    30_000,
    'every post settled',
  );

describe('the outbox', () => {
  it('posts every message once, in order, through 429s, 500s and answers lost after the post landed', async () => {
    const { id, threadTs } = await orchestrationWithThread();
    slack.chaos({ rateLimitEvery: 3, retryAfterSeconds: 1, serverErrorRatio: 0.1, seed: 11 });
    slack.dropAfterStoreNext('chat.postMessage', 2);
    const outbox = newOutbox();
    await outbox.enqueue(id, posts(id, threadTs, 12));
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(Array.from({ length: 12 }, (_, i) => `post ${i}`));
    // The faults really happened: this is not a calm run.
    expect(slack.rateLimitedCount()).toBeGreaterThan(0);
    expect(slack.calls.some((c) => c.dropped)).toBe(true);
    // A lost answer was looked up in the thread, not posted again.
    expect(slack.callsTo('conversations.replies').length).toBeGreaterThan(0);
    outbox.stop();
  });

  it('does not post again what a dead process posted but never marked', async () => {
    const { id, threadTs } = await orchestrationWithThread();
    const [post] = posts(id, threadTs, 1, 'landed');
    // The dead process had stored the post, started sending it (uncertain), and Slack took it.
    await SlackPost.create({
      slackTeamId: TEAM_ID,
      ...post!,
      orchestrationId: id,
      seq: 1,
      uncertain: true,
      attempts: 1,
    });
    await client.chat.postMessage({
      channel: CHANNEL,
      thread_ts: threadTs,
      text: post!.message.text,
      metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: post!.key } },
    });
    const outbox = newOutbox();
    await outbox.sweep();
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(['landed 0']);
    expect((await SlackPost.findOne({ key: post!.key }).lean())?.status).toBe('sent');
    outbox.stop();
  });

  it('finishes what a dead process left queued, once, without looking up posts it never sent', async () => {
    const { id, threadTs } = await orchestrationWithThread();
    for (const [i, post] of posts(id, threadTs, 3, 'queued').entries()) {
      await SlackPost.create({ slackTeamId: TEAM_ID, ...post, orchestrationId: id, seq: i + 1 });
    }
    const outbox = newOutbox();
    await outbox.sweep();
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(['queued 0', 'queued 1', 'queued 2']);
    expect(slack.callsTo('conversations.replies')).toHaveLength(0);
    outbox.stop();
  });

  it('gives up a post Slack refuses for good, says so in the log, and goes on with the next', async () => {
    const { id, threadTs } = await orchestrationWithThread();
    slack.failMatching('chat.postMessage', (args) => args.text === 'bad 0', { error: 'invalid_blocks' });
    const outbox = newOutbox();
    await outbox.enqueue(id, [...posts(id, threadTs, 1, 'bad'), ...posts(id, threadTs, 1, 'good')]);
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(['good 0']);
    expect((await SlackPost.findOne({ key: `${id}:bad:0` }).lean())?.status).toBe('failed');
    expect(logs.some((l) => l.includes('invalid_blocks'))).toBe(true);
    outbox.stop();
  });

  it('holds the posts stored after a hold until it settles, and a wait for the earlier posts does not wait for them', async () => {
    const { id, threadTs } = await orchestrationWithThread();
    const outbox = newOutbox();
    await outbox.enqueue(id, posts(id, threadTs, 1, 'before'));
    // As the live draft does: it waits for the thread's earlier posts, and then holds the later ones while it closes.
    const earlierLanded = outbox.drained(CHANNEL, threadTs, 60_000);
    let close!: () => void;
    outbox.holdThread(CHANNEL, threadTs, new Promise<void>((resolve) => (close = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await outbox.enqueue(id, posts(id, threadTs, 2, 'after'));
    // Were the held posts counted, this would wait the whole minute (and the test time out).
    await earlierLanded;
    expect(delivered(threadTs)).toEqual(['before 0']);
    close();
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(['before 0', 'after 0', 'after 1']);
    outbox.stop();
  });

  it("keeps Slack's pace in a channel: no 429 where the fake enforces a post a second", async () => {
    const { id, threadTs } = await orchestrationWithThread();
    slack.enforceChannelRate({ perSecond: 1 });
    const outbox = newOutbox(1100);
    await outbox.enqueue(id, posts(id, threadTs, 3, 'paced'));
    await allSettled(id);
    expect(delivered(threadTs)).toEqual(['paced 0', 'paced 1', 'paced 2']);
    expect(slack.rateLimitedCount()).toBe(0);
    outbox.stop();
  });
});

describe('live messages', () => {
  async function liveMessage(intervalMs: number, kind: 'runCard' | 'proposal' = 'runCard') {
    const { id } = await orchestrationWithThread();
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'state 0' });
    let state = 0;
    const live = new LiveMessages(
      client,
      new RateGate(() => 0),
      logger,
      async () => ({ text: `state ${state}`, blocks: [] }),
      {
        intervalMs,
        retryBaseMs: 20,
        leaseMs: 5000,
      },
    );
    await live.register(kind, id, CHANNEL, posted.ts!, { slackTeamId: TEAM_ID, slackEnterpriseId: null });
    const updatesOf = () => slack.callsTo('chat.update').filter((c) => c.args.ts === posted.ts);
    const setState = (n: number) => {
      state = n;
    };
    const drawn = () => slack.message(CHANNEL, posted.ts!)?.text;
    return { id, live, updatesOf, setState, drawn };
  }

  it('coalesces: ten step events within a second make at most two updates, the last showing the last state', async () => {
    const { id, live, updatesOf, setState, drawn } = await liveMessage(1500);
    await eventually(() => updatesOf().length === 1, 5000, 'the first drawing');
    for (let n = 1; n <= 10; n++) {
      setState(n);
      await live.touch(['runCard'], id);
    }
    await eventually(() => drawn() === 'state 10', 10_000, 'the last state drawn');
    await live.idle();
    expect(updatesOf().length - 1).toBeLessThanOrEqual(2);
    live.stop();
  });

  it('marks the plan message and the run card together, and draws only the one posted so far', async () => {
    const { id, live, updatesOf, setState, drawn } = await liveMessage(20, 'proposal');
    await eventually(() => updatesOf().length === 1, 5000, 'the first drawing');
    const claims = vi.spyOn(LiveMessage, 'findOneAndUpdate');
    try {
      setState(1);
      await live.touch(['proposal', 'runCard'], id, { now: true });
      expect(drawn()).toBe('state 1');
      await new Promise((resolve) => setTimeout(resolve, 200));
      // No run card was posted (no run yet): nothing tries to draw one, now or on a timer.
      const keys = claims.mock.calls.map(([filter]) => String((filter as { key?: string } | undefined)?.key));
      expect(keys.filter((key) => key.endsWith(':runCard'))).toEqual([]);
      expect(keys).toContain(`${id}:proposal`);
    } finally {
      claims.mockRestore();
      live.stop();
    }
  });

  it('ends showing the last stored state when Slack rate-limits and fails updates in between', async () => {
    const { id, live, setState, drawn } = await liveMessage(0);
    slack.chaos({ rateLimitEvery: 3, retryAfterSeconds: 1, serverErrorRatio: 0.2, seed: 5, methods: ['chat.update'] });
    for (let n = 1; n <= 8; n++) {
      setState(n);
      await live.touch(['runCard'], id, { now: n % 2 === 0 });
    }
    await eventually(
      async () => {
        const doc = await LiveMessage.findOne({ key: `${id}:runCard` }).lean();
        return doc && doc.version === doc.drawnVersion && drawn() === 'state 8';
      },
      20_000,
      'the final state drawn',
    );
    expect(slack.rateLimitedCount()).toBeGreaterThan(0);
    live.stop();
  });
});
