/**
 * Pause survives a crash: the run is paused, its process killed with SIGKILL, and a new process
 * started on the same database. The steps that were running finish; nothing new starts until
 * Resume, and then the run completes.
 */
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { FakeSlack } from '../fakes/fakeSlack.js';
import { type AppProcess, startAppProcess } from '../helpers/appProcess.js';
import {
  blocksText,
  eventually,
  findButton,
  REQUESTER,
  SIGNING_SECRET,
  scriptedResponder,
  testEnv,
} from '../helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../helpers/signedRequests.js';

let mongo: EmbeddedServer;
let slack: FakeSlack;
let llm: FakeOpenAI;
const apps: AppProcess[] = [];

beforeAll(async () => {
  mongo = await startEmbeddedMongo();
  slack = new FakeSlack();
  llm = new FakeOpenAI(scriptedResponder());
  await Promise.all([slack.start(), llm.start()]);
  await mongoose.connect(mongo.uri);
});
afterAll(async () => {
  for (const app of apps) app.child.kill('SIGKILL');
  await mongoose.disconnect();
  await Promise.all([slack.stop(), llm.stop()]);
  await mongo.stop();
});

const env = () => ({
  ...testEnv(slack, llm, mongo.uri),
  ORCHESTRATE_PROCESS_EVERY_MS: '250',
  ORCHESTRATE_LOCK_LIFETIME_MS: '2500',
  LLM_TIMEOUT_MS: '2000',
  ORCHESTRATE_RETRY_BASE_MS: '20',
});

const click = (port: number, actionId: string, value: string, ts: string) =>
  sendInteraction(
    `http://127.0.0.1:${port}/slack/events`,
    SIGNING_SECRET,
    blockActionPayload({
      userId: REQUESTER,
      channelId: 'C1',
      messageTs: ts,
      actionId,
      value,
      responseUrl: slack.responseUrl(`${actionId}-${Date.now()}`),
    }),
  );
const drafts = () => llm.requests.filter((r) => r.user.includes('# Your ticket: Draft the positioning'));

describe('Pause across a crash', () => {
  it('stays paused in a new process until Resume, then completes', async () => {
    const first = await startAppProcess(env());
    apps.push(first);
    const goal = 'Pause-and-crash goal';
    await sendSlashCommand(`http://127.0.0.1:${first.port}/slack/events`, SIGNING_SECRET, {
      text: goal,
      user_id: REQUESTER,
      channel_id: 'C1',
      response_url: slack.responseUrl(goal),
    });
    const proposal = await slack.waitFor(
      (c) => c.method === 'chat.postMessage' && blocksText(c).includes(goal),
      20_000,
    );
    const value = findButton(proposal, 'orchestrate.approve')!.value;
    const id = JSON.parse(value).orchestrationId as string;
    const ts = await eventually(async () => (await Orchestration.findById(id).lean())?.messageTs, 5000, 'ts');
    llm.delayMs = 1500;
    await click(first.port, 'orchestrate.approve', value, ts);
    await eventually(() => llm.requests.some((r) => r.user.includes('# Your ticket:')), 20_000, 'a ticket in flight');

    await click(first.port, 'run.pause', JSON.stringify({ orchestrationId: id, revision: 1 }), ts);
    await eventually(async () => Boolean((await Orchestration.findById(id).lean())?.paused), 5000, 'paused');
    first.child.kill('SIGKILL');
    await first.exited;

    llm.delayMs = 50;
    const second = await startAppProcess(env());
    apps.push(second);
    // The two tickets that were running finish in the new process…
    await eventually(
      async () => (await Step.countDocuments({ orchestrationId: id, kind: 'ticket', status: 'succeeded' })) === 2,
      30_000,
      `the running tickets finish; second app said:\n${second.output()}`,
    );
    // …and nothing new starts while the run is paused, however many sweeps go by.
    await new Promise((r) => setTimeout(r, 2000));
    expect(drafts()).toHaveLength(0);
    expect((await Step.findOne({ orchestrationId: id, ticketKey: 'draft' }).lean())?.status).toBe('pending');

    await click(second.port, 'run.resume', JSON.stringify({ orchestrationId: id, revision: 1 }), ts);
    await eventually(
      async () => (await Orchestration.findById(id).lean())?.status === 'completed',
      30_000,
      `completion; second app said:\n${second.output()}`,
    );
    expect(drafts()).toHaveLength(1);
  });
});
