/**
 * A person's App Home: their most recent orchestrations, their workspaces' saved plans and a page of the roster, drawn and
 * published. The engine republishes it (through HomeRefresher, coalesced) whenever one of their
 * runs changes state; the roster's buttons republish it at the page they were on.
 */
import type { WebClient } from '@slack/web-api';
import { HOME_RUN_LIMIT, type HomeRun, homeView } from '../../blocks/home.js';
import type { TemplateLine } from '../../blocks/templates.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { loadRosterPage } from '../crew/rosterPage.js';
import { orchestrationIdOf } from '../plan/ids.js';
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
   * ORCHESTRATE_APPROVERS: an approver's Home gets Edit and Retire on each agent. Unknown (a
   * refresh from the engine, which is not told them) draws the roster without them.
   */
  approvers?: readonly string[];
  /** The roster page to draw (the first unless a paging button asked for another). */
  rosterPage?: number;
  /** What a roster button just did, shown above the roster. */
  rosterNotice?: string | null;
}

/** Draws the person's Home tab and publishes it. */
export async function publishHome(client: WebClient, userId: string, options: HomeOptions = {}): Promise<void> {
  const canManage = options.approvers?.includes(userId) ?? false;
  const [{ runs, total }, roster, templates] = await Promise.all([
    homeRunsOf(userId),
    loadRosterPage(options.rosterPage ?? 0, canManage, options.rosterNotice ?? null),
    templatesOf(userId),
  ]);
  await client.views.publish({ user_id: userId, view: homeView({ runs, total, now: new Date(), roster, templates }) });
}

/** The saved plans of the workspaces the person has asked in. */
async function templatesOf(userId: string): Promise<TemplateLine[]> {
  const teams = (await Orchestration.distinct('slackTeamId', { requesterId: userId })) as (string | null)[];
  const lists = await Promise.all(teams.map((team) => listTemplates(team)));
  return lists.flat().map((t) => ({
    name: t.name,
    description: t.description,
    usage: usageOf(t),
    runs: t.runs,
    typicalUsd: t.typicalUsd,
  }));
}
