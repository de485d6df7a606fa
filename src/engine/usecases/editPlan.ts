/**
 * Editing a plan under review: the clicks that need no form (drop a ticket, discussion and
 * research on or off), and the forms (swap a role, set the budget). Every edit goes through
 * revise(), which validates the whole plan again and stores it as the next revision.
 */
import type { ModalView } from '@slack/types';
import { budgetModal, swapRoleModal } from '../../blocks/modals.js';
import { invalidEdit, notEditable } from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { rosterAgents, rosterChoices } from '../crew/roster.js';
import { dropTicket, setBudget, swapRole, toggleDiscussion, toggleResearch } from '../plan/edits.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { Hire, Proposal } from '../plan/proposal.js';
import { revise } from '../review/revise.js';
import {
  answerStale,
  type CheckedForm,
  type Click,
  checkClick,
  checkForm,
  type FormErrors,
  type Reply,
  text,
} from './guard.js';

export type ClickEdit = 'dropTicket' | 'toggleDiscussion' | 'toggleResearch';

const CLICK_EDITS: Record<ClickEdit, (target: string) => { change: string; edit: (p: Proposal) => Proposal }> = {
  dropTicket: (target) => ({ change: `dropped ticket ${target}`, edit: (p) => dropTicket(p, target) }),
  toggleDiscussion: () => ({ change: 'toggled discussion', edit: toggleDiscussion }),
  toggleResearch: () => ({ change: 'toggled research', edit: toggleResearch }),
};

/** An edit that needs no form: check, revise, redraw, or say why not. */
export async function editByClick(services: Services, click: Click, kind: ClickEdit): Promise<Reply | null> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked.reply;
  const { doc, control } = checked;
  if (doc.status !== 'proposed') return text(notEditable(doc.status));
  const { change, edit } = CLICK_EDITS[kind](control.target ?? '');
  const id = orchestrationIdOf(doc);
  const outcome = await revise({ id, revision: control.revision, by: click.userId, change, edit });
  if (outcome.ok) {
    await services.engine.redraw(id);
    return null;
  }
  if (outcome.reason === 'stale' && outcome.doc) return answerStale(services, control.revision, outcome.doc);
  return text(outcome.reason === 'invalid' ? invalidEdit(outcome.message) : outcome.message);
}

export type ModalOutcome = { ok: true; view: ModalView } | { ok: false; reply: Reply };

export type FormModal = 'swapRole' | 'setBudget';

/** The form a plan button opens, or why it cannot open. */
export async function editModal(services: Services, click: Click, kind: FormModal): Promise<ModalOutcome> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked;
  const { doc, control } = checked;
  if (doc.status !== 'proposed') return { ok: false, reply: text(notEditable(doc.status)) };
  if (kind === 'setBudget') {
    return {
      ok: true,
      view: budgetModal(control, doc.budget.maxUsd, services.config.budget.maxUsd, doc.budget.spentUsd),
    };
  }
  const role = doc.proposal!.roles.find((r) => r.key === control.target);
  if (!role) return { ok: false, reply: text('That role is not in this plan any more.') };
  const roster = rosterChoices(await rosterAgents(), role.existingAgent);
  return {
    ok: true,
    view: swapRoleModal(
      control,
      role,
      roster.map((a) => ({ name: a.name, title: a.title })),
    ),
  };
}

/** Where each Swap role error shows. */
export interface SwapRoleBlocks {
  rosterAgent: string;
  hireName: string;
  hirePersona: string;
  hireSkills: string;
}

export interface SwapRoleForm {
  /** A roster agent's name, or null for a new hire. */
  agent: string | null;
  name: string;
  persona: string;
  skills: string[];
}

/** The new hire's fields, checked one by one so that each error shows next to its field. */
function hireErrors(form: SwapRoleForm, blocks: SwapRoleBlocks): FormErrors {
  const errors: FormErrors = {};
  const { name, persona, skills } = form;
  if (!name) errors[blocks.hireName] = 'Give the new hire a name, or pick an agent from the roster.';
  else if (name.length > 80) errors[blocks.hireName] = `At most 80 characters; this is ${name.length}.`;
  if (!persona) errors[blocks.hirePersona] = 'Describe the new hire in a sentence or two.';
  else if (persona.length > 2000) errors[blocks.hirePersona] = `At most 2,000 characters; this is ${persona.length}.`;
  const long = skills.find((k) => k.length > 80);
  if (skills.length > 12) errors[blocks.hireSkills] = `At most 12 skills; these are ${skills.length}.`;
  else if (long)
    errors[blocks.hireSkills] = `Each skill at most 80 characters; "${long.slice(0, 30)}…" is ${long.length}.`;
  return errors;
}

/** Stores an edit made in a checked form, or the error to show in it. */
async function saveForm(
  services: Services,
  checked: CheckedForm,
  by: string,
  errorBlock: string,
  change: string,
  edit: (p: Proposal) => Proposal,
) {
  const id = orchestrationIdOf(checked.doc);
  const outcome = await revise({ id, revision: checked.control.revision, by, change, edit });
  if (!outcome.ok) return { [errorBlock]: outcome.message.slice(0, 500) };
  await services.engine.redraw(id);
  return null;
}

export async function submitSwapRole(
  services: Services,
  click: Click,
  form: SwapRoleForm,
  blocks: SwapRoleBlocks,
): Promise<FormErrors | null> {
  const checked = await checkForm(services, click, blocks.hireName);
  if (!checked.ok) return checked.errors;
  const role = checked.control.target ?? '';
  let to: { existingAgent: string } | { hire: Hire };
  if (form.agent) to = { existingAgent: form.agent };
  else {
    const errors = hireErrors(form, blocks);
    if (Object.keys(errors).length) return errors;
    to = { hire: { name: form.name, persona: form.persona, skills: form.skills } };
  }
  const change =
    'existingAgent' in to ? `role ${role} → roster agent ${to.existingAgent}` : `role ${role} → new hire ${form.name}`;
  const errorBlock = 'existingAgent' in to ? blocks.rosterAgent : blocks.hireName;
  return saveForm(services, checked, click.userId, errorBlock, change, (p) => swapRole(p, role, to));
}

export async function submitBudget(
  services: Services,
  click: Click,
  usd: number,
  errorBlock: string,
): Promise<FormErrors | null> {
  const checked = await checkForm(services, click, errorBlock);
  if (!checked.ok) return checked.errors;
  const { doc } = checked;
  const ceiling = services.config.budget.maxUsd;
  try {
    setBudget(doc.proposal!, usd, ceiling);
  } catch (error) {
    return { [errorBlock]: (error as Error).message };
  }
  if (usd < doc.budget.spentUsd) {
    return { [errorBlock]: `Planning already spent $${doc.budget.spentUsd.toFixed(4)}; the cap cannot be lower.` };
  }
  if (usd < doc.budget.spentUsd + doc.budget.reservedUsd) {
    const held = `$${doc.budget.reservedUsd.toFixed(4)} is held for a call in flight (Ask again)`;
    return {
      [errorBlock]: `$${doc.budget.spentUsd.toFixed(4)} is spent and ${held}; the cap cannot be lower than both.`,
    };
  }
  return saveForm(services, checked, click.userId, errorBlock, `budget → $${usd.toFixed(2)}`, (p) =>
    setBudget(p, usd, ceiling),
  );
}
