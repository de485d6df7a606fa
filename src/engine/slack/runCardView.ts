/**
 * What the run card is drawn from: the stored run, its steps with their agents, the team, and
 * the spend, read at the moment the card is drawn.
 */
import type { RunCardStep, RunCardView } from '../../blocks/runCard.js';
import { Agent } from '../../models/agent.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { Team } from '../../models/team.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { SHOWN_STEP_STATE } from '../plan/status.js';
import { durationOf } from './stepPosts.js';

/** The sources a step cites that this run really retrieved, with the titles seen when retrieving them. */
function retrievedSources(step: StepDoc): { url: string; title: string }[] {
  const titles = new Map((step.retrieved ?? []).map((r) => [r.url, r.title]));
  return (step.citations ?? [])
    .filter((c) => c.retrieved)
    .map((c) => ({ url: c.url, title: titles.get(c.url) ?? hostOf(c.url) }));
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

function unverifiedNote(step: StepDoc): string | null {
  const n = (step.citations ?? []).filter((c) => !c.retrieved).length;
  return n ? `${n} cited source${n === 1 ? '' : 's'} not retrieved in this run` : null;
}

function noteOf(s: StepDoc): string | null {
  if (s.status === 'failed') return s.error;
  if (s.status === 'skipped') return s.skipReason;
  if (s.kind === 'people' && s.status === 'running') return 'waiting for people: Start the work';
  if (s.review?.state === 'awaiting') return 'waiting for review: Accept, Rework or Edit in the thread';
  if (s.review?.editedBy) return 'edited by a person';
  if (s.outdated) return 'out of date after a re-run: re-run it, or synthesize with it as it is';
  return unverifiedNote(s);
}

export async function runCardViewOf(doc: OrchestrationDoc, now = Date.now()): Promise<RunCardView | null> {
  if (!doc.runId || !doc.proposal) return null;
  const [steps, team] = await Promise.all([
    Step.find({ runId: doc.runId, kind: { $ne: 'done' } })
      .sort({ order: 1 })
      .lean<StepDoc[]>(),
    Team.findOne({ orchestrationId: doc._id }).lean(),
  ]);
  const agentIds = [
    ...new Set([...steps.map((s) => String(s.agentId)), ...(team?.members ?? []).map((m) => String(m.agentId))]),
  ];
  const agents = new Map(
    (await Agent.find({ _id: { $in: agentIds } }, { name: 1, hiredFor: 1 }).lean()).map((a) => [String(a._id), a]),
  );
  const roleTitle = new Map(doc.proposal.roles.map((r) => [r.key, r.title]));
  const cardSteps: RunCardStep[] = steps.map((s) => ({
    key: s.key,
    title: s.title,
    kind: s.kind as RunCardStep['kind'],
    role: roleTitle.get(s.roleKey ?? '') ?? s.roleKey ?? '',
    agent: agents.get(String(s.agentId))?.name ?? '',
    state: SHOWN_STEP_STATE[s.status],
    durationMs: s.status === 'running' && s.startedAt ? now - new Date(s.startedAt).getTime() : durationOf(s),
    costUsd: s.costUsd,
    note: noteOf(s),
    sources: retrievedSources(s),
  }));
  const members = (team?.members ?? []).map((m) => {
    const agent = agents.get(String(m.agentId));
    return {
      roleTitle: roleTitle.get(m.roleKey) ?? m.roleKey,
      agentName: agent?.name ?? '',
      hired: String(agent?.hiredFor?.orchestrationId ?? '') === String(doc._id),
    };
  });
  const started = doc.startedAt ? new Date(doc.startedAt).getTime() : null;
  const end = doc.finishedAt ? new Date(doc.finishedAt).getTime() : now;
  return {
    orchestrationId: orchestrationIdOf(doc),
    revision: doc.revision,
    status: doc.status,
    goal: doc.goal,
    steps: cardSteps,
    spentUsd: doc.budget.spentUsd,
    maxUsd: doc.budget.maxUsd,
    elapsedMs: started === null ? null : Math.max(0, end - started),
    team: team ? { name: team.name, members } : null,
    waitingForPeople: steps.some((s) => s.kind === 'people' && s.status === 'running'),
    paused: Boolean(doc.paused),
  };
}
