/** Retention (run/retention.ts): what is finished and old goes, with everything stored for it; nothing else. */

import mongoose, { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { JOBS_COLLECTION } from '../../../src/engine/run/queue.js';
import { purgeFinished } from '../../../src/engine/run/retention.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { Run, Step } from '../../../src/models/run.js';
import { SlackPost } from '../../../src/models/slackPost.js';
import { TEAM_ID } from '../../fixtures.js';
import { seed, useDatabase } from '../usecases/support.js';

useDatabase();

const DAY = 24 * 3_600_000;
const NOW = new Date('2026-12-05T12:00:00Z');

/** An orchestration in `status`, finished `daysAgo` days before NOW (null: not finished), with a run, a step, a post and a job. */
async function withRecords(status: 'completed' | 'cancelled' | 'executing', daysAgo: number | null) {
  const id = await seed({ status });
  const _id = new Types.ObjectId(id);
  const finishedAt = daysAgo === null ? null : new Date(NOW.getTime() - daysAgo * DAY);
  await Orchestration.collection.updateOne({ _id }, { $set: { finishedAt, updatedAt: finishedAt ?? NOW } });
  const run = await Run.create({
    slackTeamId: TEAM_ID,
    orchestrationId: _id,
    teamId: new Types.ObjectId(),
    projectId: new Types.ObjectId(),
    pipeline: {},
    startedAt: NOW,
  });
  await Step.create({
    slackTeamId: TEAM_ID,
    runId: run._id,
    orchestrationId: _id,
    key: 'ticket_a',
    kind: 'ticket',
    title: 'A',
    order: 0,
  });
  await SlackPost.create({
    slackTeamId: TEAM_ID,
    key: `${id}:end`,
    orchestrationId: _id,
    channelId: 'C',
    threadTs: '1.0',
    seq: 1,
  });
  await mongoose.connection
    .db!.collection(JOBS_COLLECTION)
    .insertOne({ name: 'orchestrate.step', data: { orchestrationId: id } });
  return _id;
}

const count = async (_id: Types.ObjectId) => ({
  orchestration: await Orchestration.countDocuments({ _id }),
  runs: await Run.countDocuments({ orchestrationId: _id }),
  steps: await Step.countDocuments({ orchestrationId: _id }),
  posts: await SlackPost.countDocuments({ orchestrationId: _id }),
  jobs: await mongoose.connection
    .db!.collection(JOBS_COLLECTION)
    .countDocuments({ 'data.orchestrationId': String(_id) }),
});

describe('purgeFinished', () => {
  it('deletes finished orchestrations older than the horizon with their runs, steps, posts and jobs, and nothing else', async () => {
    const old = await withRecords('completed', 40);
    const oldCancelled = await withRecords('cancelled', 31);
    const recent = await withRecords('completed', 5);
    const openButOld = await withRecords('executing', null);
    await Orchestration.collection.updateOne(
      { _id: openButOld },
      { $set: { updatedAt: new Date(NOW.getTime() - 90 * DAY) } },
    );

    const purged = await purgeFinished(mongoose.connection.db!, JOBS_COLLECTION, 30, NOW);
    expect(purged).toEqual({ orchestrations: 2, steps: 2 });
    for (const gone of [old, oldCancelled])
      expect(await count(gone)).toEqual({ orchestration: 0, runs: 0, steps: 0, posts: 0, jobs: 0 });
    for (const kept of [recent, openButOld])
      expect(await count(kept)).toEqual({ orchestration: 1, runs: 1, steps: 1, posts: 1, jobs: 1 });
    // A second sweep finds nothing more.
    expect(await purgeFinished(mongoose.connection.db!, JOBS_COLLECTION, 30, NOW)).toEqual({
      orchestrations: 0,
      steps: 0,
    });
  });
});
