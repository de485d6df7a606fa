/**
 * Cancel: ends an open orchestration (a proposal under review, or a run in flight) as cancelled
 * and tears down its work. Any revision's button may cancel; a second click is told it is done.
 */
import { alreadyFinished } from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { loadOrchestration } from '../run/transition.js';
import { type Click, checkClick, type Reply, text } from './guard.js';

export async function cancelOrchestration(services: Services, click: Click): Promise<Reply | null> {
  const checked = await checkClick(services, click, {
    requireCurrentRevision: false,
    closedText: (doc) => alreadyFinished(doc.status),
  });
  if (!checked.ok) return checked.reply;
  const id = orchestrationIdOf(checked.doc);
  if (await services.engine.cancel(id, click.userId)) return null;
  const now = await loadOrchestration(id);
  return now ? text(alreadyFinished(now.status)) : null;
}
