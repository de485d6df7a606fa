/**
 * The roster's buttons (Edit, Retire, paging) and the Edit modal, wherever the roster is drawn:
 * in the ephemeral answer to `/orchestrate agents`, redrawn through its response_url, or on the
 * Home tab, republished. Refusals go to the clicker only: privately under a message, in a small
 * modal on the Home tab (which has no response_url).
 */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { AgentControlIds } from '../blocks/agentIds.js';
import { decodeAgentControl, decodeAgentFormMeta, decodePage } from '../blocks/agents.js';
import { noticeModal } from '../blocks/home.js';
import { CLICK_FAILED, MODAL_NOT_OPENED, SUBMISSION_FAILED } from '../blocks/replies.js';
import {
  type AgentClick,
  type AgentOutcome,
  editAgentModalFor,
  retireAgentByClick,
  rosterReply,
  submitAgentEdit,
} from '../engine/usecases/agents.js';
import { publishHome } from '../engine/usecases/home.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';
import { answerPrivately } from './actions.js';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

/** Replaces the ephemeral roster a click or form came from (a response_url takes blocks, with replace_original). */
export async function replaceEphemeral(responseUrl: string, message: { text: string; blocks?: KnownBlock[] }) {
  const res = await fetch(responseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: true, ...message }),
  });
  if (!res.ok) throw new Error(`response_url answered ${res.status}`);
}

export function register(app: App, services: Services): void {
  const { approvers } = services.config;

  /** Where a click came from, and who made it. */
  const clickOf = (args: ClickArgs): AgentClick => ({
    control: decodeAgentControl(args.action.value),
    userId: args.body.user.id,
    botUserId: args.context.botUserId,
    onHome: args.body.view?.type === 'home',
    ...(args.body.response_url ? { responseUrl: args.body.response_url } : {}),
  });

  /** The roster again where it was clicked, at `page`, with what happened above it. */
  const redraw = async (args: ClickArgs, page: number, notice: string | null) => {
    const userId = args.body.user.id;
    if (args.body.view?.type === 'home') {
      await publishHome(args.client, userId, { approvers, rosterPage: page, rosterNotice: notice });
      return;
    }
    const message = await rosterReply(services, { userId, botUserId: args.context.botUserId }, page, notice);
    await args.respond({ response_type: 'ephemeral', replace_original: true, ...message });
  };

  /** A note for the clicker alone, leaving the roster as it is. */
  const tell = async (args: ClickArgs, text: string) => {
    if (args.body.response_url) await answerPrivately(args.respond, { text });
    else await args.client.views.open({ trigger_id: args.body.trigger_id, view: noticeModal(text) });
  };

  const answer = (args: ClickArgs, outcome: AgentOutcome) =>
    outcome.kind === 'redraw' ? redraw(args, outcome.page, outcome.notice) : tell(args, outcome.text);

  /** Every roster click: acked first, and whatever fails behind it, the clicker is told. */
  const onClick = (actionId: string, handle: (args: ClickArgs) => Promise<void>) =>
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack();
      try {
        await handle(args);
      } catch (error) {
        services.logger.error(`${actionId} failed: ${describeError(error)}`);
        await tell(args, CLICK_FAILED).catch(() => undefined);
      }
    });

  onClick(AgentControlIds.edit, async (args) => {
    const outcome = await editAgentModalFor(services, clickOf(args));
    if (outcome.kind !== 'open') return answer(args, outcome);
    try {
      await args.client.views.open({ trigger_id: args.body.trigger_id, view: outcome.view });
    } catch (error) {
      // The trigger lives 3 s: a slow database can outlast it. Say so rather than fail silently.
      services.logger.warn(`could not open the Edit agent modal: ${describeError(error)}`);
      if (args.body.response_url) await answerPrivately(args.respond, { text: MODAL_NOT_OPENED });
    }
  });

  onClick(AgentControlIds.retire, async (args) => answer(args, await retireAgentByClick(services, clickOf(args))));

  for (const paging of [AgentControlIds.previousPage, AgentControlIds.nextPage]) {
    onClick(paging, (args) => redraw(args, decodePage(args.action.value) ?? 0, null));
  }

  app.view<ViewSubmitAction>(AgentControlIds.editModal, async (args) => {
    const { body, view, context, client } = args;
    const values = view.state.values;
    const read = (block: string, action: string) => values[block]?.[action]?.value ?? '';
    const ids = AgentControlIds;
    let acked = false;
    try {
      const outcome = await submitAgentEdit(services, {
        meta: decodeAgentFormMeta(view.private_metadata),
        userId: body.user.id,
        botUserId: context.botUserId,
        title: read(ids.titleBlock, ids.titleInput),
        persona: read(ids.personaBlock, ids.personaInput),
        skills: read(ids.skillsBlock, ids.skillsInput),
      });
      if (outcome.kind === 'errors') {
        await args.ack({ response_action: 'errors', errors: outcome.errors });
        return;
      }
      await args.ack();
      acked = true;
      const userId = body.user.id;
      if (outcome.onHome) {
        await publishHome(client, userId, { approvers, rosterPage: outcome.page, rosterNotice: outcome.notice });
      } else if (outcome.responseUrl) {
        const viewer = { userId, botUserId: context.botUserId };
        await replaceEphemeral(outcome.responseUrl, await rosterReply(services, viewer, outcome.page, outcome.notice));
      }
    } catch (error) {
      services.logger.error(`${ids.editModal} failed: ${describeError(error)}`);
      // After the ack the edit is saved and only the redraw was lost; before it, the form says what failed.
      if (!acked) await args.ack({ response_action: 'errors', errors: { [ids.titleBlock]: SUBMISSION_FAILED } });
    }
  });
}
