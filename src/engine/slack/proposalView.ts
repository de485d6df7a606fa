/**
 * What the proposal message is drawn from: the stored orchestration, its tickets' states once a
 * run exists, and, while the plan is under review, its estimate.
 */
import type { ProposalView } from '../../blocks/proposal.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step } from '../../models/run.js';
import type { Estimator } from '../money/history.js';
import { orchestrationIdOf } from '../plan/ids.js';

export async function proposalViewOf(doc: OrchestrationDoc, estimator?: Estimator): Promise<ProposalView> {
  const ticketStates: Record<string, string> = {};
  if (doc.runId) {
    const steps = await Step.find({ runId: doc.runId, kind: 'ticket' }, { ticketKey: 1, status: 1 }).lean();
    for (const s of steps) if (s.ticketKey) ticketStates[s.ticketKey] = s.status;
  }
  const end = doc.finishedAt ?? null;
  return {
    orchestrationId: orchestrationIdOf(doc),
    revision: doc.revision,
    status: doc.status,
    statusReason: doc.statusReason,
    cancelledBy: doc.status === 'cancelled' ? (doc.transitions.at(-1)?.by ?? null) : null,
    requesterId: doc.requesterId,
    goal: doc.goal,
    proposal: doc.proposal!,
    budget: { maxUsd: doc.budget.maxUsd, spentUsd: doc.budget.spentUsd },
    approvedBy: doc.approvedBy,
    budgetStop: doc.budgetStop,
    estimate: doc.status === 'proposed' && estimator && doc.proposal ? await estimator(doc.proposal) : null,
    durationMs: end && doc.startedAt ? new Date(end).getTime() - new Date(doc.startedAt).getTime() : null,
    ticketStates,
    context: doc.context ?? null,
    parent: doc.parent ? { channelId: doc.parent.channelId, goal: doc.parent.goal } : null,
  };
}
