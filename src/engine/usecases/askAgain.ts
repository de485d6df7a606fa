/**
 * Ask again: the CEO agent plans the same goal again, with the reviewer's note; its plan becomes
 * the next revision (the cap the reviewers set is kept). The outcome reaches the clicker through
 * the response_url of the click that opened the form.
 */
import { askAgainModal } from '../../blocks/modals.js';
import { askingAgain, notEditable } from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, checkClick, checkForm, type FormErrors, text } from './guard.js';

export async function askAgainModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked;
  if (checked.doc.status !== 'proposed') return { ok: false, reply: text(notEditable(checked.doc.status)) };
  const responseUrl = click.responseUrl;
  return { ok: true, view: askAgainModal({ ...checked.control, ...(responseUrl ? { responseUrl } : {}) }) };
}

/** Enqueues the new planning. The errors, when the form is refused; else a promise of what follows the ack. */
export async function submitAskAgain(
  services: Services,
  click: Click,
  note: string | null,
  errorBlock: string,
): Promise<{ errors: FormErrors } | { enqueue: () => Promise<void> }> {
  const checked = await checkForm(services, click, errorBlock);
  if (!checked.ok) return { errors: checked.errors };
  const { control } = checked;
  const responseUrl = control.responseUrl ?? null;
  return {
    enqueue: async () => {
      const id = orchestrationIdOf(checked.doc);
      await services.engine.enqueueReplan({
        orchestrationId: id,
        revision: control.revision,
        by: click.userId,
        note,
        responseUrl,
      });
      await services.engine.respond(responseUrl, askingAgain(control.revision));
    },
  };
}
