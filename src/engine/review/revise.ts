/**
 * Stores a reviewer's edit (or the CEO agent's new plan) as the next revision, with a
 * compare-and-swap on (status proposed, revision r), so an edit racing an approval or another
 * edit either wins whole or changes nothing. The whole proposal is validated again first.
 */
import { hasCode } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { rosterAgents } from '../crew/roster.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { Proposal } from '../plan/proposal.js';
import { validateProposal } from '../plan/validate.js';

export type ReviseOutcome =
  | { ok: true; doc: OrchestrationDoc }
  | { ok: false; reason: 'stale' | 'closed' | 'invalid'; message: string; doc: OrchestrationDoc | null };

export interface Revision {
  id: OrchestrationId;
  /** The revision the edit was made on. */
  revision: number;
  by: string;
  /** What changed, in words, for the history. */
  change: string;
  edit: (p: Proposal) => Proposal;
}

const CLOSED = 'The plan can no longer be edited: it was approved or closed.';

export async function revise({ id, revision, by, change, edit }: Revision): Promise<ReviseOutcome> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc?.proposal)
    return { ok: false, reason: 'closed', message: 'That orchestration no longer exists.', doc: null };
  if (doc.status !== 'proposed') return { ok: false, reason: 'closed', message: CLOSED, doc };
  if (doc.revision !== revision) return { ok: false, reason: 'stale', message: 'The plan has changed since.', doc };
  let next: Proposal;
  try {
    next = edit(doc.proposal);
  } catch (error) {
    if (hasCode(error, 'edit')) return { ok: false, reason: 'invalid', message: error.message, doc };
    throw error;
  }
  const rosterNames = (await rosterAgents()).map((a) => a.name);
  const checked = validateProposal(next, { rosterNames });
  if (!checked.ok) {
    return {
      ok: false,
      reason: 'invalid',
      message: `That edit would break the plan: ${checked.violations.join('; ')}`,
      doc,
    };
  }
  if (checked.proposal.budget.maxUsd < doc.budget.spentUsd) {
    const message = `The cap cannot be below what planning already spent ($${doc.budget.spentUsd.toFixed(4)}).`;
    return { ok: false, reason: 'invalid', message, doc };
  }
  const at = new Date();
  const updated = await Orchestration.findOneAndUpdate(
    { _id: id, status: 'proposed', revision },
    {
      $set: { proposal: checked.proposal, revision: revision + 1, 'budget.maxUsd': checked.proposal.budget.maxUsd },
      $push: { history: { revision: revision + 1, proposal: checked.proposal, change, by, at } },
    },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
  if (updated) return { ok: true, doc: updated };
  const now = await Orchestration.findById(id).lean<OrchestrationDoc>();
  return now?.status === 'proposed'
    ? { ok: false, reason: 'stale', message: 'The plan changed while you edited it.', doc: now }
    : { ok: false, reason: 'closed', message: CLOSED, doc: now };
}
