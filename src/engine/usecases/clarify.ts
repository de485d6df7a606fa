/**
 * Answering the CEO agent's questions before planning: the form (one answer a question), the
 * answers stored and planning enqueued, or Skip, which plans with what it has. Only the requester
 * and the approvers may; a second click, once answered or skipped, changes nothing.
 */
import { answersModal } from '../../blocks/clarify.js';
import { Orchestration } from '../../models/orchestration.js';
import type { Services } from '../../services.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, checkClick, type FormErrors, type Reply, text } from './guard.js';

const DECIDED = 'Those questions were already answered or skipped: planning is under way.';

async function asked(services: Services, click: Click) {
  const checked = await checkClick(services, click, { requireCurrentRevision: false });
  if (!checked.ok) return checked;
  const c = checked.doc.clarification;
  if (checked.doc.status !== 'planning' || c?.state !== 'asked') return { ok: false as const, reply: text(DECIDED) };
  return { ok: true as const, doc: checked.doc, control: checked.control, questions: c.questions };
}

export async function answersModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const found = await asked(services, click);
  if (!found.ok) return found;
  return { ok: true, view: answersModal(found.control, found.questions) };
}

/** Stores what the requester decided (once) and enqueues planning; false when it was decided already. */
async function decide(services: Services, click: Click, answers: string[] | null): Promise<boolean> {
  const found = await asked(services, click);
  if (!found.ok) return false;
  const stored = await Orchestration.updateOne(
    { _id: found.doc._id, status: 'planning', 'clarification.state': 'asked' },
    {
      $set: {
        'clarification.state': answers ? 'answered' : 'skipped',
        'clarification.answers': answers,
        'clarification.by': click.userId,
        'clarification.at': new Date(),
      },
    },
  );
  if (stored.modifiedCount !== 1) return false;
  await services.engine.enqueuePlan(orchestrationIdOf(found.doc), found.doc.responseUrl ?? null);
  return true;
}

export async function skipQuestions(services: Services, click: Click): Promise<Reply> {
  const found = await asked(services, click);
  if (!found.ok) return found.reply;
  return (await decide(services, click, null))
    ? text(':hourglass_flowing_sand: Planning with what I have…')
    : text(DECIDED);
}

export async function submitAnswers(
  services: Services,
  click: Click,
  answers: string[],
  errorBlock: string,
): Promise<FormErrors | null> {
  const found = await asked(services, click);
  if (!found.ok) return { [errorBlock]: found.reply.text.replace(/<@(\w+)>/g, 'the requester').slice(0, 500) };
  if (answers.every((a) => !a.trim())) return { [errorBlock]: 'Answer at least one question, or close this and Skip.' };
  return (await decide(services, click, answers)) ? null : { [errorBlock]: DECIDED };
}
