/**
 * Pause survives a crash: the run is paused, its process killed with SIGKILL, and a new process
 * started on the same database. The steps that were running finish; nothing new starts until
 * Resume, and then the run completes.
 */
import { describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { startAppProcess, useProcessTestBed } from '../helpers/appProcess.js';
import { blocksText, eventually, findButton, REQUESTER, SIGNING_SECRET } from '../helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../helpers/signedRequests.js';

const bed = useProcessTestBed();

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
      responseUrl: bed.slack.responseUrl(`${actionId}-${Date.now()}`),
    }),
  );
const drafts = () => bed.llm.requests.filter((r) => r.user.includes('# Your ticket: Draft the positioning'));

describe('Pause across a crash', () => {
  it('stays paused in a new process until Resume, then completes', async () => {
    const first = await startAppProcess(bed.env());
    bed.apps.push(first);
    const goal = 'Pause-and-crash goal';
    await sendSlashCommand(`http://127.0.0.1:${first.port}/slack/events`, SIGNING_SECRET, {
      text: goal,
      user_id: REQUESTER,
      channel_id: 'C1',
      response_url: bed.slack.responseUrl(goal),
    });
    const proposal = await bed.slack.waitFor(
      (c) => c.method === 'chat.postMessage' && blocksText(c).includes(goal),
      20_000,
    );
    const value = findButton(proposal, 'orchestrate.approve')!.value;
    const id = JSON.parse(value).orchestrationId as string;
    const ts = await eventually(async () => (await Orchestration.findById(id).lean())?.messageTs, 5000, 'ts');
    bed.llm.delayMs = 1500;
    await click(first.port, 'orchestrate.approve', value, ts);
    await eventually(
      () => bed.llm.requests.some((r) => r.user.includes('# Your ticket:')),
      20_000,
      'a ticket in flight',
    );

    await click(first.port, 'run.pause', JSON.stringify({ orchestrationId: id, revision: 1 }), ts);
    await eventually(async () => Boolean((await Orchestration.findById(id).lean())?.paused), 5000, 'paused');
    first.child.kill('SIGKILL');
    await first.exited;

    bed.llm.delayMs = 50;
    const second = await startAppProcess(bed.env());
    bed.apps.push(second);
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
