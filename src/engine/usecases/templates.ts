/**
 * Saved plans: Save as template on an approved plan (requester or approvers), and
 * `/orchestrate use <name> …`, which posts the saved plan, its parameters filled in, as a new
 * proposal for review at once, with no planning call.
 */

import { parseMarks, saveTemplateModal } from '../../blocks/templates.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { rosterAgents } from '../crew/roster.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { proposalFromTemplate, SAVABLE_STATUSES, saveTemplate } from '../templates/templates.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, type FormErrors, type Reply, text } from './guard.js';

async function savable(services: Services, click: Click) {
  if (!click.control) return { ok: false as const, reply: text('That button is not one Orchestrate understands.') };
  const doc = await Orchestration.findById(click.control.orchestrationId).lean<OrchestrationDoc>();
  if (!doc?.proposal) return { ok: false as const, reply: text('That orchestration no longer exists.') };
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) return { ok: false as const, reply: text(`:no_entry: ${rights.reason}`) };
  if (!SAVABLE_STATUSES.includes(doc.status))
    return { ok: false as const, reply: text('Only an approved plan can be saved as a template.') };
  return { ok: true as const, doc };
}

export async function saveTemplateModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const found = await savable(services, click);
  if (!found.ok) return found;
  return { ok: true, view: saveTemplateModal(click.control!, found.doc.goal) };
}

export interface SaveTemplateForm {
  name: string;
  description: string;
  params: string;
  blocks: { name: string; params: string };
}

export async function submitSaveTemplate(
  services: Services,
  click: Click,
  form: SaveTemplateForm,
): Promise<FormErrors | null> {
  const found = await savable(services, click);
  if (!found.ok) return { [form.blocks.name]: found.reply.text.replace(/<@(\w+)>/g, 'the requester').slice(0, 500) };
  const marks = parseMarks(form.params);
  if (!marks.ok) return { [form.blocks.params]: marks.error };
  const saved = await saveTemplate({
    teamId: found.doc.slackTeamId,
    name: form.name,
    description: form.description,
    orchestrationId: orchestrationIdOf(found.doc),
    marks: marks.marks,
    by: click.userId,
  });
  if (saved.ok) return null;
  const about = /param|goal|mark/i.test(saved.error) ? form.blocks.params : form.blocks.name;
  return { [about]: saved.error.slice(0, 500) };
}

export interface UseTemplate {
  name: string;
  args: string;
  userId: string;
  channelId: string;
  teamId: string | null;
  responseUrl: string;
}

/** Records the saved plan as a proposal and has it posted; the answer says what happened. */
export async function useTemplate(services: Services, input: UseTemplate): Promise<Reply> {
  const rosterNames = (await rosterAgents()).map((a) => a.name);
  const made = await proposalFromTemplate(input.teamId, input.name, input.args, { rosterNames });
  if (!made.ok) return text(made.error);
  const at = new Date();
  const doc = await Orchestration.create({
    slackTeamId: input.teamId ?? undefined,
    requesterId: input.userId,
    channelId: input.channelId,
    goal: made.goal,
    status: 'proposed',
    proposal: made.proposal,
    revision: 1,
    history: [
      { revision: 1, proposal: made.proposal, change: `from the saved plan ${input.name}`, by: input.userId, at },
    ],
    transitions: [
      { from: 'planning', to: 'proposed', at, reason: `from the saved plan ${input.name}`, by: input.userId },
    ],
    budget: { maxUsd: made.proposal.budget.maxUsd, spentUsd: 0, reservedUsd: 0, warned: false },
    responseUrl: input.responseUrl,
    templateId: made.templateId,
  });
  const id = orchestrationIdOf(doc);
  // The plan job posts a proposal it finds already made, without planning.
  await services.engine.enqueuePlan(id, input.responseUrl).catch((error: unknown) => {
    services.logger.warn(`could not queue the posting of ${id} at once: ${describeError(error)}`);
  });
  return text(`:memo: Posting the saved plan *${input.name}* for review…`);
}
