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
/** Revisions kept on the document; older ones are dropped. */
export const HISTORY_KEPT = 50;

function capTooLow(doc: OrchestrationDoc): string {
  const { spentUsd, reservedUsd } = doc.budget;
  const held = reservedUsd > 1e-9 ? ` and $${reservedUsd.toFixed(4)} is held for a call in flight` : '';
  return `The cap cannot be below what is already committed: $${spentUsd.toFixed(4)} spent${held}.`;
}

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
  const cap = checked.proposal.budget.maxUsd;
  const committed = doc.budget.spentUsd + doc.budget.reservedUsd;
  if (cap < committed - 1e-9) return { ok: false, reason: 'invalid', message: capTooLow(doc), doc };
  const at = new Date();
  const entry = { revision: revision + 1, proposal: checked.proposal, change, by, at };
  const updated = await Orchestration.findOneAndUpdate(
    // The cap is checked against spend and calls in flight (a replan's hold) by the server, in the
    // same update: a hold made meanwhile under the old cap can never settle past the new one.
    {
      _id: id,
      status: 'proposed',
      revision,
      $expr: { $lte: [{ $add: ['$budget.spentUsd', '$budget.reservedUsd'] }, cap + 1e-9] },
    },
    {
      $set: { proposal: checked.proposal, revision: revision + 1, 'budget.maxUsd': cap },
      // The document keeps the latest revisions only, so that editing can never fill it (16 MB).
      $push: { history: { $each: [entry], $slice: -HISTORY_KEPT } },
    },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
  if (updated) return { ok: true, doc: updated };
  const now = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (now?.status !== 'proposed') return { ok: false, reason: 'closed', message: CLOSED, doc: now };
  if (now.revision === revision) return { ok: false, reason: 'invalid', message: capTooLow(now), doc: now };
  return { ok: false, reason: 'stale', message: 'The plan changed while you edited it.', doc: now };
}
