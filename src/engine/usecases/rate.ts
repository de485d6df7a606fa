/**
 * Rating the deliverable with the buttons under it: the latest rating is stored on the
 * orchestration (who and when) and shown in the run's detail. Anyone who can see it may rate it.
 */
import { Orchestration } from '../../models/orchestration.js';
import { parseOrchestrationId } from '../plan/ids.js';
import type { Reply } from './guard.js';

export async function rateDeliverable(value: string | undefined, userId: string): Promise<Reply> {
  const [rating, raw] = (value ?? '').split(':');
  const id = parseOrchestrationId(raw);
  if (!id || (rating !== 'positive' && rating !== 'negative')) {
    return { text: 'That rating button is not one Orchestrate understands. Nothing was stored.' };
  }
  const res = await Orchestration.updateOne(
    { _id: id, deliverable: { $ne: null } },
    { $set: { feedback: { rating, by: userId, at: new Date() } } },
  );
  if (res.matchedCount !== 1) return { text: 'That deliverable no longer exists. Nothing was stored.' };
  return {
    text:
      rating === 'positive'
        ? 'Thanks: marked as useful.'
        : 'Thanks: marked as not useful. Say what was missing in the thread.',
  };
}
