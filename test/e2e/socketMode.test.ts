/**
 * The app in Socket Mode, for real: SLACK_APP_TOKEN set, Slack reached through the fake Web API's
 * apps.connections.open and a WebSocket on 127.0.0.1, commands and clicks arriving as envelopes
 * and answered with acks over that socket, as Slack's own servers do it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeControlValue, InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { loadConfig } from '../../src/config.js';
import { startEmbeddedMongo } from '../../src/db.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { startService } from '../../src/server.js';
import { FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { FakeSlack } from '../fakes/fakeSlack.js';
import { FakeSocketMode } from '../fakes/fakeSocketMode.js';
import {
  CHANNEL,
  captureLogger,
  eventually,
  REQUESTER,
  scriptedResponder,
  testEnv,
  waitForStatus,
} from '../helpers/harness.js';
import { APP_TOKEN, type SocketHarness, startSocketHarness } from '../helpers/socketHarness.js';

// Runs first, before the harness below connects: a start that fails must leave nothing running.
describe('a refused app-level token', () => {
  it('stops the start with one line naming SLACK_APP_TOKEN', async () => {
    const slack = new FakeSlack({ botToken: 'xoxb-test-token' });
    const socket = new FakeSocketMode({ appToken: APP_TOKEN });
    slack.useSocketMode(socket);
    const llm = new FakeOpenAI(scriptedResponder());
    await Promise.all([slack.start(), socket.start(), llm.start()]);
    const mongo = await startEmbeddedMongo();
    try {
      const config = loadConfig({ ...testEnv(slack, llm, mongo.uri), SLACK_APP_TOKEN: 'xapp-1-A1-revoked-token' });
      await expect(startService(config, { logger: captureLogger([]) })).rejects.toThrow(
        /^Configuration error: SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)/,
      );
      expect(socket.openConnections).toBe(0);
    } finally {
      await mongo.stop();
      await Promise.all([slack.stop(), socket.stop(), llm.stop()]);
    }
  });
});

let h: SocketHarness;

const doc = async (id: string) => (await Orchestration.findById(id).lean())!;
const control = (o: string, revision: number) =>
  encodeControlValue({ orchestrationId: o as OrchestrationId, revision });
/** What people see under the proposal: every message in its thread, streamed ones included. */
const threadText = (ts: string) => JSON.stringify(h.slack.threadReplies(CHANNEL, ts));

describe('Socket Mode', () => {
  beforeAll(async () => {
    h = await startSocketHarness({ ORCHESTRATE_MAX_BUDGET_USD: '5' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('connects with the app-level token through the configured Slack API URL and serves no HTTP', () => {
    expect(h.service.port).toBeNull();
    const opens = h.slack.callsTo('apps.connections.open');
    expect(opens).toHaveLength(1);
    expect(opens[0]!.args._auth).toBe(APP_TOKEN);
    expect(h.socket.openConnections).toBe(1);
  });

  it('takes /orchestrate, posts the proposal, and runs it to the deliverable after Approve', async () => {
    const { ack, ts, value, orchestrationId } = await h.propose();
    // The ephemeral "Planning…" note travels back in the command's ack.
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/Planning…/) });
    const proposal = h.slack.message(CHANNEL, ts)!;
    expect(JSON.stringify(proposal.blocks)).toContain('Map the competitors');
    expect(JSON.stringify(proposal.blocks)).toContain('$1.50 max');

    const approved = await h.click('orchestrate.approve', value, REQUESTER, ts);
    expect(approved.payload?.response_action).toBeUndefined();

    const done = await waitForStatus(orchestrationId, 'completed');
    expect(done.deliverable).toMatchObject({ markdown: '# Positioning doc\nWe win offline.' });
    await eventually(
      () => threadText(ts).includes('We win offline') && threadText(ts).includes('Cost rollup'),
      10_000,
      'the deliverable and the cost rollup in the thread',
    );
    expect(threadText(ts)).toContain('Result of Map the competitors');
    await eventually(
      () => JSON.stringify(h.slack.message(CHANNEL, ts)?.blocks).includes('Completed'),
      5000,
      'the proposal message marked completed',
    );
  });

  it('keeps the Set budget modal open with the error next to the field for a bad amount, and stores a good one', async () => {
    const { ts, orchestrationId: o } = await h.propose();
    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.set_budget', control(o, 1), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) =>
        c.method === 'views.open' &&
        c.args.view?.callback_id === ViewIds.setBudget &&
        h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    expect(modal.response?.ok).toBe(true);
    const submit = (amount: string) =>
      h.submit(ViewIds.setBudget, control(o, 1), {
        [InputIds.budget.block]: { [InputIds.budget.action]: { type: 'plain_text_input', value: amount } },
      });

    const refused = await submit('abc');
    expect(refused.payload).toMatchObject({
      response_action: 'errors',
      errors: { [InputIds.budget.block]: expect.stringMatching(/positive amount/) },
    });
    expect((await doc(o)).revision).toBe(1);

    const accepted = await submit('$0.75');
    // An ack with nothing in it closes the modal.
    expect(accepted.payload?.response_action).toBeUndefined();
    const after = await doc(o);
    expect(after.revision).toBe(2);
    expect(after.budget.maxUsd).toBe(0.75);
    await eventually(
      () => JSON.stringify(h.slack.message(CHANNEL, ts)?.blocks).includes('$0.75 max'),
      5000,
      'the proposal redrawn with the new cap',
    );
  });
});
