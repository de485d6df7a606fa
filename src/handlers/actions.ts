/**
 * Buttons. Each listener acks first, parses the click, calls one use case and answers with what
 * it returns; whatever fails behind it, the clicker is told, never left with a button that did
 * nothing.
 */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  RespondFn,
  SlackActionMiddlewareArgs,
} from '@slack/bolt';
import { ActionIds, decodeControlValue } from '../blocks/actionIds.js';
import { AgentIds } from '../blocks/agentIds.js';
import { ApproverIds } from '../blocks/approvers.js';
import { ContextIds } from '../blocks/contextIds.js';
import { CLICK_FAILED, MODAL_NOT_OPENED, UNKNOWN_BUTTON } from '../blocks/replies.js';
import { addContextModalFor } from '../engine/usecases/addContext.js';
import { followUpModalFor, rerunModalFor, settleOutdatedClick } from '../engine/usecases/afterRun.js';
import { approvePlan } from '../engine/usecases/approve.js';
import { askAgainModalFor } from '../engine/usecases/askAgain.js';
import { cancelOrchestration } from '../engine/usecases/cancel.js';
import { answersModalFor, skipQuestions } from '../engine/usecases/clarify.js';
import { editOutputsModalFor } from '../engine/usecases/editOutputs.js';
import { editByClick, editModal, type ModalOutcome } from '../engine/usecases/editPlan.js';
import type { Click, Reply } from '../engine/usecases/guard.js';
import { raiseCapModalFor } from '../engine/usecases/raiseCap.js';
import { rateDeliverable } from '../engine/usecases/rate.js';
import { reviewGatesModalFor } from '../engine/usecases/reviewGates.js';
import { acceptClick, controlRun, reviewModalFor } from '../engine/usecases/steer.js';
import { saveTemplateModalFor } from '../engine/usecases/templates.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** An answer only the clicker sees, leaving the message they clicked as it is. */
export const answerPrivately = (respond: RespondFn, reply: Reply) =>
  respond({
    response_type: 'ephemeral',
    replace_original: false,
    text: reply.text,
    ...(reply.blocks ? { blocks: reply.blocks } : {}),
  });

type AnyClick = Pick<ClickArgs, 'respond' | 'client'> & {
  body: { response_url?: string; user: { id: string }; channel?: { id?: string } };
};

/** The same, for a click that came without a response_url (Bolt then has no respond): an ephemeral message. */
async function answerClicker({ body, respond, client }: AnyClick, reply: Reply): Promise<void> {
  if (body.response_url && respond) {
    await answerPrivately(respond, reply);
    return;
  }
  const channel = body.channel?.id;
  if (!channel) return;
  await client.chat.postEphemeral({
    channel,
    user: body.user.id,
    text: reply.text,
    ...(reply.blocks ? { blocks: reply.blocks } : {}),
  });
}

function clickOf({ body, action, context }: ClickArgs): Click {
  return {
    control: decodeControlValue(action.value),
    userId: body.user.id,
    botUserId: context.botUserId,
    ...(body.response_url ? { responseUrl: body.response_url } : {}),
  };
}

export function register(app: App, services: Services): void {
  const onClick = (actionId: string, handle: (args: ClickArgs) => Promise<Reply | null>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack();
      try {
        const reply = await handle(args);
        if (reply) await answerClicker(args, reply);
      } catch (error) {
        services.logger.error(`${actionId} failed: ${describeError(error)}`);
        await answerClicker(args, { text: CLICK_FAILED }).catch(() => undefined);
      }
    });

  /** Buttons that open a form: checked first, then opened at once (a trigger_id lives 3 seconds). */
  const onModalClick = (actionId: string, prepare: (click: Click) => Promise<ModalOutcome>) =>
    onClick(actionId, async (args) => {
      const outcome = await prepare(clickOf(args));
      if (!outcome.ok) return outcome.reply;
      try {
        await args.client.views.open({ trigger_id: args.body.trigger_id, view: outcome.view });
        return null;
      } catch (error) {
        services.logger.warn(`could not open a modal: ${describeError(error)}`);
        return { text: MODAL_NOT_OPENED };
      }
    });

  onClick(ActionIds.approve, (args) => approvePlan(services, clickOf(args)));
  onClick(ActionIds.cancel, (args) => cancelOrchestration(services, clickOf(args)));
  onClick(ActionIds.dropTicket, (args) => editByClick(services, clickOf(args), 'dropTicket'));
  onClick(ActionIds.toggleDiscussion, (args) => editByClick(services, clickOf(args), 'toggleDiscussion'));
  onClick(ActionIds.toggleResearch, (args) => editByClick(services, clickOf(args), 'toggleResearch'));
  onModalClick(ActionIds.swapRole, (click) => editModal(services, click, 'swapRole'));
  onModalClick(ActionIds.setBudget, (click) => editModal(services, click, 'setBudget'));
  onModalClick(ActionIds.askAgain, (click) => askAgainModalFor(services, click));
  onModalClick(ActionIds.editOutputs, (click) => editOutputsModalFor(services, click));
  onModalClick(ActionIds.reviewGates, (click) => reviewGatesModalFor(services, click));
  onClick(ActionIds.togglePause, (args) => editByClick(services, clickOf(args), 'togglePauseForPeople'));
  // A finished run: re-run a ticket, settle what that left out of date, follow up on the gaps.
  onModalClick(ActionIds.rerunStep, (click) => rerunModalFor(services, click));
  onClick(ActionIds.rerunDependents, (args) => settleOutdatedClick(services, clickOf(args), 'rerun'));
  onClick(ActionIds.keepDependents, (args) => settleOutdatedClick(services, clickOf(args), 'keep'));
  onModalClick(ActionIds.followUp, (click) => followUpModalFor(services, click));
  onModalClick(ActionIds.saveTemplate, (click) => saveTemplateModalFor(services, click));
  // The CEO agent's questions before planning.
  onModalClick(ActionIds.answerQuestions, (click) => answersModalFor(services, click));
  onClick(ActionIds.skipQuestions, (args) => skipQuestions(services, clickOf(args)));
  // People steering a run.
  onClick(ActionIds.startWork, (args) => controlRun(services, clickOf(args), 'startWork'));
  onClick(ActionIds.pauseRun, (args) => controlRun(services, clickOf(args), 'pause'));
  onClick(ActionIds.resumeRun, (args) => controlRun(services, clickOf(args), 'resume'));
  onClick(ActionIds.acceptResult, (args) => acceptClick(services, clickOf(args)));
  onModalClick(ActionIds.reworkResult, (click) => reviewModalFor(services, click, 'rework'));
  onModalClick(ActionIds.editResult, (click) => reviewModalFor(services, click, 'edit'));
  onModalClick(ActionIds.raiseCap, (click) => raiseCapModalFor(services, click));
  onModalClick(ContextIds.open, (click) => addContextModalFor(services, click));

  // The thumbs under the deliverable: a feedback_buttons element, whose click carries its value.
  app.action(ActionIds.rateDeliverable, async (args) => {
    await args.ack();
    const clicker = args as unknown as AnyClick;
    try {
      const reply = await rateDeliverable((args.action as { value?: string }).value, args.body.user.id);
      await answerClicker(clicker, reply);
    } catch (error) {
      services.logger.error(`${ActionIds.rateDeliverable} failed: ${describeError(error)}`);
      await answerClicker(clicker, { text: CLICK_FAILED }).catch(() => undefined);
    }
  });

  // A button no listener knows (an older version's, say) is answered rather than left to time out.
  const known = new Set<string>([
    ...Object.values(ActionIds),
    ContextIds.open,
    ...Object.values(AgentIds),
    ApproverIds.edit,
  ]);
  app.action({ action_id: new RegExp(`^(?!(${[...known].map(escapeRegExp).join('|')})$)`) }, async (args) => {
    await args.ack();
    await answerClicker(args as unknown as AnyClick, { text: UNKNOWN_BUTTON }).catch(() => undefined);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
