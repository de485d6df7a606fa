/**
 * A person's App Home: their most recent orchestrations, their workspaces' saved plans and a page of the roster, drawn and
 * published. The engine republishes it (through HomeRefresher, coalesced) whenever one of their
 * runs changes state; the roster's buttons republish it at the page they were on.
 */

import type { WebClient } from '@slack/web-api';
import mongoose from 'mongoose';
import { HOME_RUN_LIMIT, type HomeRun, homeView } from '../../blocks/home.js';
import type { ScheduleLine } from '../../blocks/schedules.js';
import type { TemplateLine } from '../../blocks/templates.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { loadRosterPage } from '../crew/rosterPage.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { JOBS, JOBS_COLLECTION } from '../run/queue.js';
import { listSchedules } from '../templates/schedules.js';
import { listTemplates, usageOf } from '../templates/templates.js';

/** The person's most recent orchestrations, newest first, and how many they have in all. */
export async function homeRunsOf(userId: string): Promise<{ runs: HomeRun[]; total: number }> {
  const [docs, total] = await Promise.all([
    Orchestration.find(
      { requesterId: userId },
      { goal: 1, status: 1, revision: 1, budget: 1, channelId: 1, slackTeamId: 1, createdAt: 1 },
    )
      .sort({ createdAt: -1, _id: -1 })
      .limit(HOME_RUN_LIMIT)
      .lean<OrchestrationDoc[]>(),
    Orchestration.countDocuments({ requesterId: userId }),
  ]);
  const runs = docs.map((doc) => ({
    orchestrationId: orchestrationIdOf(doc),
    revision: doc.revision,
    goal: doc.goal,
    status: doc.status,
    spentUsd: doc.budget.spentUsd,
    maxUsd: doc.budget.maxUsd,
    createdAt: new Date(doc.createdAt),
    channelId: doc.channelId,
    teamId: doc.slackTeamId ?? null,
  }));
  return { runs, total };
}

export interface HomeOptions {
  /**
   * ORCHESTRATE_APPROVERS: an approver's Home (these, or the workspace's own) gets Edit and Retire on
   * each agent.
   */
  approvers?: readonly string[];
  /** The roster page to draw (the first unless a paging button asked for another). */
  rosterPage?: number;
  /** What a roster button just did, shown above the roster. */
  rosterNotice?: string | null;
}

/** Draws the person's Home tab and publishes it. */
export async function publishHome(client: WebClient, userId: string, options: HomeOptions = {}): Promise<void> {
  const canManage = (await approversHere(options.approvers ?? [])).includes(userId);
  const teams = (await Orchestration.distinct('slackTeamId', { requesterId: userId })) as (string | null)[];
  const [{ runs, total }, roster, templates, schedules] = await Promise.all([
    homeRunsOf(userId),
    loadRosterPage(options.rosterPage ?? 0, canManage, options.rosterNotice ?? null),
    templatesOf(teams),
    schedulesOf(teams),
  ]);
  const view = homeView({ runs, total, now: new Date(), roster, templates, schedules });
  await client.views.publish({ user_id: userId, view });
}

/** The recurring goals of those workspaces, with when each runs next (its job's next run). */
async function schedulesOf(teams: (string | null)[]): Promise<ScheduleLine[]> {
  const lists = (await Promise.all(teams.map((team) => listSchedules(team)))).flat();
  if (!lists.length) return [];
  const jobs = await mongoose.connection
    .db!.collection(JOBS_COLLECTION)
    .find({ name: JOBS.schedule, 'data.scheduleId': { $in: lists.map((s) => String(s._id)) } })
    .toArray();
  // The schedule's repeating job says when it runs next; a one-off firing of it (done) says nothing.
  const next = new Map<string, Date>();
  for (const j of jobs) if (j.nextRunAt) next.set(String(j.data?.scheduleId), new Date(j.nextRunAt));
  return lists.map((s) => ({
    id: String(s._id),
    templateName: s.templateName ?? '(deleted)',
    cadence:
      s.cadence.kind === 'cron'
        ? s.cadence.expression
        : s.cadence.kind === 'daily'
          ? `daily at ${s.cadence.time}`
          : `weekly, day ${s.cadence.day} at ${s.cadence.time}`,
    timezone: s.timezone,
    channelId: s.channelId,
    nextRunAt: next.get(String(s._id)) ?? null,
    monthToDateUsd: s.monthToDateUsd,
    monthlyCapUsd: s.monthlyCapUsd,
    runWithoutReview: s.runWithoutReview,
    paused: s.paused,
  }));
}

/** The saved plans of the workspaces the person has asked in. */
async function templatesOf(teams: (string | null)[]): Promise<TemplateLine[]> {
  const lists = await Promise.all(teams.map((team) => listTemplates(team)));
  return lists.flat().map((t) => ({
    id: String(t._id),
    name: t.name,
    description: t.description,
    usage: usageOf(t),
    runs: t.runs,
    typicalUsd: t.typicalUsd,
  }));
}
