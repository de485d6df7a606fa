/**
 * What every click and form must pass before it may change anything: a control Orchestrate
 * drew, an orchestration that exists and is open, a person with the right, and (for edits) the
 * revision the control was drawn for. Each refusal is a reply for the person, never silence.
 */

import type { KnownBlock } from '@slack/types';
import type { ControlValue } from '../../blocks/actionIds.js';
import { notOpen, UNKNOWN_BUTTON } from '../../blocks/replies.js';
import { stalePlanMessage, staleText } from '../../blocks/stalePlan.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { isFinal } from '../plan/status.js';
import { loadOrchestration } from '../run/transition.js';

/** An answer only the person who clicked sees. */
export interface Reply {
  text: string;
  blocks?: KnownBlock[];
}

/** A click on a control, as the listener parsed it. */
export interface Click {
  /** The decoded control value, or null when it was not one Orchestrate draws. */
  control: ControlValue | null;
  userId: string;
  /** The bot's own user id: the bot never acts on its own proposals. */
  botUserId: string | undefined;
  responseUrl?: string;
}

export type Checked = { ok: true; doc: OrchestrationDoc; control: ControlValue } | { ok: false; reply: Reply };

export interface GuardOptions {
  requireCurrentRevision: boolean;
  closedText?: (doc: OrchestrationDoc) => string;
  /** What to say when the orchestration is gone. */
  missingText?: string;
}

export const text = (t: string): Reply => ({ text: t });

/** Two independent reads, side by side: a click's answer waits for the slower, not for both. */
function withApprovers(services: Services, id: OrchestrationId) {
  return Promise.all([loadOrchestration(id), approversHere(services.config.approvers)]);
}

export async function checkClick(services: Services, click: Click, options: GuardOptions): Promise<Checked> {
  const { control } = click;
  if (!control) return { ok: false, reply: text(UNKNOWN_BUTTON) };
  const [doc, approvers] = await withApprovers(services, control.orchestrationId);
  if (!doc)
    return {
      ok: false,
      reply: text(options.missingText ?? 'That orchestration no longer exists. Nothing was changed.'),
    };
  const rights = mayAct(click.userId, doc.requesterId, approvers, click.botUserId);
  if (!rights.allowed) return { ok: false, reply: text(`:no_entry: ${rights.reason}`) };
  if (isFinal(doc.status)) return { ok: false, reply: text(options.closedText?.(doc) ?? notOpen(doc.status)) };
  if (options.requireCurrentRevision && doc.revision !== control.revision) {
    return { ok: false, reply: await answerStale(services, control.revision, doc) };
  }
  return { ok: true, doc, control };
}

/**
 * A click drawn for an older revision: show the clicker the current plan, and redraw the
 * message in case it is the one that is behind (a redraw Slack refused earlier).
 */
export async function answerStale(services: Services, clicked: number, doc: OrchestrationDoc): Promise<Reply> {
  const last = doc.history.at(-1);
  const message = doc.proposal
    ? stalePlanMessage(clicked, {
        revision: doc.revision,
        proposal: doc.proposal,
        maxUsd: doc.budget.maxUsd,
        lastChange: last ? { change: last.change, by: last.by } : null,
      })
    : { text: staleText(clicked, doc.revision), blocks: [] };
  await services.engine.redraw(orchestrationIdOf(doc));
  return message.blocks.length ? message : { text: message.text };
}

/** Errors to show in a modal, keyed by the block they are about; the modal stays open. */
export type FormErrors = Record<string, string>;

/** A form (a modal's submission) is checked like a click, with its errors shown in the modal. */
export type CheckedForm = { ok: true; doc: OrchestrationDoc; control: ControlValue };

export async function checkForm(
  services: Services,
  click: Click,
  errorBlock: string,
): Promise<CheckedForm | { ok: false; errors: FormErrors }> {
  const fail = (message: string) => ({ ok: false as const, errors: { [errorBlock]: message } });
  const { control } = click;
  if (!control) return fail('This form is not one Orchestrate understands. Close it and click the button again.');
  const [doc, approvers] = await withApprovers(services, control.orchestrationId);
  if (!doc?.proposal) return fail('That orchestration no longer exists.');
  const rights = mayAct(click.userId, doc.requesterId, approvers, click.botUserId);
  if (!rights.allowed) return fail(rights.reason.replace(/<@(\w+)>/g, 'the requester'));
  if (doc.status !== 'proposed') return fail('The plan can no longer be edited: it was approved or closed.');
  if (doc.revision !== control.revision) {
    return fail(
      `The plan changed while this form was open (it is now revision ${doc.revision}). ` +
        'Close this and open it again from the current plan.',
    );
  }
  return { ok: true, doc, control };
}
