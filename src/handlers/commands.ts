/**
 * The /orchestrate slash command: acknowledged at once, then answered. A goal is acknowledged with
 * "planning…" and handed to the request use case, which records it and queues its planning; the
 * sub-commands (help, status, cancel, agents, approvers) are answered privately once their use case has looked.
 */
import type { AllMiddlewareArgs, App, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { LOOKUP_FAILED } from '../blocks/replies.js';
import { rosterReply } from '../engine/usecases/agents.js';
import { approversReply } from '../engine/usecases/approvers.js';
import type { Reply } from '../engine/usecases/guard.js';
import { cancelByRef, openRunsReply } from '../engine/usecases/openRuns.js';
import { type ParsedRequest, parseRequest, startRequest } from '../engine/usecases/request.js';
import { useTemplate } from '../engine/usecases/templates.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
type SubCommand = Exclude<ParsedRequest, { kind: 'answer' } | { kind: 'goal' }>;

const answerPrivately = (respond: RespondFn, reply: Reply) =>
  respond({ response_type: 'ephemeral', text: reply.text, ...(reply.blocks ? { blocks: reply.blocks } : {}) });

/** The one use case a sub-command calls, and what it answers. */
function subCommandReply(services: Services, args: CommandArgs, parsed: SubCommand): Promise<Reply> {
  const { command, context, client } = args;
  const viewer = { userId: command.user_id, botUserId: context.botUserId };
  switch (parsed.kind) {
    case 'agents':
      return rosterReply(services, viewer);
    case 'approvers':
      return approversReply(services, viewer);
    case 'status':
      return openRunsReply(services, client, command.user_id);
    case 'cancel':
      return cancelByRef(services, { ref: parsed.ref, ...viewer });
    case 'use':
      return useTemplate(services, {
        name: parsed.name,
        args: parsed.args,
        userId: command.user_id,
        channelId: command.channel_id,
        teamId: command.team_id ?? null,
        responseUrl: command.response_url,
      });
  }
}

export function register(app: App, services: Services): void {
  app.command('/orchestrate', async (args) => {
    const { command, ack, respond } = args;
    // A command may come without text at all: the usage answers it.
    const parsed = parseRequest(command.text ?? '');
    if (parsed.kind === 'answer') {
      await ack({ response_type: 'ephemeral', text: parsed.text });
      return;
    }
    if (parsed.kind !== 'goal') {
      // An empty ack shows nothing; the answer follows once the database has been read.
      await ack();
      try {
        await answerPrivately(respond, await subCommandReply(services, args, parsed));
      } catch (error) {
        services.logger.error(`/orchestrate ${parsed.kind} failed: ${describeError(error)}`);
        await answerPrivately(respond, { text: LOOKUP_FAILED }).catch(() => undefined);
      }
      return;
    }
    await ack({ response_type: 'ephemeral', text: parsed.ack });
    const started = await startRequest(services, {
      goal: parsed.goal,
      userId: command.user_id,
      channelId: command.channel_id,
      teamId: command.team_id ?? null,
      responseUrl: command.response_url,
    });
    if (started.text) await respond({ response_type: 'ephemeral', text: started.text });
  });
}
