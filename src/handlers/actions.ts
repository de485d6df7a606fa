/**
 * Buttons on the proposal message. Each one acks first, then checks, in order: that the button
 * is well-formed, that the orchestration still exists and is open, that the clicker has the
 * right, and that the click was drawn for the current revision. Every refusal is answered.
 */
import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import { ActionIds, decodeControlValue, type ControlValue } from '../blocks/actionIds.js';
import { STATUS_LABELS } from '../blocks/proposal.js';
import { mayAct } from '../engine/rights.js';
import { transition } from '../engine/status.js';
import { FINAL_STATUSES, Orchestration, type OrchestrationDoc } from '../models/orchestration.js';
import type { Services } from '../services.js';

type Checked = { doc: OrchestrationDoc; value: ControlValue; userId: string };

const say = (respond: RespondFn, text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });

/** The shared checks; answers the user and returns null when the click must change nothing. */
async function checkClick(
  services: Services,
  body: BlockAction,
  action: ButtonAction,
  respond: RespondFn,
  botUserId: string | undefined,
  { requireCurrentRevision }: { requireCurrentRevision: boolean },
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
    await say(respond, `This orchestration is no longer open: it is *${STATUS_LABELS[doc.status]}*.`);
    return null;
  }
  if (requireCurrentRevision && doc.revision !== value.r) {
    await say(respond, `This plan has changed since that button was drawn (you clicked revision ${value.r}; the current one is ${doc.revision}, shown in the message). Nothing was changed.`);
    return null;
  }
  return { doc, value, userId: body.user.id };
}

export function register(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>(ActionIds.approve, async ({ ack, body, action, respond, context }) => {
    await ack();
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
      const now = await Orchestration.findById(doc._id, { status: 1, revision: 1, approvedBy: 1 }).lean();
      const text =
        now && now.revision !== value.r
          ? 'This plan changed while you clicked; review the current revision before approving. Nothing was changed.'
          : `Someone got there first: the orchestration is *${STATUS_LABELS[now?.status ?? 'cancelled']}*.`;
      await say(respond, text);
      return;
    }
    await services.engine.announcer.refresh(doc._id);
    await services.engine.enqueueStart(String(doc._id));
  });

  app.action<BlockAction<ButtonAction>>(ActionIds.cancel, async ({ ack, body, action, respond, context }) => {
    await ack();
    const checked = await checkClick(services, body, action, respond, context.botUserId, { requireCurrentRevision: false });
    if (!checked) return;
    const cancelled = await services.engine.cancel(String(checked.doc._id), checked.userId);
    if (!cancelled) {
      const now = await Orchestration.findById(checked.doc._id, { status: 1 }).lean();
      await say(respond, `It had already finished: the orchestration is *${STATUS_LABELS[now?.status ?? 'completed']}*.`);
    }
  });
}
