/**
 * What a person sees of their own orchestrations: the App Home tab (their most recent runs) and a
 * run's detail (each step's role, agent, timing, tokens and cost), which only the requester and
 * approvers may open.
 */

import { type RunDetailStep, runDetailModal } from '../../blocks/home.js';
import { UNKNOWN_BUTTON } from '../../blocks/replies.js';
import { Agent } from '../../models/agent.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { loadOrchestration } from '../run/transition.js';
import { publishHome } from '../watch/home.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, text } from './guard.js';

const asDate = (value: Date | string | null) => (value ? new Date(value) : null);

async function stepsOf(doc: OrchestrationDoc): Promise<RunDetailStep[]> {
  if (!doc.runId) return [];
  const steps = await Step.find({ runId: doc.runId }).sort({ order: 1 }).lean<StepDoc[]>();
  const agentIds = [...new Set(steps.filter((s) => s.agentId).map((s) => String(s.agentId)))];
  const agents = agentIds.length ? await Agent.find({ _id: { $in: agentIds } }, { name: 1 }).lean() : [];
  const agentName = new Map(agents.map((a) => [String(a._id), a.name]));
  const roleTitle = new Map((doc.proposal?.roles ?? []).map((r) => [r.key, r.title]));
  return steps.map((s) => {
    const startedAt = asDate(s.startedAt);
    const finishedAt = asDate(s.finishedAt);
    return {
      title: s.title,
      role: s.roleKey ? (roleTitle.get(s.roleKey) ?? s.roleKey) : null,
      agent: s.agentId ? (agentName.get(String(s.agentId)) ?? null) : null,
      status: s.status,
      startedAt,
      durationMs: startedAt && finishedAt ? finishedAt.getTime() - startedAt.getTime() : null,
      tokens: { input: s.tokens?.input ?? 0, output: s.tokens?.output ?? 0, cached: s.tokens?.cached ?? 0 },
      costUsd: s.costUsd ?? 0,
    };
  });
}

/** A run's detail modal, or why it cannot open. */
export async function runDetailFor(services: Services, click: Click): Promise<ModalOutcome> {
  const { control } = click;
  if (!control) return { ok: false, reply: text(UNKNOWN_BUTTON) };
  const doc = await loadOrchestration(control.orchestrationId);
  if (!doc) return { ok: false, reply: text('That orchestration no longer exists, so there is no detail to show.') };
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) {
    return {
      ok: false,
      reply: text(`:no_entry: Only <@${doc.requesterId}> (who asked for it) or an approver can see this run's detail.`),
    };
  }
  const view = runDetailModal({
    orchestrationId: orchestrationIdOf(doc),
    revision: doc.revision,
    goal: doc.goal,
    status: doc.status,
    steps: await stepsOf(doc),
    totalUsd: doc.budget.spentUsd,
    maxUsd: doc.budget.maxUsd,
    feedback: doc.feedback ? { rating: doc.feedback.rating, by: doc.feedback.by } : null,
    channelId: doc.channelId,
    teamId: doc.slackTeamId ?? null,
  });
  return { ok: true, view };
}

export { publishHome };
