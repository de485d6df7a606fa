/**
 * The history an estimate rests on: finished steps billed to the same model, newest first, with
 * the name of the agent that ran each (so an agent's own record is preferred when it has one).
 */
import { Agent } from '../../models/agent.js';
import { Step, type StepDoc } from '../../models/run.js';
import { roleKit } from '../plan/choices.js';
import type { Proposal } from '../plan/proposal.js';
import { type Estimate, estimate, type HistorySample, type ToolLoopBounds } from './estimate.js';
import type { ModelRegistry } from './models.js';

const SAMPLE_LIMIT = 1000;

export async function historyOf(model: string): Promise<HistorySample[]> {
  const finished = await Step.find(
    { status: 'succeeded', model, kind: { $ne: 'done' } },
    { kind: 1, agentId: 1, costUsd: 1, startedAt: 1, finishedAt: 1 },
  )
    .sort({ finishedAt: -1 })
    .limit(SAMPLE_LIMIT)
    .lean<StepDoc[]>();
  const agentIds = [...new Set(finished.map((s) => String(s.agentId)))];
  const agents = await Agent.find({ _id: { $in: agentIds } }, { name: 1 }).lean();
  const names = new Map(agents.map((a) => [String(a._id), a.name.toLowerCase()]));
  return finished
    .filter((s) => s.startedAt && s.finishedAt)
    .map((s) => ({
      kind: s.kind,
      agentName: names.get(String(s.agentId)) ?? '',
      costUsd: s.costUsd,
      model,
      durationMs: new Date(s.finishedAt!).getTime() - new Date(s.startedAt!).getTime(),
    }));
}

export type Estimator = (proposal: Proposal) => Promise<Estimate | null>;

/**
 * Estimates a plan from its shape, each role's model's prices and the history of finished steps on
 * that model (one query per model, so that the default model's many samples crowd out no other's).
 */
export function historyEstimator(
  models: ModelRegistry,
  maxOutputTokens: number,
  toolLoop: ToolLoopBounds | null = null,
): Estimator {
  return async (proposal) => {
    const used = new Set(proposal.roles.map((r) => roleKit(r).model ?? models.defaultModel));
    const samples = (await Promise.all([...used].map(historyOf))).flat();
    return estimate(proposal, models, maxOutputTokens, samples, toolLoop);
  };
}
