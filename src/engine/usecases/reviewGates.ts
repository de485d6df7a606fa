/**
 * Review gates on the plan: reviewers choose which tickets' results they review before anything
 * builds on them. Stored as the next revision, validated like every other edit.
 */
import { reviewGatesModal } from '../../blocks/gatesModal.js';
import { notEditable } from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { setReviewGates } from '../plan/edits.js';
import { type ModalOutcome, saveForm } from './editPlan.js';
import { type Click, checkClick, checkForm, type FormErrors, text } from './guard.js';

export async function reviewGatesModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked;
  if (checked.doc.status !== 'proposed') return { ok: false, reply: text(notEditable(checked.doc.status)) };
  return { ok: true, view: reviewGatesModal(checked.control, checked.doc.proposal!) };
}

export async function submitReviewGates(
  services: Services,
  click: Click,
  keys: string[],
  errorBlock: string,
): Promise<FormErrors | null> {
  const checked = await checkForm(services, click, errorBlock);
  if (!checked.ok) return checked.errors;
  const before = checked.doc.proposal!.tickets.filter((t) => t.review).map((t) => t.key);
  if ([...before].sort().join() === [...keys].sort().join()) return null; // nothing changed: no new revision
  const change = `review gates → ${keys.length ? keys.join(', ') : 'none'}`;
  return saveForm(services, checked, click.userId, errorBlock, change, (p) => setReviewGates(p, keys));
}
