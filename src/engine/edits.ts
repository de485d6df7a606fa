/**
 * Edits people make to a proposal before approving it. Each edit is a pure function from a
 * proposal to a new one (or an EditError that says why not); `revise` then stores it as the
 * next revision with a compare-and-swap on (status proposed, revision), so an edit racing an
 * approval or another edit either wins whole or changes nothing.
 */
import type { Types } from 'mongoose';
import { Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import type { Hire, Proposal } from './proposal.js';
import { validateProposal } from './validate.js';

export class EditError extends Error {
  override name = 'EditError';
}

const clone = (p: Proposal): Proposal => structuredClone(p);

export function swapRole(p: Proposal, roleKey: string, to: { existingAgent: string } | { hire: Hire }): Proposal {
  const next = clone(p);
  const role = next.roles.find((r) => r.key === roleKey);
  if (!role) throw new EditError(`The role "${roleKey}" is not in this plan any more.`);
  if ('existingAgent' in to) {
    role.existingAgent = to.existingAgent;
    role.hire = null;
  } else {
    role.existingAgent = null;
    role.hire = to.hire;
  }
  return next;
}

/** The tickets that list `ticketKey` among their dependencies. */
export function dependentsOf(p: Proposal, ticketKey: string): Proposal['tickets'] {
  return p.tickets.filter((t) => t.dependsOn.includes(ticketKey));
}

export function dropTicket(p: Proposal, ticketKey: string): Proposal {
  if (!p.tickets.some((t) => t.key === ticketKey)) throw new EditError('That ticket is not in this plan any more.');
  if (p.tickets.length === 1) {
    throw new EditError('That is the last ticket: a plan needs at least one. Cancel the proposal instead, or ask the CEO agent again.');
  }
  const next = clone(p);
  next.tickets = next.tickets
    .filter((t) => t.key !== ticketKey)
    .map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => d !== ticketKey) }));
  return next;
}

export function setBudget(p: Proposal, maxUsd: number, ceilingUsd: number): Proposal {
  if (!Number.isFinite(maxUsd) || maxUsd <= 0) throw new EditError('Enter a positive amount in USD, like 1.50 or 2500 (no thousands separators).');
  if (maxUsd > ceilingUsd) throw new EditError(`The cap can be at most $${ceilingUsd.toFixed(2)} (ORCHESTRATE_MAX_BUDGET_USD).`);
  return { ...clone(p), budget: { maxUsd: Math.round(maxUsd * 100) / 100 } };
}

export function toggleDiscussion(p: Proposal): Proposal {
  const next = clone(p);
  next.discussion.enabled = !next.discussion.enabled;
  if (next.discussion.enabled && !next.discussion.prompt.trim()) {
    next.discussion.prompt = 'State your position on how to reach the goal, and the risks you see.';
  }
  return next;
}

export function toggleResearch(p: Proposal): Proposal {
  const next = clone(p);
  next.research.enabled = !next.research.enabled;
  if (next.research.enabled) {
    next.research.role ??= next.tickets[0]?.role ?? next.roles[0]!.key;
    if (!next.research.prompt.trim()) next.research.prompt = 'Gather the facts and sources the tickets will need.';
  }
  return next;
}

export type ReviseOutcome =
  | { ok: true; doc: OrchestrationDoc }
  | { ok: false; reason: 'stale' | 'closed' | 'invalid'; message: string; doc: OrchestrationDoc | null };

/**
 * Stores `edit(current proposal)` as revision r+1, if the orchestration is still proposed at
 * revision r. The whole proposal is validated again, so no edit can leave it broken.
 */
export async function revise(
  id: Types.ObjectId | string,
  revision: number,
  by: string,
  change: string,
  edit: (p: Proposal) => Proposal,
  rosterNames?: readonly string[],
): Promise<ReviseOutcome> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc?.proposal) return { ok: false, reason: 'closed', message: 'That orchestration no longer exists.', doc: null };
  if (doc.status !== 'proposed') return { ok: false, reason: 'closed', message: 'The plan can no longer be edited: it was approved or closed.', doc };
  if (doc.revision !== revision) return { ok: false, reason: 'stale', message: 'The plan has changed since.', doc };
  let next: Proposal;
  try {
    next = edit(doc.proposal);
  } catch (error) {
    if (error instanceof EditError) return { ok: false, reason: 'invalid', message: error.message, doc };
    throw error;
  }
  const checked = validateProposal(next, rosterNames ? { rosterNames } : {});
  if (!checked.ok) return { ok: false, reason: 'invalid', message: `That edit would break the plan: ${checked.violations.join('; ')}`, doc };
  if (checked.proposal.budget.maxUsd < doc.budget.spentUsd) {
    return { ok: false, reason: 'invalid', message: `The cap cannot be below what planning already spent ($${doc.budget.spentUsd.toFixed(4)}).`, doc };
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
  if (!updated) {
    const now = await Orchestration.findById(id).lean<OrchestrationDoc>();
    return now?.status === 'proposed'
      ? { ok: false, reason: 'stale', message: 'The plan changed while you edited it.', doc: now }
      : { ok: false, reason: 'closed', message: 'The plan can no longer be edited: it was approved or closed.', doc: now };
  }
  return { ok: true, doc: updated };
}
