/**
 * Edit outputs: reviewers change what tickets produce (the one line and the fields). The form is
 * read ticket by ticket, each error shown next to its ticket's input; what changed is stored as the
 * next revision through revise(), validated like every other edit, so a dependent can never be left
 * using a field that was taken away.
 */

import { outputsModal } from '../../blocks/outputModal.js';
import { notEditable } from '../../blocks/replies.js';
import type { Services } from '../../services.js';
import { setOutputs } from '../plan/edits.js';
import type { DeclaredOutput } from '../plan/outputs.js';
import { parseFieldLines } from '../plan/outputText.js';
import { type ModalOutcome, saveForm } from './editPlan.js';
import { type Click, checkClick, checkForm, type FormErrors, text } from './guard.js';

export async function editOutputsModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const checked = await checkClick(services, click, { requireCurrentRevision: true });
  if (!checked.ok) return checked;
  if (checked.doc.status !== 'proposed') return { ok: false, reply: text(notEditable(checked.doc.status)) };
  return { ok: true, view: outputsModal(checked.control, checked.doc.proposal!) };
}

/** What the form holds for one ticket, and the block ids its errors show at. */
export interface OutputForm {
  ticketKey: string;
  description: string;
  fields: string;
  blocks: { description: string; fields: string };
}

/** One ticket's declared output as the form has it (null: prose), or the errors to show. */
function readOutput(form: OutputForm): { output: DeclaredOutput | null } | { errors: FormErrors } {
  const description = form.description.trim();
  const lines = form.fields.trim();
  if (!description && !lines) return { output: null };
  if (!description)
    return { errors: { [form.blocks.description]: 'Say in one line what it produces, or clear its fields.' } };
  if (!lines) {
    return {
      errors: {
        [form.blocks.fields]: 'Name at least one field, or clear the line above to leave the result as prose.',
      },
    };
  }
  const parsed = parseFieldLines(lines);
  if (!parsed.ok) return { errors: { [form.blocks.fields]: parsed.error.slice(0, 500) } };
  return { output: { description, fields: parsed.fields } };
}

const same = (a: DeclaredOutput | null | undefined, b: DeclaredOutput | null) =>
  JSON.stringify(a ?? null) === JSON.stringify(b);

export async function submitOutputs(services: Services, click: Click, forms: OutputForm[]): Promise<FormErrors | null> {
  const firstBlock = forms[0]?.blocks.description ?? 'output';
  const checked = await checkForm(services, click, firstBlock);
  if (!checked.ok) return checked.errors;
  const errors: FormErrors = {};
  const changed: Record<string, DeclaredOutput | null> = {};
  const tickets = new Map(checked.doc.proposal!.tickets.map((t) => [t.key, t]));
  for (const form of forms) {
    const read = readOutput(form);
    if ('errors' in read) Object.assign(errors, read.errors);
    else if (tickets.has(form.ticketKey) && !same(tickets.get(form.ticketKey)!.output, read.output))
      changed[form.ticketKey] = read.output;
  }
  if (Object.keys(errors).length) return errors;
  const keys = Object.keys(changed);
  if (!keys.length) return null; // nothing changed: no new revision
  const errorBlock = forms.find((f) => f.ticketKey === keys[0])!.blocks.fields;
  return saveForm(services, checked, click.userId, errorBlock, `outputs of ${keys.join(', ')}`, (p) =>
    setOutputs(p, changed),
  );
}
