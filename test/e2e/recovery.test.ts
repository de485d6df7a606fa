/**
 * Half-done writes do not leave runs stuck until a restart: an approval, or a new request, stored
 * while its job could not be queued goes on by itself (the engine's recovery sweep), and the person
 * was told so, not "nothing was changed".
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { eventually, type Harness, REQUESTER, startHarness } from '../helpers/harness.js';

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
});
