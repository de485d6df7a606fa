/**
 * How a workspace's run cards are drawn: with Slack's plan and task_card blocks, or, once Slack
 * refused those there (they are new), with sections from then on.
 */
import type { Logger } from '../../logger.js';
import { Orchestration } from '../../models/orchestration.js';
import { Workspace } from '../../models/workspace.js';
import type { OrchestrationId } from '../plan/ids.js';

export async function runCardStyle(teamId: string | null): Promise<'plan' | 'sections'> {
  const workspace = await Workspace.findOne({ slackTeamId: teamId ?? '' }, { runCardStyle: 1 }).lean();
  return workspace?.runCardStyle ?? 'plan';
}

/** Slack refused the plan blocks for this orchestration's workspace: sections from now on. True: worth another try. */
export async function fallBackToSections(id: OrchestrationId, logger: Logger): Promise<boolean> {
  const doc = await Orchestration.findById(id, { slackTeamId: 1 }).lean();
  const teamId = doc?.slackTeamId ?? '';
  const res = await Workspace.updateOne(
    { slackTeamId: teamId, runCardStyle: { $ne: 'sections' } },
    { $set: { runCardStyle: 'sections' } },
    { upsert: true },
  ).catch(() => null);
  if (res?.modifiedCount || res?.upsertedCount) {
    logger.warn(
      `Slack refused the plan blocks in workspace ${teamId || '(unknown)'}; its run cards use sections from now on`,
    );
  }
  return true;
}
