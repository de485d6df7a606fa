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
import { CLICK_FAILED, MODAL_NOT_OPENED } from '../blocks/replies.js';
import { approvePlan } from '../engine/usecases/approve.js';
import { askAgainModalFor } from '../engine/usecases/askAgain.js';
import { cancelOrchestration } from '../engine/usecases/cancel.js';
import { editByClick, editModal, type ModalOutcome } from '../engine/usecases/editPlan.js';
import type { Click, Reply } from '../engine/usecases/guard.js';
import { raiseCapModalFor } from '../engine/usecases/raiseCap.js';
import { rateDeliverable } from '../engine/usecases/rate.js';
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
        if (reply) await answerPrivately(args.respond, reply);
      } catch (error) {
        services.logger.error(`${actionId} failed: ${describeError(error)}`);
        await answerPrivately(args.respond, { text: CLICK_FAILED }).catch(() => undefined);
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
  onModalClick(ActionIds.raiseCap, (click) => raiseCapModalFor(services, click));

  // The thumbs under the deliverable: a feedback_buttons element, whose click carries its value.
  app.action(ActionIds.rateDeliverable, async ({ ack, body, action, respond }) => {
    await ack();
    try {
      const reply = await rateDeliverable((action as { value?: string }).value, body.user.id);
      await answerPrivately(respond, reply);
    } catch (error) {
      services.logger.error(`${ActionIds.rateDeliverable} failed: ${describeError(error)}`);
      await answerPrivately(respond, { text: CLICK_FAILED }).catch(() => undefined);
    }
  });
}
