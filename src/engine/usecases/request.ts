/**
 * The request: /orchestrate <goal>, or one of its sub-commands. The command text is read at once
 * (usage, a sub-command, a goal too long, or a goal), so that the command is acknowledged within
 * Slack's 3 s; a goal's orchestration is then recorded and planning handed to a job, so that a
 * dead process loses nothing.
 */
import {
  CANCEL_NEEDS_REFERENCE,
  goalTooLong,
  notAReference,
  PLANNING_STARTED,
  REQUEST_NOT_RECORDED,
  REQUEST_QUEUED_LATE,
  USAGE,
  unknownCommand,
} from '../../blocks/replies.js';
import { decodeSlackEntities } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import { Orchestration } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { MAX_GOAL_CHARS } from '../plan/proposal.js';
import { type OrchestrationRef, parseOrchestrationRef } from './orchestrationRef.js';

export type ParsedRequest =
  | { kind: 'answer'; text: string }
  | { kind: 'goal'; goal: string; ack: string }
  | { kind: 'agents' }
  | { kind: 'approvers' }
  | { kind: 'status' }
  | { kind: 'cancel'; ref: OrchestrationRef }
  | { kind: 'use'; name: string; args: string };

/**
 * A sub-command: its word, and what must follow it. Text whose first word is a sub-command's but
 * where something else follows is a goal ("status of the EU launch: write a brief").
 */
interface SubCommand {
  /** The first word, in lower case. */
  word: string;
  /** What may follow the word (trimmed) for the text to be this sub-command. */
  takes: RegExp;
  read(rest: string): ParsedRequest;
}

const NOTHING = /^$/;
/** Nothing (then the sub-command asks for it) or a single token. */
const AT_MOST_ONE_TOKEN = /^\S*$/;

function readCancel(rest: string): ParsedRequest {
  if (!rest) return { kind: 'answer', text: CANCEL_NEEDS_REFERENCE };
  const ref = parseOrchestrationRef(rest);
  return ref ? { kind: 'cancel', ref } : { kind: 'answer', text: notAReference(rest) };
}

/** The sub-commands, in the order the usage lists them. A new one is a row here and a kind above. */
const SUB_COMMANDS: readonly SubCommand[] = [
  { word: 'help', takes: NOTHING, read: () => ({ kind: 'answer', text: USAGE }) },
  { word: 'status', takes: NOTHING, read: () => ({ kind: 'status' }) },
  { word: 'cancel', takes: AT_MOST_ONE_TOKEN, read: readCancel },
  { word: 'agents', takes: NOTHING, read: () => ({ kind: 'agents' }) },
  { word: 'approvers', takes: NOTHING, read: () => ({ kind: 'approvers' }) },
  // "use" and a saved plan's name (a slug): the rest are its parameters.
  { word: 'use', takes: /^[a-z0-9][a-z0-9_-]{0,39}(\s[\s\S]*)?$/i, read: readUse },
];

function readUse(rest: string): ParsedRequest {
  const [, name = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(rest) ?? [];
  return { kind: 'use', name: name.toLowerCase(), args };
}

/** A single short word that names no sub-command is a mistyped one: one word is no goal, and planning costs money. */
const LONE_WORD = /^\S{1,30}$/;

/** What the command asks for, and what to acknowledge it with. Pure. */
export function parseRequest(commandText: string): ParsedRequest {
  const text = decodeSlackEntities(commandText).trim();
  if (!text) return { kind: 'answer', text: USAGE };
  const [, first = '', rest = ''] = /^(\S+)\s*([\s\S]*)$/.exec(text) ?? [];
  const command = SUB_COMMANDS.find((c) => c.word === first.toLowerCase() && c.takes.test(rest));
  if (command) return command.read(rest);
  if (LONE_WORD.test(text)) return { kind: 'answer', text: unknownCommand(text) };
  if (text.length > MAX_GOAL_CHARS) return { kind: 'answer', text: goalTooLong(text.length, MAX_GOAL_CHARS) };
  return { kind: 'goal', goal: text, ack: PLANNING_STARTED };
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
      slackTeamId: input.teamId ?? undefined,
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
