/** The App Home use cases (usecases/home.ts) against the embedded database, and the refresh coalescer. */

import type { WebClient } from '@slack/web-api';
import { Types } from 'mongoose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeControlValue, ViewIds } from '../../../src/blocks/actionIds.js';
import { UNKNOWN_BUTTON } from '../../../src/blocks/replies.js';
import type { OrchestrationId } from '../../../src/engine/plan/ids.js';
import { publishHome, runDetailFor } from '../../../src/engine/usecases/home.js';
import { HomeRefresher } from '../../../src/engine/watch/homeRefresher.js';
import { Agent } from '../../../src/models/agent.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { Step } from '../../../src/models/run.js';
import { TEAM_ID } from '../../fixtures.js';
import { APPROVER, clickOn, makeServices, REQUESTER, STRANGER, seed, useDatabase } from './support.js';

useDatabase();
beforeEach(async () => {
  await Step.deleteMany({});
});

/** A client that records what would be published. */
function recordingClient() {
  const published: any[] = [];
  const client = {
    views: {
      publish: async (args: any) => {
        published.push(args);
        return { ok: true };
      },
    },
  } as unknown as WebClient;
  return { client, published };
}

/** Backdates an orchestration (mongoose keeps createdAt immutable, so through the driver). */
async function backdate(id: OrchestrationId, hoursAgo: number, requesterId = REQUESTER): Promise<void> {
  await Orchestration.collection.updateOne(
    { _id: new Types.ObjectId(id) },
    { $set: { createdAt: new Date(Date.now() - hoursAgo * 3_600_000), requesterId } },
  );
}

const detailIds = (view: { blocks: any[] }) =>
  view.blocks.filter((b) => b.accessory).map((b) => decodeControlValue(b.accessory.value)?.orchestrationId);

describe('publishHome', () => {
  it("publishes the user's own runs only, newest first", async () => {
    const old = await seed({ status: 'completed' });
    const newest = await seed({ status: 'executing' });
    const middle = await seed();
    const theirs = await seed();
    await backdate(old, 30);
    await backdate(newest, 1);
    await backdate(middle, 5);
    await backdate(theirs, 2, STRANGER);
    const { client, published } = recordingClient();
    await publishHome(client, REQUESTER);
    expect(published).toHaveLength(1);
    expect(published[0].user_id).toBe(REQUESTER);
    expect(published[0].view.type).toBe('home');
    expect(detailIds(published[0].view)).toEqual([newest, middle, old]);
    expect(JSON.stringify(published[0].view.blocks)).toContain('1h ago');
  });

  it('shows the 20 most recent and counts the rest; someone with none gets the how-to', async () => {
    const ids: OrchestrationId[] = [];
    for (let i = 0; i < 23; i++) {
      const id = await seed();
      await backdate(id, i);
      ids.push(id);
    }
    const { client, published } = recordingClient();
    await publishHome(client, REQUESTER);
    expect(detailIds(published[0].view)).toEqual(ids.slice(0, 20));
    expect(JSON.stringify(published[0].view.blocks)).toContain('…and 3 older orchestrations not shown.');
    await publishHome(client, STRANGER);
    expect(JSON.stringify(published[1].view.blocks)).toContain('/orchestrate &lt;goal&gt;');
  });
});

describe('runDetailFor', () => {
  async function withSteps(): Promise<OrchestrationId> {
    const id = await seed({ status: 'completed', spentUsd: 0.3, maxUsd: 2 });
    const agent = await Agent.create({
      slackTeamId: TEAM_ID,
      name: 'Ada',
      title: 'Analyst',
      persona: 'p',
      origin: 'hire',
    });
    const runId = new Types.ObjectId();
    const base = {
      slackTeamId: TEAM_ID,
      runId,
      orchestrationId: new Types.ObjectId(id),
      status: 'succeeded' as const,
      dependsOn: [],
    };
    await Step.create([
      {
        ...base,
        key: 'write',
        kind: 'ticket' as const,
        title: 'Write the doc',
        roleKey: 'writer',
        order: 2,
        startedAt: new Date('2026-03-01T10:00:00Z'),
        finishedAt: new Date('2026-03-01T10:02:05Z'),
        tokens: { input: 2000, output: 500, cached: 0 },
        costUsd: 0.02,
      },
      {
        ...base,
        key: 'map',
        kind: 'ticket' as const,
        title: 'Map the competitors',
        roleKey: 'analyst',
        agentId: agent._id,
        order: 1,
        startedAt: new Date('2026-03-01T09:00:00Z'),
        finishedAt: new Date('2026-03-01T09:00:30Z'),
        tokens: { input: 1000, output: 300, cached: 0 },
        costUsd: 0.01,
      },
    ]);
    await Orchestration.updateOne(
      { _id: id },
      { $set: { runId, feedback: { rating: 'positive', by: APPROVER, at: new Date() } } },
    );
    return id;
  }

  it('opens for the requester with every step in order, its agent, duration, cost, the total and the rating', async () => {
    const { services } = makeServices();
    const id = await withSteps();
    const outcome = await runDetailFor(services, clickOn(id, 1));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.view.callback_id).toBe(ViewIds.runDetail);
    const text = JSON.stringify(outcome.view.blocks);
    expect(text.indexOf('1. Map the competitors')).toBeGreaterThan(0);
    expect(text.indexOf('2. Write the doc')).toBeGreaterThan(text.indexOf('1. Map the competitors'));
    for (const part of ['Market analyst', '*Agent*\\nAda', '30s', '2m 5s', '$0.03', '$0.30 of $2.00 cap'])
      expect(text).toContain(part);
    expect(text).toContain(`:+1: by <@${APPROVER}>`);
  });

  it('opens for an approver, and for a run not started yet', async () => {
    const { services } = makeServices();
    const id = await seed();
    const outcome = await runDetailFor(services, clickOn(id, 1, { userId: APPROVER }));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(JSON.stringify(outcome.view.blocks)).toContain('No steps yet');
  });

  it('is refused to someone else, and says so for a run that is gone or a button it does not know', async () => {
    const { services } = makeServices();
    const id = await withSteps();
    const refused = await runDetailFor(services, clickOn(id, 1, { userId: STRANGER }));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reply.text).toContain(`Only <@${REQUESTER}>`);
    await Orchestration.deleteOne({ _id: id });
    expect(await runDetailFor(services, clickOn(id, 1))).toEqual({
      ok: false,
      reply: { text: 'That orchestration no longer exists, so there is no detail to show.' },
    });
    expect(await runDetailFor(services, { control: null, userId: REQUESTER, botUserId: undefined })).toEqual({
      ok: false,
      reply: { text: UNKNOWN_BUTTON },
    });
  });
});

describe('HomeRefresher', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('turns many touches within the interval into one publish per person', async () => {
    const publish = vi.fn(async (_userId: string) => undefined);
    const refresher = new HomeRefresher(publish, 2000);
    for (let i = 0; i < 10; i++) refresher.touch('U1');
    refresher.touch('U2');
    expect(publish).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2000);
    expect(publish.mock.calls).toEqual([['U1'], ['U2']]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publish).toHaveBeenCalledTimes(2);
  });

  it('keeps one publish in flight, and follows touches made during it with exactly one more', async () => {
    let finish = () => {};
    const publish = vi.fn(
      (_userId: string) =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    const refresher = new HomeRefresher(publish, 2000);
    refresher.touch('U1');
    await vi.advanceTimersByTimeAsync(2000);
    expect(publish).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) refresher.touch('U1');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publish).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(2000);
    expect(publish).toHaveBeenCalledTimes(2);
    finish();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(publish).toHaveBeenCalledTimes(2);
  });

  it('survives a failing publish, and flush publishes what is scheduled at once', async () => {
    const errors: string[] = [];
    const publish = vi.fn(async (userId: string) => {
      if (userId === 'UBAD') throw new Error('views.publish refused');
    });
    const refresher = new HomeRefresher(publish, 60_000, (userId) => errors.push(userId));
    refresher.touch('UBAD');
    refresher.touch('U1');
    await refresher.flush();
    expect(publish.mock.calls).toEqual([['UBAD'], ['U1']]);
    expect(errors).toEqual(['UBAD']);
    refresher.touch('U1');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(publish).toHaveBeenCalledTimes(3);
  });
});
