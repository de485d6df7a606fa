/**
 * The thread keeps the run's order, and results' posts keep off the critical path. In a chain, a
 * ticket's post is stored once no hand-off is in flight in this process (its blocks and writes
 * would slow one); what closes the thread (the deliverable's live draft and post, the closing
 * posts) first has every post still waiting stored, so that it never overtakes one. Per process,
 * like the foreground it waits for; a crash before a post is stored is a re-run job's, which
 * announces the steps it settled again.
 */
import type { OrchestrationId } from '../plan/ids.js';
import type { EngineContext } from './context.js';

const waitingIn = (id: OrchestrationId) => `posts:${id}`;

/** `store`, after `after`, once no hand-off is in flight, or as soon as something that closes the thread asks. */
export function storeWhenQuiet<T>(
  ctx: EngineContext,
  id: OrchestrationId,
  store: () => Promise<T>,
  after?: Promise<unknown>,
): Promise<T> {
  return ctx.announcer.foreground.whenQuiet(waitingIn(id), store, after);
}

/** Every post of the run still waiting for a quiet moment, stored now. */
export function storeWaiting(ctx: EngineContext, id: OrchestrationId): Promise<void> {
  return ctx.announcer.foreground.hurry(waitingIn(id));
}
