/**
 * Replies in a run's thread: the requester's and approvers' words for the agents (a position while
 * the run waits for people, guidance while it runs), and mentions of the bot (questions for a
 * finished run's deliverable). Only plain messages in threads are looked at;
 * the use case decides whether the thread is an open run's and who may steer it.
 */
import type { App } from '@slack/bolt';
import { askDeliverable } from '../engine/usecases/afterRun.js';
import { takeThreadReply } from '../engine/usecases/steer.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';

export function register(app: App, services: Services): void {
  // A mention in a finished run's thread is a question for its deliverable.
  app.event('app_mention', async ({ event }) => {
    const threadTs = 'thread_ts' in event ? event.thread_ts : undefined;
    if (!threadTs || !event.user) return;
    try {
      await askDeliverable(services, {
        channel: event.channel,
        threadTs,
        ts: event.ts,
        userId: event.user,
        text: event.text,
      });
    } catch (error) {
      services.logger.error(`a question in ${event.channel} could not be answered: ${describeError(error)}`);
    }
  });

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
