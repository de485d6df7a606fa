/**
 * The App Home tab: drawn when a person opens it (an approver's with the roster's Edit and Retire),
 * and its Details buttons, which open a run's detail modal. A click on the Home tab carries no
 * response_url, so a refusal is shown in a small modal instead of an ephemeral message.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { ActionIds, decodeControlValue } from '../blocks/actionIds.js';
import { noticeModal } from '../blocks/home.js';
import { CLICK_FAILED } from '../blocks/replies.js';
import type { Reply } from '../engine/usecases/guard.js';
import { publishHome, runDetailFor } from '../engine/usecases/home.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';
import { answerPrivately } from './actions.js';

export function register(app: App, services: Services): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    try {
      await publishHome(client, event.user, { approvers: services.config.approvers });
    } catch (error) {
      services.logger.warn(`could not publish the Home tab of ${event.user}: ${describeError(error)}`);
    }
  });

  app.action<BlockAction<ButtonAction>>(ActionIds.openRunDetail, async (args) => {
    await args.ack();
    const { body, action, context, client } = args;
    const open = (view: ModalView) => client.views.open({ trigger_id: body.trigger_id, view });
    // Bolt defines respond() only when the payload has a response_url, which Home tab clicks lack.
    const answer = async (reply: Reply) => {
      if (body.response_url) await answerPrivately(args.respond, reply);
      else await open(noticeModal(reply.text));
    };
    try {
      const outcome = await runDetailFor(services, {
        control: decodeControlValue(action.value),
        userId: body.user.id,
        botUserId: context.botUserId,
      });
      if (outcome.ok) await open(outcome.view);
      else await answer(outcome.reply);
    } catch (error) {
      services.logger.error(`${ActionIds.openRunDetail} failed: ${describeError(error)}`);
      await answer({ text: CLICK_FAILED }).catch(() => undefined);
    }
  });
}
