/**
 * Approve: the one decision people must make. One conditional update moves the plan from
 * proposed (at the revision the button was drawn for) to approved, so ten clicks at once, or an
 * Approve racing an edit or a Cancel, give one pipeline or none; then the run is enqueued.
 */
import { STATUS_LABELS } from '../../blocks/proposal.js';
import { QUEUED_LATE } from '../../blocks/replies.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { transition } from '../run/transition.js';
import { answerStale, type Click, checkClick, type Reply, text } from './guard.js';

export async function approvePlan(services: Services, click: Click): Promise<Reply | null> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked.reply;
  const { doc, control } = checked;
  if (doc.status !== 'proposed') {
    const by = doc.approvedBy ? ` by <@${doc.approvedBy}>` : '';
    return text(`This plan was already approved${by}; it is *${STATUS_LABELS[doc.status]}*.`);
  }
  const id = orchestrationIdOf(doc);
  const approved = await transition(id, 'proposed', 'approved', {
    by: click.userId,
    reason: `approved revision ${control.revision}`,
    where: { revision: control.revision },
    set: { approvedBy: click.userId, approvedRevision: control.revision, approvedAt: new Date() },
  });
  if (!approved) {
    // Lost a race: someone else approved, edited or cancelled in the meantime.
    const now = await Orchestration.findById(id).lean<OrchestrationDoc>();
    if (now && now.status === 'proposed' && now.revision !== control.revision) {
      return answerStale(services, control.revision, now);
    }
    return text(
      `Someone got there first: the orchestration is *${STATUS_LABELS[now?.status ?? 'cancelled']}*. Nothing was changed.`,
    );
  }
  // The run starts first; the plan message is redrawn meanwhile (Slack's pace must not delay the run).
  try {
    await services.engine.enqueueStart(id);
  } catch (error) {
    // Approved and stored: the engine's sweep gives the run its start job. Tell the truth.
    services.logger.warn(`could not queue the start of ${id} at once: ${describeError(error)}`);
    await services.engine.redraw(id);
    return text(`:white_check_mark: Approved. ${QUEUED_LATE}`);
  }
  await services.engine.redraw(id);
  return null;
}
