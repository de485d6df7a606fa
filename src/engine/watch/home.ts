/**
 * A person's App Home: their most recent orchestrations, drawn and published. The engine
 * republishes it (through HomeRefresher, coalesced) whenever one of their runs changes state.
 */
import type { WebClient } from '@slack/web-api';
import { HOME_RUN_LIMIT, type HomeRun, homeView } from '../../blocks/home.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { orchestrationIdOf } from '../plan/ids.js';

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

/** Draws the person's Home tab and publishes it. */
export async function publishHome(client: WebClient, userId: string): Promise<void> {
  const { runs, total } = await homeRunsOf(userId);
  await client.views.publish({ user_id: userId, view: homeView({ runs, total, now: new Date() }) });
}
