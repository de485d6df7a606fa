/**
 * Buttons on the proposal message. Each one acks first, then checks, in order: that the button
 * is well-formed, that the orchestration still exists and is open, that the clicker has the
 * right, and that the click was drawn for the current revision. Every refusal is answered.
 */
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, RespondFn, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { ActionIds, decodeControlValue, type ControlValue } from '../blocks/actionIds.js';
import { askAgainModal, budgetModal, raiseCapModal, swapRoleModal } from '../blocks/modals.js';
import { STATUS_LABELS } from '../blocks/proposal.js';
import { stalePlanMessage, staleText } from '../blocks/stalePlan.js';
import { safeMrkdwn } from '../blocks/text.js';
import { dropTicket, revise, toggleDiscussion, toggleResearch } from '../engine/edits.js';
import type { Proposal } from '../engine/proposal.js';
import { rosterAgents, rosterChoices } from '../engine/roster.js';
import { mayAct } from '../engine/rights.js';
import { transition } from '../engine/status.js';
import { FINAL_STATUSES, Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import type { Services } from '../services.js';

type Checked = { doc: OrchestrationDoc; value: ControlValue; userId: string };

export const say = (respond: RespondFn, text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });

/** The shared checks; answers the user and returns null when the click must change nothing. */
async function checkClick(
  services: Services,
  body: BlockAction,
  action: ButtonAction,
  respond: RespondFn,
  botUserId: string | undefined,
  { requireCurrentRevision, closedText }: { requireCurrentRevision: boolean; closedText?: (doc: OrchestrationDoc) => string },
): Promise<Checked | null> {
  const value = decodeControlValue(action.value);
  if (!value) {
    await say(respond, 'That button is not one Orchestrate understands (it may come from an older version). Nothing was changed.');
    return null;
  }
  const doc = await Orchestration.findById(value.o).lean<OrchestrationDoc>();
  if (!doc) {
    await say(respond, 'That orchestration no longer exists. Nothing was changed.');
    return null;
  }
  const rights = mayAct(body.user.id, doc.requesterId, services.config.approvers, botUserId);
  if (!rights.allowed) {
    await say(respond, `:no_entry: ${rights.reason}`);
    return null;
  }
  if (FINAL_STATUSES.includes(doc.status)) {
    await say(respond, closedText?.(doc) ?? `This orchestration is no longer open: it is *${STATUS_LABELS[doc.status]}*.`);
    return null;
  }
  if (requireCurrentRevision && doc.revision !== value.r) {
    await answerStale(services, respond, value.r, doc);
    return null;
  }
  return { doc, value, userId: body.user.id };
}

function alreadyFinished(doc: OrchestrationDoc): string {
  return doc.status === 'cancelled'
    ? 'It was already cancelled; nothing more to stop.'
    : `It has already finished: the orchestration is *${STATUS_LABELS[doc.status]}*. Nothing was changed.`;
}

/**
 * A click drawn for an older revision: show the clicker the current plan, and redraw the
 * message in case it is the one that is behind (a redraw Slack refused earlier).
 */
async function answerStale(services: Services, respond: RespondFn, clicked: number, doc: OrchestrationDoc): Promise<void> {
  const last = doc.history.at(-1);
  const message = doc.proposal
    ? stalePlanMessage(clicked, { revision: doc.revision, proposal: doc.proposal, maxUsd: doc.budget.maxUsd, lastChange: last ? { change: last.change, by: last.by } : null })
    : { text: staleText(clicked, doc.revision), blocks: [] };
  await respond({ response_type: 'ephemeral', replace_original: false, text: message.text, ...(message.blocks.length ? { blocks: message.blocks } : {}) });
  await services.engine.announcer.refresh(doc._id);
}

/** An edit that needs no form: check, revise, redraw, or say why not. */
async function applyEdit(
  services: Services,
  checked: Checked,
  respond: RespondFn,
  change: string,
  edit: (p: Proposal) => Proposal,
): Promise<void> {
  const { doc, value, userId } = checked;
  if (doc.status !== 'proposed') {
    await say(respond, `The plan can no longer be edited: it is *${STATUS_LABELS[doc.status]}*.`);
    return;
  }
  const roster = (await rosterAgents()).map((a) => a.name);
  const outcome = await revise(doc._id, value.r, userId, change, edit, roster);
  if (outcome.ok) {
    await services.engine.announcer.refresh(doc._id);
    return;
  }
  if (outcome.reason === 'stale' && outcome.doc) return answerStale(services, respond, value.r, outcome.doc);
  await say(respond, outcome.reason === 'invalid' ? `:warning: ${safeMrkdwn(outcome.message, 2500)} Nothing was changed.` : outcome.message);
}

const FAILED =
  ':warning: Orchestrate could not do that: something on its side did not answer (its database, or Slack). Nothing was changed that you cannot see in the proposal message; try again in a moment.';

export function register(app: App, services: Services): void {
  /** Every button: acked first; whatever then fails, the clicker is told, never left with a button that did nothing. */
  const onClick = (actionId: string, handle: (args: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => Promise<void>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack();
      try {
        await handle(args);
      } catch (error) {
        services.logger.error(`${actionId} failed: ${(error as Error).message}`);
        await say(args.respond, FAILED).catch(() => undefined);
      }
    });

  const editAction = (actionId: string, change: (k: string | undefined) => string, edit: (k: string | undefined) => (p: Proposal) => Proposal) =>
    onClick(actionId, async ({ body, action, respond, context }) => {
      const checked = await checkClick(services, body, action, respond, context.botUserId, { requireCurrentRevision: true });
      if (!checked) return;
      await applyEdit(services, checked, respond, change(checked.value.k), edit(checked.value.k));
    });

  editAction(ActionIds.dropTicket, (k) => `dropped ticket ${k}`, (k) => (p) => dropTicket(p, k ?? ''));
  editAction(ActionIds.toggleDiscussion, () => 'toggled discussion', () => toggleDiscussion);
  editAction(ActionIds.toggleResearch, () => 'toggled research', () => toggleResearch);

  /** Buttons that open a modal: checked first, then opened at once (a trigger_id lives 3 seconds). */
  const modalAction = (actionId: string, build: (checked: Checked, body: BlockAction) => Promise<ModalView | string>) =>
    onClick(actionId, async ({ body, action, respond, context, client }) => {
      const checked = await checkClick(services, body, action, respond, context.botUserId, { requireCurrentRevision: true });
      if (!checked) return;
      if (checked.doc.status !== 'proposed') {
        await say(respond, `The plan can no longer be edited: it is *${STATUS_LABELS[checked.doc.status]}*.`);
        return;
      }
      const view = await build(checked, body);
      if (typeof view === 'string') {
        await say(respond, view);
        return;
      }
      try {
        await client.views.open({ trigger_id: body.trigger_id, view });
      } catch (error) {
        services.logger.warn(`could not open a modal: ${(error as Error).message}`);
        await say(respond, 'Slack did not open the form in time. Please click again.');
      }
    });

  modalAction(ActionIds.swapRole, async ({ doc, value }) => {
    const role = doc.proposal!.roles.find((r) => r.key === value.k);
    if (!role) return 'That role is not in this plan any more.';
    const roster = rosterChoices(await rosterAgents(), role.existingAgent);
    return swapRoleModal(value, role, roster.map((a) => ({ name: a.name, title: a.title })));
  });
  modalAction(ActionIds.setBudget, async ({ doc, value }) =>
    budgetModal(value, doc.budget.maxUsd, services.config.budget.maxUsd, doc.budget.spentUsd),
  );
  modalAction(ActionIds.askAgain, async ({ value }, body) => askAgainModal({ ...value, u: body.response_url }));

  onClick(ActionIds.raiseCap, async ({ body, action, respond, context, client }) => {
    const value = decodeControlValue(action.value);
    const doc = value ? await Orchestration.findById(value.o).lean<OrchestrationDoc>() : null;
    if (!value || !doc) {
      await say(respond, 'That run no longer exists. Nothing was changed.');
      return;
    }
    const rights = mayAct(body.user.id, doc.requesterId, services.config.approvers, context.botUserId);
    if (!rights.allowed) {
      await say(respond, `:no_entry: ${rights.reason}`);
      return;
    }
    if (doc.status !== 'failed' || !doc.budgetStop) {
      await say(respond, `This run is not waiting for a higher cap: it is *${STATUS_LABELS[doc.status]}*.`);
      return;
    }
    try {
      await client.views.open({
        trigger_id: body.trigger_id,
        view: raiseCapModal(value, doc.budget.maxUsd, services.config.budget.maxUsd, doc.budget.spentUsd),
      });
    } catch (error) {
      services.logger.warn(`could not open a modal: ${(error as Error).message}`);
      await say(respond, 'Slack did not open the form in time. Please click again.');
    }
  });

  onClick(ActionIds.approve, async ({ body, action, respond, context }) => {
    const checked = await checkClick(services, body, action, respond, context.botUserId, { requireCurrentRevision: true });
    if (!checked) return;
    const { doc, value, userId } = checked;
    if (doc.status !== 'proposed') {
      await say(respond, `This plan was already approved${doc.approvedBy ? ` by <@${doc.approvedBy}>` : ''}; it is *${STATUS_LABELS[doc.status]}*.`);
      return;
    }
    const approved = await transition(doc._id, 'proposed', 'approved', {
      by: userId,
      reason: `approved revision ${value.r}`,
      where: { revision: value.r },
      set: { approvedBy: userId, approvedRevision: value.r, approvedAt: new Date() },
    });
    if (!approved) {
      // Lost a race: someone else approved, edited or cancelled in the meantime.
      const now = await Orchestration.findById(doc._id).lean<OrchestrationDoc>();
      if (now && now.status === 'proposed' && now.revision !== value.r) return answerStale(services, respond, value.r, now);
      await say(respond, `Someone got there first: the orchestration is *${STATUS_LABELS[now?.status ?? 'cancelled']}*. Nothing was changed.`);
      return;
    }
    await services.engine.announcer.refresh(doc._id);
    await services.engine.enqueueStart(String(doc._id));
  });

  onClick(ActionIds.cancel, async ({ body, action, respond, context }) => {
    const checked = await checkClick(services, body, action, respond, context.botUserId, {
      requireCurrentRevision: false,
      closedText: alreadyFinished,
    });
    if (!checked) return;
    const cancelled = await services.engine.cancel(String(checked.doc._id), checked.userId);
    if (!cancelled) {
      const now = await Orchestration.findById(checked.doc._id).lean<OrchestrationDoc>();
      if (now) await say(respond, alreadyFinished(now));
    }
  });
}
