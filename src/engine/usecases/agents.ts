/**
 * The roster in Slack: showing it (`/orchestrate agents`, a page of it), and what approvers do to
 * it (Edit, Retire). Anyone may look; only approvers may change, and a click or form drawn before
 * someone else's change changes nothing and says so.
 */

import type { ModalView } from '@slack/types';
import { AgentControlIds } from '../../blocks/agentIds.js';
import {
  AGENT_LIMITS,
  type AgentControl,
  type AgentFormMeta,
  editAgentModal,
  rosterMessage,
} from '../../blocks/agents.js';
import {
  AGENT_GONE,
  agentEditedMeanwhile,
  agentRetired,
  agentRetiredMeanwhile,
  agentSaved,
  NOT_AN_APPROVER,
  UNKNOWN_BUTTON,
} from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { type AgentChange, type AgentFields, agentAt, editAgent, retireAgent } from '../crew/agentChanges.js';
import { loadRosterPage } from '../crew/rosterPage.js';
import { approversHere } from '../install/approvers.js';
import type { FormErrors, Reply } from './guard.js';

/** Who is looking: approvers (never the bot itself) may change the roster. */
export interface RosterViewer {
  userId: string;
  botUserId: string | undefined;
}

/** A click on an agent's button, as the listener parsed it. */
export interface AgentClick extends RosterViewer {
  /** Null when the value was not one the roster draws. */
  control: AgentControl | null;
  /** The click came from the Home tab (no response_url there). */
  onHome: boolean;
  responseUrl?: string;
}

/** After a click: a refusal for the clicker only, or the roster to draw again where it was clicked, with a note. */
export type AgentOutcome = { kind: 'refused'; text: string } | { kind: 'redraw'; page: number; notice: string };

export type AgentModalOutcome = { kind: 'open'; view: ModalView } | AgentOutcome;

export type AgentFormOutcome =
  | { kind: 'errors'; errors: FormErrors }
  | { kind: 'redraw'; page: number; notice: string; onHome: boolean; responseUrl?: string };

export async function mayManageRoster(services: Services, viewer: RosterViewer): Promise<boolean> {
  return viewer.userId !== viewer.botUserId && (await approversHere(services.config.approvers)).includes(viewer.userId);
}

/** The roster page as an ephemeral message. */
export async function rosterReply(
  services: Services,
  viewer: RosterViewer,
  page = 0,
  notice: string | null = null,
): Promise<Reply> {
  return rosterMessage(await loadRosterPage(page, await mayManageRoster(services, viewer), notice));
}

/** Why a change found the agent otherwise than the click saw it: said, and the roster drawn as it is. */
function unchanged(change: Exclude<AgentChange, { ok: true }>, page: number): AgentOutcome {
  if (change.why === 'missing') return { kind: 'redraw', page, notice: AGENT_GONE };
  const { agent } = change;
  const notice =
    change.why === 'retired'
      ? agentRetiredMeanwhile(agent.name, agent.retiredBy ?? null)
      : agentEditedMeanwhile(agent.name, agent.editedBy ?? null);
  return { kind: 'redraw', page, notice };
}

/** The checks every roster click passes: a control the roster drew, and an approver clicking it. */
async function checkAgentClick(services: Services, click: AgentClick): Promise<AgentControl | AgentOutcome> {
  if (!click.control) return { kind: 'refused', text: UNKNOWN_BUTTON };
  if (!(await mayManageRoster(services, click))) return { kind: 'refused', text: NOT_AN_APPROVER };
  return click.control;
}

/** The Edit modal for the agent as the click saw it, or why it does not open. */
export async function editAgentModalFor(services: Services, click: AgentClick): Promise<AgentModalOutcome> {
  const control = await checkAgentClick(services, click);
  if ('kind' in control) return control;
  const found = await agentAt(control.agentId, control.version);
  if (!found.ok) return unchanged(found, control.page);
  const meta: AgentFormMeta = {
    ...control,
    onHome: click.onHome,
    ...(click.responseUrl ? { responseUrl: click.responseUrl } : {}),
  };
  return { kind: 'open', view: editAgentModal(found.agent, meta) };
}

export async function retireAgentByClick(services: Services, click: AgentClick): Promise<AgentOutcome> {
  const control = await checkAgentClick(services, click);
  if ('kind' in control) return control;
  const retired = await retireAgent(control.agentId, control.version, click.userId);
  if (!retired.ok) return unchanged(retired, control.page);
  services.logger.info(`agent ${retired.agent.name} retired by ${click.userId}`);
  return { kind: 'redraw', page: control.page, notice: agentRetired(retired.agent.name) };
}

/** The Edit form as typed: skills comma-separated. */
export interface AgentForm {
  meta: AgentFormMeta | null;
  userId: string;
  botUserId: string | undefined;
  title: string;
  persona: string;
  skills: string;
}

/** Each field checked on its own, so that each error shows next to its field. */
export function agentFormErrors(fields: AgentFields): FormErrors {
  const errors: FormErrors = {};
  const ids = AgentControlIds;
  const { title, persona, skills } = fields;
  if (!title) errors[ids.titleBlock] = 'Give the agent a title, e.g. "Market analyst".';
  else if (title.length > AGENT_LIMITS.title) {
    errors[ids.titleBlock] = `At most ${AGENT_LIMITS.title} characters; this is ${title.length}.`;
  }
  if (!persona) errors[ids.personaBlock] = 'Describe the agent in a sentence or two.';
  else if (persona.length > AGENT_LIMITS.persona) {
    errors[ids.personaBlock] = `At most 2,000 characters; this is ${persona.length}.`;
  }
  const long = skills.find((k) => k.length > AGENT_LIMITS.skill);
  if (skills.length > AGENT_LIMITS.skills) {
    errors[ids.skillsBlock] = `At most ${AGENT_LIMITS.skills} skills; these are ${skills.length}.`;
  } else if (long) {
    errors[ids.skillsBlock] =
      `Each skill at most ${AGENT_LIMITS.skill} characters; "${long.slice(0, 30)}…" is ${long.length}.`;
  }
  return errors;
}

export async function submitAgentEdit(services: Services, form: AgentForm): Promise<AgentFormOutcome> {
  const fail = (message: string): AgentFormOutcome => ({
    kind: 'errors',
    errors: { [AgentControlIds.titleBlock]: message },
  });
  const { meta } = form;
  if (!meta) return fail('This form is not one Orchestrate understands. Close it and click Edit again.');
  if (!(await mayManageRoster(services, form))) return fail(NOT_AN_APPROVER.replace(':no_entry: ', ''));
  const fields: AgentFields = {
    title: form.title.trim(),
    persona: form.persona.trim(),
    skills: [
      ...new Set(
        form.skills
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ],
  };
  const errors = agentFormErrors(fields);
  if (Object.keys(errors).length) return { kind: 'errors', errors };
  const saved = await editAgent(meta.agentId, meta.version, fields, form.userId);
  // Form errors are plain text: the reason in words, and what to do, since the form stays open.
  if (!saved.ok && saved.why === 'missing') return fail(AGENT_GONE);
  if (!saved.ok && saved.why === 'retired') {
    return fail(`${saved.agent.name} was retired meanwhile, so nothing was saved. Close this form.`);
  }
  if (!saved.ok) {
    return fail(
      `${saved.agent.name} was changed by someone else while this form was open, so nothing was saved. ` +
        'Close this form and open Edit again from the roster.',
    );
  }
  return {
    kind: 'redraw',
    page: meta.page,
    notice: agentSaved(saved.agent.name),
    onHome: meta.onHome,
    ...(meta.responseUrl ? { responseUrl: meta.responseUrl } : {}),
  };
}
