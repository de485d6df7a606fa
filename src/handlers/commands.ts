/**
 * The /orchestrate slash command: acknowledge at once with an ephemeral "planning…" note,
 * then record the orchestration and hand planning to a job, so a dead process loses nothing.
 */
import type { App } from '@slack/bolt';
import type { Services } from '../services.js';
import { Orchestration } from '../models/orchestration.js';
import { MAX_GOAL_CHARS } from '../engine/proposal.js';
import { decodeSlackEntities } from '../blocks/text.js';

export const USAGE =
  'Usage: `/orchestrate <goal>`, e.g. `/orchestrate Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc`. ' +
  'The CEO agent proposes roles, tickets and a budget; nothing runs until you approve.';

export function register(app: App, services: Services): void {
  app.command('/orchestrate', async ({ command, ack, respond }) => {
    const goal = decodeSlackEntities(command.text).trim();
    if (!goal || /^help$/i.test(goal)) {
      await ack({ response_type: 'ephemeral', text: USAGE });
      return;
    }
    if (goal.length > MAX_GOAL_CHARS) {
      await ack({
        response_type: 'ephemeral',
        text: `That goal is ${goal.length} characters; the limit is ${MAX_GOAL_CHARS}. Put the essentials in the command and details in a follow-up.`,
      });
      return;
    }
    await ack({
      response_type: 'ephemeral',
      text: ':hourglass_flowing_sand: Planning… The CEO agent is drafting a proposal; it will appear in this channel for review. Nothing runs until it is approved.',
    });
    try {
      const doc = await Orchestration.create({
        slackTeamId: command.team_id ?? null,
        requesterId: command.user_id,
        channelId: command.channel_id,
        goal,
        status: 'planning',
        transitions: [],
        budget: { maxUsd: services.config.budget.defaultUsd, spentUsd: 0, reservedUsd: 0, warned: false },
      });
      await services.engine.enqueuePlan(String(doc._id), command.response_url);
    } catch (error) {
      services.logger.error(`could not start planning: ${(error as Error).message}`);
      await respond({
        response_type: 'ephemeral',
        text: ':warning: Orchestrate could not record your request (its database is not answering). Nothing was started; try again in a minute.',
      });
    }
  });
}
