/**
 * The short notes only one person sees (ephemeral answers to a command or a click, and modal
 * errors): why something was refused or failed, in words, always saying what was changed.
 */

import type { OrchestrationStatus } from '../engine/plan/status.js';
import { hasCode } from '../errors.js';
import { STATUS_LABELS } from './proposal.js';
import { safeMrkdwn } from './text.js';

export const USAGE = [
  'Usage: `/orchestrate <goal>`, e.g. `/orchestrate Research the competitive landscape for an offline-first ' +
    'meeting recorder and write a one-page positioning doc`. The CEO agent proposes roles, tickets and a budget; ' +
    'nothing runs until you approve.',
  '• `/orchestrate status`: your open orchestrations, with links to their proposals and their ids.',
  "• `/orchestrate cancel <link or id>`: cancels one of yours (approvers: anyone's), by a link to its proposal " +
    'message or by its id.',
  "• `/orchestrate agents`: the roster: each agent's persona, skills, models, tools, runs and spend.",
  '• `/orchestrate approvers`: who may approve here; approvers can change it.',
  '• `/orchestrate help`: this.',
  'A command is its word alone, or `cancel` with one link or id; anything longer is a goal, so ' +
    '`/orchestrate status of the EU launch: write a brief` plans that goal.',
].join('\n');

/** A single word that names no command: it is not planned either, since one word is no goal. */
export function unknownCommand(word: string): string {
  return `\`${safeMrkdwn(word, 40).replace(/`/g, "'")}\` is not a command Orchestrate knows.\n${USAGE}`;
}

export const CANCEL_NEEDS_REFERENCE =
  'Say which one: `/orchestrate cancel <link or id>`, with a link to its proposal message or its id. ' +
  '`/orchestrate status` lists your open orchestrations with both.';

export function notAReference(token: string): string {
  return (
    `\`${safeMrkdwn(token, 80).replace(/`/g, "'")}\` is neither a link to a proposal message nor an orchestration id ` +
    '(24 characters, 0-9 and a-f). `/orchestrate status` lists yours with both. Nothing was changed.'
  );
}

export const NO_SUCH_ORCHESTRATION =
  'No orchestration matches that link or id: check it is the proposal message (or a reply in its thread). ' +
  '`/orchestrate status` lists yours. Nothing was changed.';

export function cancelledByCommand(goal: string): string {
  return `:no_entry_sign: Cancelled: _${safeMrkdwn(goal, 200)}_. Its proposal message and thread say so.`;
}

export const LOOKUP_FAILED =
  ':warning: Orchestrate could not look that up (its database did not answer). Nothing was changed; try again ' +
  'in a moment.';

export const NOT_AN_APPROVER =
  ':no_entry: Only approvers (ORCHESTRATE_APPROVERS) can edit or retire agents. Nothing was changed.';

export const AGENT_GONE = 'That agent is no longer in the roster. Nothing was changed.';

export function agentRetiredMeanwhile(name: string, by: string | null): string {
  const who = by ? ` by <@${by}>` : '';
  return `:information_source: *${safeMrkdwn(name, 120)}* was already retired${who}. Nothing was changed.`;
}

export function agentEditedMeanwhile(name: string, by: string | null): string {
  const who = by ? ` by <@${by}>` : '';
  return (
    `:information_source: *${safeMrkdwn(name, 120)}* was changed meanwhile${who}, so nothing was changed. ` +
    'Here is the roster as it is now; try again from it.'
  );
}

export function agentSaved(name: string): string {
  return `:white_check_mark: Saved *${safeMrkdwn(name, 120)}*: plans made from now on see the new title, persona and skills.`;
}

export function agentRetired(name: string): string {
  return (
    `:wastebasket: Retired *${safeMrkdwn(name, 120)}*: it will not be proposed again. ` +
    'Runs that used it keep showing its name.'
  );
}

export const PLANNING_STARTED =
  ':hourglass_flowing_sand: Planning… The CEO agent is drafting a proposal; it will appear in this channel for ' +
  'review. Nothing runs until it is approved.';

export const REQUEST_NOT_RECORDED =
  ':warning: Orchestrate could not record your request (its database is not answering). Nothing was started; ' +
  'try again in a minute.';

export const REQUEST_QUEUED_LATE =
  ':hourglass_flowing_sand: Your request is recorded, but the job queue did not answer at once: planning will ' +
  'start within a minute, and the proposal will appear here as usual.';

export const QUEUED_LATE =
  'The job queue did not answer at once; it is recorded, and the run will go on within a minute by itself.';

export const CLICK_FAILED =
  ':warning: Orchestrate could not do that: something on its side did not answer (its database, or Slack). ' +
  'Nothing was changed that you cannot see in the proposal message; try again in a moment.';

export const SUBMISSION_FAILED =
  'Orchestrate could not save this (its database did not answer). Nothing was changed; try again in a moment.';

export const UNKNOWN_BUTTON =
  'That button is not one Orchestrate understands (it may come from an older version). Nothing was changed.';

export const MODAL_NOT_OPENED = 'Slack did not open the form in time. Please click again.';

export function goalTooLong(length: number, limit: number): string {
  return (
    `That goal is ${length} characters; the limit is ${limit}. ` +
    'Put the essentials in the command and details in a follow-up.'
  );
}

export function notOpen(status: OrchestrationStatus): string {
  return `This orchestration is no longer open: it is *${STATUS_LABELS[status]}*.`;
}

export function notEditable(status: OrchestrationStatus): string {
  return `The plan can no longer be edited: it is *${STATUS_LABELS[status]}*.`;
}

export function alreadyFinished(status: OrchestrationStatus): string {
  return status === 'cancelled'
    ? 'It was already cancelled; nothing more to stop.'
    : `It has already finished: the orchestration is *${STATUS_LABELS[status]}*. Nothing was changed.`;
}

export function invalidEdit(message: string): string {
  return `:warning: ${safeMrkdwn(message, 2500)} Nothing was changed.`;
}

export function askingAgain(revision: number): string {
  return `:hourglass_flowing_sand: Asking the CEO agent again… Its new plan will replace revision ${revision} in the proposal message.`;
}

/** Why planning produced no plan, for the requester. */
export function planningFailureText(error: unknown): string {
  if (hasCode(error, 'planning')) {
    // The violations quote what the LLM wrote: escaped, so that it can neither ping nor break the markup.
    const list = error.violations
      .slice(0, 5)
      .map((v) => `• ${safeMrkdwn(v, 300)}`)
      .join('\n');
    return (
      "The CEO agent's plan did not hold together, even after a repair attempt, so nothing was proposed. " +
      `Try rephrasing the goal.\n${list}`
    );
  }
  if (hasCode(error, 'budget_exceeded')) {
    return 'Planning would cost more than the default budget allows (ORCHESTRATE_DEFAULT_BUDGET_USD).';
  }
  if (hasCode(error, 'llm_call')) {
    return `The CEO agent could not be reached: ${safeMrkdwn(error.message, 500)}. Nothing was proposed; try again in a moment.`;
  }
  return 'Planning failed unexpectedly. Nothing was proposed; try again in a moment.';
}

/** Why the proposal could not be posted in the channel. */
export function proposalRefusedText(code: string, channelRefusal: boolean): string {
  return channelRefusal
    ? `I can't post in this channel (${code}). Invite me with \`/invite @Orchestrate\`, or run /orchestrate in a public channel.`
    : `Slack refused the proposal message (${code}).`;
}

export function gaveUpText(description: string): string {
  return `Orchestrate could not go on after several attempts (${description}). What was done is kept.`;
}
