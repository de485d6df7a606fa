/**
 * The approvers' Edit button (under the answer to `/orchestrate approvers`) and its modal. Refusals
 * go to the clicker alone; once saved, the list they were looking at is shown again as it now is.
 */
import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { ApproverIds } from '../blocks/approvers.js';
import { CLICK_FAILED, MODAL_NOT_OPENED, SUBMISSION_FAILED } from '../blocks/replies.js';
import { approversModalFor, saveApprovers } from '../engine/usecases/approvers.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';
import { answerPrivately } from './actions.js';
import { replaceEphemeral } from './agents.js';

export function register(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>(ApproverIds.edit, async (args) => {
    await args.ack();
    const { body, context, client, respond } = args;
    try {
      const viewer = { userId: body.user.id, botUserId: context.botUserId };
      const outcome = await approversModalFor(services, viewer, body.response_url ?? null);
      if (outcome.kind === 'refused') {
        await answerPrivately(respond, { text: outcome.text });
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: outcome.view }).catch(async (error: unknown) => {
        // The trigger lives 3 s: a slow database can outlast it.
        services.logger.warn(`could not open the approvers modal: ${describeError(error)}`);
        await answerPrivately(respond, { text: MODAL_NOT_OPENED });
      });
    } catch (error) {
      services.logger.error(`${ApproverIds.edit} failed: ${describeError(error)}`);
      await answerPrivately(respond, { text: CLICK_FAILED }).catch(() => undefined);
    }
  });

  app.view<ViewSubmitAction>(ApproverIds.modal, async (args) => {
    const { body, view, context } = args;
    const picked = view.state.values[ApproverIds.pickerBlock]?.[ApproverIds.picker]?.selected_users ?? [];
    let acked = false;
    try {
      const outcome = await saveApprovers(services, { userId: body.user.id, botUserId: context.botUserId }, picked);
      if (outcome.kind === 'error') {
        await args.ack({ response_action: 'errors', errors: { [ApproverIds.pickerBlock]: outcome.text } });
        return;
      }
      await args.ack();
      acked = true;
      if (view.private_metadata) await replaceEphemeral(view.private_metadata, outcome.reply);
    } catch (error) {
      services.logger.error(`${ApproverIds.modal} failed: ${describeError(error)}`);
      // After the ack the list is saved and only the redraw was lost; before it, the form says what failed.
      if (!acked)
        await args.ack({ response_action: 'errors', errors: { [ApproverIds.pickerBlock]: SUBMISSION_FAILED } });
    }
  });
}
