/**
 * The request: /orchestrate <goal>. The command text is read at once (usage, a goal too long, or
 * a goal), so that the command is acknowledged within Slack's 3 s; the orchestration is then
 * recorded and planning handed to a job, so that a dead process loses nothing.
 */
import {
  goalTooLong,
  PLANNING_STARTED,
  REQUEST_NOT_RECORDED,
  REQUEST_QUEUED_LATE,
  USAGE,
} from '../../blocks/replies.js';
import { decodeSlackEntities } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import { Orchestration } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { MAX_GOAL_CHARS } from '../plan/proposal.js';

export type ParsedRequest = { kind: 'answer'; text: string } | { kind: 'goal'; goal: string; ack: string };

/** What the command asks for, and what to acknowledge it with. Pure. */
export function parseRequest(commandText: string): ParsedRequest {
  const goal = decodeSlackEntities(commandText).trim();
  if (!goal || /^help$/i.test(goal)) return { kind: 'answer', text: USAGE };
  if (goal.length > MAX_GOAL_CHARS) return { kind: 'answer', text: goalTooLong(goal.length, MAX_GOAL_CHARS) };
  return { kind: 'goal', goal, ack: PLANNING_STARTED };
}

export interface RequestInput {
  goal: string;
  userId: string;
  channelId: string;
  teamId: string | null;
  responseUrl: string;
}

/** Records the orchestration and enqueues its planning. Returns the id, or a note for the requester when that failed. */
export async function startRequest(
  services: Services,
  input: RequestInput,
): Promise<{ ok: true; id: OrchestrationId; text?: string } | { ok: false; text: string }> {
  let id: OrchestrationId;
  try {
    const doc = await Orchestration.create({
      slackTeamId: input.teamId,
      requesterId: input.userId,
      channelId: input.channelId,
      goal: input.goal,
      status: 'planning',
      transitions: [],
      budget: { maxUsd: services.config.budget.defaultUsd, spentUsd: 0, reservedUsd: 0, warned: false },
      responseUrl: input.responseUrl,
    });
    id = orchestrationIdOf(doc);
  } catch (error) {
    services.logger.error(`could not record a request: ${describeError(error)}`);
    return { ok: false, text: REQUEST_NOT_RECORDED };
  }
  try {
    await services.engine.enqueuePlan(id, input.responseUrl);
    return { ok: true, id };
  } catch (error) {
    // Recorded, so the engine's sweep gives it a planning job: say so, not "nothing was started".
    services.logger.warn(`could not queue the planning of ${id} at once: ${describeError(error)}`);
    return { ok: true, id, text: REQUEST_QUEUED_LATE };
  }
}
