/** Shared setup for the saved plan and recurring goal tests: the embedded database and stored orchestrations. */
import type { Types } from 'mongoose';
import type { Proposal } from '../../../src/engine/plan/proposal.js';
import type { OrchestrationStatus } from '../../../src/engine/plan/status.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { Schedule } from '../../../src/models/schedule.js';
import { Template } from '../../../src/models/template.js';
import { useEmbeddedDatabase } from '../../helpers/database.js';
import { GOAL, richProposal } from './fixtures.js';

export const TEAM = 'T0TEAM';
export const OTHER_TEAM = 'T0OTHER';
export const REQUESTER = 'UREQUESTER';

/** Starts the embedded database for the file, and empties the collections these tests touch before each test. */
export function useDatabase(): void {
  useEmbeddedDatabase(() =>
    Promise.all([Orchestration.deleteMany({}), Template.deleteMany({}), Schedule.deleteMany({})]),
  );
}

export interface StoredRun {
  status?: OrchestrationStatus;
  goal?: string;
  /** The proposal of each revision, the last one current. */
  revisions?: Proposal[];
  approvedRevision?: number | null;
  teamId?: string;
  spentUsd?: number;
  templateId?: Types.ObjectId | null;
  scheduleId?: Types.ObjectId | null;
  createdAt?: Date;
}

/** An orchestration as the app stores it; by default approved, on revision 1, in TEAM. */
export async function storeRun(options: StoredRun = {}): Promise<string> {
  const goal = options.goal ?? GOAL;
  const revisions = options.revisions ?? [richProposal(goal)];
  const status = options.status ?? 'approved';
  const doc = await Orchestration.create({
    slackTeamId: options.teamId ?? TEAM,
    requesterId: REQUESTER,
    channelId: 'CGENERAL',
    goal,
    status,
    proposal: revisions.at(-1),
    revision: revisions.length,
    history: revisions.map((proposal, i) => ({ revision: i + 1, proposal, change: 'edit', by: null, at: new Date() })),
    approvedRevision:
      options.approvedRevision !== undefined
        ? options.approvedRevision
        : status === 'proposed'
          ? null
          : revisions.length,
    budget: { maxUsd: 5, spentUsd: options.spentUsd ?? 0, reservedUsd: 0, warned: false },
    templateId: options.templateId ?? null,
    scheduleId: options.scheduleId ?? null,
  });
  // Mongoose's timestamps set createdAt on create: a test that needs another sets it afterwards.
  if (options.createdAt)
    await Orchestration.collection.updateOne({ _id: doc._id }, { $set: { createdAt: options.createdAt } });
  return doc._id.toString();
}
