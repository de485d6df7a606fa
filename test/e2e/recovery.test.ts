/**
 * Half-done writes do not leave runs stuck until a restart: an approval, or a new request, stored
 * while its job could not be queued goes on by itself (the engine's recovery sweep), and the person
 * was told so, not "nothing was changed". A step left ready with no job starts too, but only once
 * no job serves its run: a live job goes on with what its steps unblock, posts first.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { sampleProposal, ticket } from '../fixtures.js';
import { eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

describe('the recovery sweep', () => {
  it('starts an approved run whose start job could not be queued, after telling the approver so', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal approved while the queue blinks');
    const spy = vi.spyOn(h.service.engine, 'enqueueStart').mockRejectedValueOnce(new Error('queue unreachable'));
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await eventually(
      () =>
        h.slack.calls.some(
          (c) => c.method === 'response_url' && String(c.args.text).includes('go on within a minute by itself'),
        ),
      5000,
      'the approver told the truth',
    );
    spy.mockRestore();
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
  });

  it('plans a request that was stored but not queued, and the proposal reaches the channel', async () => {
    const goal = 'A goal requested while the queue blinks';
    const spy = vi.spyOn(h.service.engine, 'enqueuePlan').mockRejectedValueOnce(new Error('queue unreachable'));
    await h.command(goal);
    await eventually(
      () =>
        h.slack.calls.some(
          (c) => c.method === 'response_url' && String(c.args.text).includes('planning will start within a minute'),
        ),
      5000,
      'the requester told the truth',
    );
    spy.mockRestore();
    const doc = await eventually(
      async () => {
        const d = await Orchestration.findOne({ goal }).lean();
        return d?.status === 'proposed' && d.messageTs ? d : null;
      },
      30_000,
      'the proposal',
    );
    expect(doc.responseUrl).toBeTruthy();
  });

  it('starts a step left ready without a job once no job serves the run, and not while one does', async () => {
    h.llm.responder = scriptedResponder(
      sampleProposal({
        tickets: [ticket('Part', 'first'), ticket('Part', 'second', ['first'])],
        discussion: { enabled: false, prompt: '' },
      }),
    );
    const { value, orchestrationId, ts } = await h.propose('A goal whose second part loses its way');
    // The first part's call outlasts two beats of the sweep (the harness beats every 3 s).
    h.llm.delayMs = 7000;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    const first = await eventually(
      () => Step.findOne({ orchestrationId, key: 'ticket_first', status: 'running' }).lean(),
      5000,
      'the first part running',
    );
    // The second part becomes ready with no job to start it, and one the first part's job will not
    // start either: it no longer builds on the first part.
    await Step.updateOne({ orchestrationId, key: 'ticket_second' }, { $set: { dependsOn: [] } });
    h.llm.delayMs = 0;
    const done = await h.waitForEnd(orchestrationId, 'completed', 30_000);
    const steps = await Step.find({ orchestrationId, key: { $in: ['ticket_first', 'ticket_second'] } }).lean();
    const byKey = new Map(steps.map((s) => [s.key, s]));
    expect(byKey.get('ticket_second')!.status).toBe('succeeded');
    expect(+byKey.get('ticket_second')!.startedAt!).toBeGreaterThanOrEqual(+byKey.get('ticket_first')!.finishedAt!);
    expect(String(first.runId)).toBe(String(done.runId));
  }, 40_000);
});
