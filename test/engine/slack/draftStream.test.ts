/**
 * The live draft of the deliverable against the fake Slack: streamed while young, stopped before
 * Slack would expire it and carried on with updates, and closed as a note; refused streams are quiet.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DraftStream } from '../../../src/engine/slack/draftStream.js';
import { RateGate } from '../../../src/engine/slack/rateGate.js';
import { FakeSlack } from '../../fakes/fakeSlack.js';
import { captureLogger } from '../../helpers/captureLogger.js';

const CHANNEL = 'C_DRAFT';
let slack: FakeSlack;
let client: WebClient;

beforeAll(async () => {
  slack = new FakeSlack();
  await slack.start();
  client = new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 } });
});
afterAll(() => slack.stop());
beforeEach(() => slack.reset());

async function thread() {
  const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'proposal' });
  return { channelId: CHANNEL, threadTs: parent.ts!, teamId: 'T1', userId: 'U1' };
}
const args = (text: string) => JSON.stringify({ deliverable: text }).slice(0, -2);

describe('the live draft', () => {
  it('stops its stream when it would expire and carries on updating the same message', async () => {
    const draft = new DraftStream(client, captureLogger([]), await thread(), new RateGate(() => 0), 0);
    draft.update(args('First part.'));
    const start = await slack.waitFor((c) => c.method === 'chat.startStream' && Boolean(c.response?.ok));
    const ts = start.response!.ts as string;
    draft.update(args('First part. Second part.'));
    await slack.waitFor((c) => c.method === 'chat.stopStream' && c.args.ts === ts);
    draft.update(args('First part. Second part. Third part.'));
    await slack.waitFor((c) => c.method === 'chat.update' && JSON.stringify(c.args.blocks).includes('Third part.'));
    expect(slack.callsTo('chat.stopStream').filter((c) => c.args.ts === ts)).toHaveLength(1);
    expect(slack.callsTo('chat.appendStream').filter((c) => c.args.ts === ts)).toHaveLength(0);
    await draft.finish(true);
    expect(JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).toContain('written here live');
  });

  it('is quiet where Slack refuses streams, and finishing it posts nothing', async () => {
    slack.refuseStreaming('not_allowed');
    const logs: string[] = [];
    const draft = new DraftStream(client, captureLogger(logs), await thread(), new RateGate(() => 0));
    draft.update(args('Some text.'));
    await slack.waitFor((c) => c.method === 'chat.startStream');
    await draft.finish(true);
    expect(slack.callsTo('chat.update')).toHaveLength(0);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1); // the thread's parent only
    expect(logs.some((l) => l.includes('not streamed'))).toBe(true);
  });
});
