/**
 * Edits people make to a proposal before approving it. Each edit is a pure function from a
 * proposal to a new one, or an EditError that says why not; usecases/revise.ts stores the result
 * as the next revision.
 */
import { EditError } from '../../errors.js';
import type { RoleKit } from './choices.js';
import type { DeclaredOutput } from './outputs.js';
import type { Hire, Proposal } from './proposal.js';

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

/** Gives a role its tools and model; whether they exist is the validation's to say, like every other reference. */
export function setRoleKit(p: Proposal, roleKey: string, kit: RoleKit): Proposal {
  const next = clone(p);
  const role = next.roles.find((r) => r.key === roleKey);
  if (!role) throw new EditError(`The role "${roleKey}" is not in this plan any more.`);
  role.tools = [...new Set(kit.tools)];
  role.model = kit.model;
  return next;
}

/** The tickets that list `ticketKey` among their dependencies. */
export function dependentsOf(p: Proposal, ticketKey: string): Proposal['tickets'] {
  return p.tickets.filter((t) => t.dependsOn.includes(ticketKey));
}

export function dropTicket(p: Proposal, ticketKey: string): Proposal {
  if (!p.tickets.some((t) => t.key === ticketKey)) throw new EditError('That ticket is not in this plan any more.');
  if (p.tickets.length === 1) {
    throw new EditError(
      'That is the last ticket: a plan needs at least one. Cancel the proposal instead, or ask the CEO agent again.',
    );
  }
  const next = clone(p);
  next.tickets = next.tickets
    .filter((t) => t.key !== ticketKey)
    .map((t) => {
      const kept = { ...t, dependsOn: t.dependsOn.filter((d) => d !== ticketKey) };
      if (t.uses) kept.uses = t.uses.filter((u) => !u.startsWith(`${ticketKey}.`));
      return kept;
    });
  return next;
}

export function setBudget(p: Proposal, maxUsd: number, ceilingUsd: number): Proposal {
  if (!Number.isFinite(maxUsd) || maxUsd <= 0)
    throw new EditError('Enter a positive amount in USD, like 1.50 or 2500 (no thousands separators).');
  if (maxUsd > ceilingUsd)
    throw new EditError(`The cap can be at most $${ceilingUsd.toFixed(2)} (ORCHESTRATE_MAX_BUDGET_USD).`);
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

/**
 * Sets what each ticket named in `outputs` produces (null: prose, no declared output). Whether its
 * dependents still find the fields they use is the validation's to say, as for every edit.
 */
export function setOutputs(p: Proposal, outputs: Readonly<Record<string, DeclaredOutput | null>>): Proposal {
  const next = clone(p);
  for (const [key, output] of Object.entries(outputs)) {
    const ticket = next.tickets.find((t) => t.key === key);
    if (!ticket) throw new EditError(`The ticket "${key}" is not in this plan any more.`);
    if (output) ticket.output = structuredClone(output);
    else delete ticket.output;
  }
  return next;
}

/** People weigh in after the discussion, or the work starts as soon as every position is posted. */
export function togglePauseForPeople(p: Proposal): Proposal {
  const next = clone(p);
  next.discussion.pauseForPeople = next.discussion.pauseForPeople === false;
  return next;
}

/** Exactly the tickets in `keys` have their results reviewed before anything builds on them. */
export function setReviewGates(p: Proposal, keys: readonly string[]): Proposal {
  const unknown = keys.filter((k) => !p.tickets.some((t) => t.key === k));
  if (unknown.length) throw new EditError(`Not in this plan any more: ${unknown.join(', ')}.`);
  const next = clone(p);
  for (const ticket of next.tickets) {
    if (keys.includes(ticket.key)) ticket.review = true;
    else delete ticket.review;
  }
  return next;
}
