/**
 * Replies in a run's thread: the requester's and approvers' words for the agents (a position while
 * the run waits for people, guidance while it runs). Only plain messages in threads are looked at;
 * the use case decides whether the thread is an open run's and who may steer it.
 */
import type { App } from '@slack/bolt';
import { takeThreadReply } from '../engine/usecases/steer.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

export function register(app: App, services: Services): void {
  app.message(async ({ message, context }) => {
    // Edits, joins, bot posts and the like carry a subtype: not a person speaking.
    if (message.subtype !== undefined || !('thread_ts' in message) || !message.thread_ts) return;
    if (message.thread_ts === message.ts || !message.user || !message.text) return;
    try {
      await takeThreadReply(
        services,
        {
          channel: message.channel,
          threadTs: message.thread_ts,
          ts: message.ts,
          userId: message.user,
          text: message.text,
        },
        context.botUserId,
      );
    } catch (error) {
      services.logger.error(`a reply in ${message.channel} could not be taken: ${describeError(error)}`);
    }
  });
}
