/**
 * The /orchestrate slash command: acknowledged at once (usage, a refusal, or "planning…"), then
 * the request use case records the orchestration and hands planning to a job.
 */
import type { App } from '@slack/bolt';
import { parseRequest, startRequest } from '../engine/usecases/request.js';
import type { Services } from '../services.js';

export function register(app: App, services: Services): void {
  app.command('/orchestrate', async ({ command, ack, respond }) => {
    // A command may come without text at all: the usage answers it.
    const parsed = parseRequest(command.text ?? '');
    if (parsed.kind === 'answer') {
      await ack({ response_type: 'ephemeral', text: parsed.text });
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
