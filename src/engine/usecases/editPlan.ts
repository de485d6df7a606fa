/**
 * Editing a plan under review: the clicks that need no form (drop a ticket, discussion and
 * research on or off), and the forms (swap a role: its agent, tools and model; set the budget).
 * Every edit goes through revise(), which validates the whole plan again and stores it as the
 * next revision; the roles' tools and models are checked here, against what this app offers.
 */
import type { ModalView } from '@slack/types';
import { budgetModal, swapRoleModal } from '../../blocks/modals.js';
import { invalidEdit, notEditable } from '../../blocks/replies.js';
import { EditError } from '../../errors.js';
import type { Services } from '../../services.js';
import { rosterAgents, rosterChoices } from '../crew/roster.js';
import { type PlanChoices, type RoleKit, roleKit } from '../plan/choices.js';
import {
  dropTicket,
  setBudget,
  setRoleKit,
  swapRole,
  toggleDiscussion,
  togglePauseForPeople,
  toggleResearch,
} from '../plan/edits.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { Hire, Proposal, Role } from '../plan/proposal.js';
import { kitViolations } from '../plan/validate.js';
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

/**
 * What a role may be given now: the tool catalog built at start (without one no tools exist, as for
 * the CEO agent: a plan can then name none, and an edit to one that does says which are missing).
 */
export function planChoicesOf(services: Services): PlanChoices {
  return { tools: services.toolChoices ?? [], models: services.config.llm.models };
}

/** An edit that also checks every role's tools and models against what is offered now. */
function withKitChecked(services: Services, edit: (p: Proposal) => Proposal) {
  const choices = planChoicesOf(services);
  return (p: Proposal): Proposal => {
    const next = edit(p);
    const violations = kitViolations(next, choices);
    if (violations.length) throw new EditError(`That edit would break the plan: ${violations.join('; ')}`);
    return next;
  };
}

export type ClickEdit = 'dropTicket' | 'toggleDiscussion' | 'toggleResearch' | 'togglePauseForPeople';

const CLICK_EDITS: Record<ClickEdit, (target: string) => { change: string; edit: (p: Proposal) => Proposal }> = {
  dropTicket: (target) => ({ change: `dropped ticket ${target}`, edit: (p) => dropTicket(p, target) }),
  toggleDiscussion: () => ({ change: 'toggled discussion', edit: toggleDiscussion }),
  toggleResearch: () => ({ change: 'toggled research', edit: toggleResearch }),
  togglePauseForPeople: () => ({ change: 'toggled the pause for people', edit: togglePauseForPeople }),
};

/** An edit that needs no form: check, revise, redraw, or say why not. */
export async function editByClick(services: Services, click: Click, kind: ClickEdit): Promise<Reply | null> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked.reply;
  const { doc, control } = checked;
  if (doc.status !== 'proposed') return text(notEditable(doc.status));
  const { change, edit } = CLICK_EDITS[kind](control.target ?? '');
  const id = orchestrationIdOf(doc);
  const checkedEdit = withKitChecked(services, edit);
  const outcome = await revise({ id, revision: control.revision, by: click.userId, change, edit: checkedEdit });
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
      planChoicesOf(services),
    ),
  };
}

/** Where each Swap role error shows. */
export interface SwapRoleBlocks {
  rosterAgent: string;
  hireName: string;
  hirePersona: string;
  hireSkills: string;
  tools: string;
  model: string;
}

export interface SwapRoleForm {
  /** A roster agent's name, or null for a new hire. */
  agent: string | null;
  name: string;
  persona: string;
  skills: string[];
  /** The tools chosen, or null when the form had no tools field (none are offered, or it was drawn before tools). */
  tools: string[] | null;
  /** The model chosen, or null when the form had no model field (only the default is offered). */
  model: string | null;
}

/**
 * The kit the form asks for. A field the form did not have keeps what the role had, less what is
 * no longer offered (the modal said so); the default model is stored as null, so that the role
 * follows LLM_MODEL.
 */
function chosenKit(form: SwapRoleForm, current: RoleKit, choices: PlanChoices): RoleKit {
  const offered = new Set(choices.tools.map((t) => t.name));
  const tools = form.tools ?? current.tools.filter((t) => offered.has(t));
  const kept = current.model !== null && choices.models.includes(current.model) ? current.model : null;
  const model = form.model ?? kept;
  return { tools, model: model === choices.models[0] ? null : model };
}

function kitErrors(kit: RoleKit, choices: PlanChoices, blocks: SwapRoleBlocks): FormErrors {
  const errors: FormErrors = {};
  const offered = new Set(choices.tools.map((t) => t.name));
  const unknown = kit.tools.filter((t) => !offered.has(t));
  if (unknown.length) errors[blocks.tools] = `Not an available tool: ${unknown.join(', ')}.`.slice(0, 500);
  if (kit.model !== null && !choices.models.includes(kit.model))
    errors[blocks.model] = `"${kit.model.slice(0, 150)}" is not one of the models offered (ORCHESTRATE_MODELS).`;
  return errors;
}

/** What changed, in words, for the history: the agent, then the tools and the model, whichever changed. */
function swapChange(
  roleKey: string,
  before: Role | undefined,
  to: { existingAgent: string } | { hire: Hire },
  kit: RoleKit,
) {
  const agent = 'existingAgent' in to ? `→ roster agent ${to.existingAgent}` : `→ new hire ${to.hire.name}`;
  const sameAgent =
    before !== undefined &&
    ('existingAgent' in to
      ? before.hire === null && before.existingAgent?.toLowerCase() === to.existingAgent.toLowerCase()
      : JSON.stringify(before.hire) === JSON.stringify(to.hire));
  const was = before ? roleKit(before) : { tools: [], model: null };
  const parts: string[] = [];
  if (was.tools.join(',') !== kit.tools.join(','))
    parts.push(`tools → ${kit.tools.length ? kit.tools.join(', ') : 'none'}`);
  if (was.model !== kit.model) parts.push(`model → ${kit.model ?? 'default'}`);
  if (!sameAgent || !parts.length) return [`role ${roleKey} ${agent}`, ...parts].join('; ');
  return `role ${roleKey}: ${parts.join('; ')}`;
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
export async function saveForm(
  services: Services,
  checked: CheckedForm,
  by: string,
  errorBlock: string,
  change: string,
  edit: (p: Proposal) => Proposal,
) {
  const id = orchestrationIdOf(checked.doc);
  const outcome = await revise({
    id,
    revision: checked.control.revision,
    by,
    change,
    edit: withKitChecked(services, edit),
  });
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
  const before = checked.doc.proposal!.roles.find((r) => r.key === role);
  const choices = planChoicesOf(services);
  const kit = chosenKit(form, before ? roleKit(before) : { tools: [], model: null }, choices);
  const errors = kitErrors(kit, choices, blocks);
  if (Object.keys(errors).length) return errors;
  const errorBlock = 'existingAgent' in to ? blocks.rosterAgent : blocks.hireName;
  const change = swapChange(role, before, to, kit);
  return saveForm(services, checked, click.userId, errorBlock, change, (p) =>
    setRoleKit(swapRole(p, role, to), role, kit),
  );
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
