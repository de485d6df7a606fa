/**
 * What people can do to a run in flight: start the work after the discussion, pause and resume it,
 * accept, rework or edit a gated result, and speak in its thread. Only the requester and the
 * approvers may; a stale or double click is answered and changes nothing.
 */

import { decodeControlValue } from '../../blocks/actionIds.js';
import { EDIT_MAX_CHARS, editResultModal, notEntitledToSteer, reworkModal } from '../../blocks/steering.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step } from '../../models/run.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { mayAct } from '../plan/rights.js';
import { RUNNING_STATUSES } from '../plan/status.js';
import { awaitingResult, type ReviewTarget } from '../run/review.js';
import type { ModalOutcome } from './editPlan.js';
import { type Click, checkClick, type FormErrors, type Reply, text } from './guard.js';

export type RunControl = 'startWork' | 'pause' | 'resume';

const NOT_RUNNING = 'That run is not in progress any more. Nothing was changed.';

/** Start the work, Pause, Resume: each answers only when it changed nothing (and says why). */
export async function controlRun(services: Services, click: Click, control: RunControl): Promise<Reply | null> {
  const checked = await checkClick(services, click, { requireCurrentRevision: false });
  if (!checked.ok) return checked.reply;
  const { doc } = checked;
  if (!RUNNING_STATUSES.includes(doc.status)) return text(NOT_RUNNING);
  const id = orchestrationIdOf(doc);
  const steering = services.engine.steering;
  if (control === 'startWork') {
    return (await steering.startTheWork(id, click.userId)) ? null : text('The work has already started.');
  }
  if (control === 'pause') return (await steering.pause(id, click.userId)) ? null : text('The run is already paused.');
  return (await steering.resume(id, click.userId)) ? null : text('The run is not paused.');
}

/** The step and result a review control was drawn for, if it still awaits review. */
async function reviewTargetOf(services: Services, click: Click) {
  const checked = await checkClick(services, click, { requireCurrentRevision: false });
  if (!checked.ok) return checked;
  const target: Omit<ReviewTarget, 'by'> = {
    orchestrationId: orchestrationIdOf(checked.doc),
    stepId: checked.control.target ?? '',
    round: checked.control.revision,
  };
  const step = /^[a-f0-9]{24}$/.test(target.stepId) ? await awaitingResult(target) : null;
  if (!step)
    return { ok: false as const, reply: text('That result was already reviewed, or replaced. Nothing was changed.') };
  return { ok: true as const, doc: checked.doc, step, target: { ...target, by: click.userId } };
}

export async function acceptClick(services: Services, click: Click): Promise<Reply | null> {
  const found = await reviewTargetOf(services, click);
  if (!found.ok) return found.reply;
  return (await services.engine.steering.accept(found.target)) ? null : text('That result was already reviewed.');
}

export async function reviewModalFor(services: Services, click: Click, kind: 'rework' | 'edit'): Promise<ModalOutcome> {
  const found = await reviewTargetOf(services, click);
  if (!found.ok) return found;
  const meta = {
    orchestrationId: found.target.orchestrationId,
    revision: found.target.round,
    target: found.target.stepId,
  };
  if (kind === 'rework') return { ok: true, view: reworkModal(meta, found.step.title) };
  const current = found.step.output ?? '';
  if (current.length > EDIT_MAX_CHARS) {
    return {
      ok: false,
      reply: text(
        `That result is ${current.length.toLocaleString('en-US')} characters long, more than a Slack form can hold ` +
          `(${EDIT_MAX_CHARS.toLocaleString('en-US')}). Use Rework and say what to change instead.`,
      ),
    };
  }
  return { ok: true, view: editResultModal(meta, found.step.title, current) };
}

/** Rework or Edit, submitted: the errors to show in the form, or null once done. */
export async function submitReview(
  services: Services,
  form: { privateMetadata: string; userId: string; botUserId: string | undefined },
  kind: 'rework' | 'edit',
  value: string,
  errorBlock: string,
): Promise<FormErrors | null> {
  const found = await reviewTargetOf(services, {
    control: decodeControlValue(form.privateMetadata),
    userId: form.userId,
    botUserId: form.botUserId,
  });
  if (!found.ok) return { [errorBlock]: found.reply.text.replace(/<@(\w+)>/g, 'the requester').slice(0, 500) };
  if (!value.trim())
    return { [errorBlock]: kind === 'rework' ? 'Say what should change.' : 'The result cannot be empty.' };
  const steering = services.engine.steering;
  const done =
    kind === 'rework' ? await steering.rework(found.target, value.trim()) : await steering.edit(found.target, value);
  return done ? null : { [errorBlock]: 'That result was reviewed meanwhile. Nothing was changed.' };
}

export interface ThreadReply {
  channel: string;
  threadTs: string;
  ts: string;
  userId: string;
  text: string;
}

/**
 * A reply in a run's thread. From the requester or an approver while the run is open, it is stored
 * once (a position while the run waits for people, else guidance) and acknowledged with a
 * reaction; from anyone else, it is not given to the agents, and they are told so, privately.
 */
export async function takeThreadReply(services: Services, reply: ThreadReply, botUserId: string | undefined) {
  const doc = await Orchestration.findOne({
    channelId: reply.channel,
    messageTs: reply.threadTs,
  }).lean<OrchestrationDoc>();
  if (!doc || !doc.runId || !RUNNING_STATUSES.includes(doc.status) || reply.userId === botUserId) return;
  const steering = services.engine.steering;
  if (!mayAct(reply.userId, doc.requesterId, await approversHere(services.config.approvers), botUserId).allowed) {
    await steering.tellInThread(reply.channel, reply.userId, reply.threadTs, notEntitledToSteer(doc.requesterId));
    return;
  }
  const waiting = await Step.exists({ runId: doc.runId, kind: 'people', status: 'running' });
  const input = {
    kind: waiting ? 'position' : 'guidance',
    userId: reply.userId,
    text: reply.text.slice(0, 4000),
    at: new Date(),
    ts: reply.ts,
  };
  // Slack may deliver an event twice: the reply is stored once, by its ts.
  const stored = await Orchestration.updateOne(
    { _id: doc._id, 'humanInput.ts': { $ne: reply.ts } },
    { $push: { humanInput: input } },
  );
  if (stored.modifiedCount !== 1) return;
  await steering.acknowledge(reply.channel, reply.ts).catch((error: unknown) => {
    services.logger.warn(`could not acknowledge a reply in ${reply.channel}: ${describeError(error)}`);
  });
}
