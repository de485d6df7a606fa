/**
 * Retention: finished orchestrations older than ORCHESTRATE_RETENTION_DAYS are deleted with
 * everything stored for them (run, steps, team, project, tickets, posts, live messages, jobs).
 * Open ones are never touched, whatever their age. Runs once a day as an Agenda job.
 */

import type { Db } from 'mongodb';
import type { Types } from 'mongoose';
import { Orchestration } from '../../models/orchestration.js';
import { Project } from '../../models/project.js';
import { Run, Step } from '../../models/run.js';
import { LiveMessage, SlackPost } from '../../models/slackPost.js';
import { Team } from '../../models/team.js';
import { TicketModel } from '../../models/ticket.js';
import { FINAL_STATUSES } from '../plan/status.js';

const DAY_MS = 24 * 3_600_000;
/** Deleted a batch at a time, so that one sweep never holds a huge list of ids. */
const BATCH = 200;

export interface Purged {
  orchestrations: number;
  steps: number;
}

/** Deletes what is older than `days` and finished; returns how much went. */
export async function purgeFinished(db: Db, jobsCollection: string, days: number, now = new Date()): Promise<Purged> {
  const before = new Date(now.getTime() - days * DAY_MS);
  const purged: Purged = { orchestrations: 0, steps: 0 };
  for (;;) {
    // Ended before the horizon; one that never started (cancelled while planning) counts from its last change.
    const old = await Orchestration.find(
      {
        status: { $in: [...FINAL_STATUSES] },
        $or: [{ finishedAt: { $lt: before } }, { finishedAt: null, updatedAt: { $lt: before } }],
      },
      { _id: 1 },
    )
      .limit(BATCH)
      .lean<{ _id: Types.ObjectId }[]>();
    if (!old.length) return purged;
    const ids = old.map((o) => o._id);
    const byOrchestration = { orchestrationId: { $in: ids } };
    const steps = await Step.deleteMany(byOrchestration);
    await Promise.all([
      Run.deleteMany(byOrchestration),
      Team.deleteMany(byOrchestration),
      Project.deleteMany(byOrchestration),
      TicketModel.deleteMany(byOrchestration),
      SlackPost.deleteMany(byOrchestration),
      LiveMessage.deleteMany(byOrchestration),
      db.collection(jobsCollection).deleteMany({ 'data.orchestrationId': { $in: ids.map(String) } }),
    ]);
    await Orchestration.deleteMany({ _id: { $in: ids } });
    purged.orchestrations += ids.length;
    purged.steps += steps.deletedCount;
    if (ids.length < BATCH) return purged;
  }
}
