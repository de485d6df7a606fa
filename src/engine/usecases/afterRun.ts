/**
 * What people can do with a finished run: re-run one ticket (and then choose what to do with the
 * steps out of date), and follow up on the deliverable's gaps with a new, linked orchestration.
 * Only the requester and the approvers may; a click that no longer applies says why.
 */

import type { ModalView } from '@slack/types';
import { followUpModal, followUpStartedMessage, rerunModal } from '../../blocks/afterRun.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step } from '../../models/run.js';
import type { Services } from '../../services.js';
import { approversHere } from '../install/approvers.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { MAX_GOAL_CHARS } from '../plan/proposal.js';
import { mayAct } from '../plan/rights.js';
import { RERUNNABLE } from '../run/rerun.js';
import type { ModalOutcome } from './editPlan.js';
import type { Click, FormErrors, Reply } from './guard.js';
import { text } from './guard.js';

const FINISHED = ['completed', 'failed'];

/** The orchestration a click is about, when the clicker may act on it; else what to answer. */
async function entitled(
  services: Services,
  click: Click,
): Promise<{ ok: true; doc: OrchestrationDoc } | { ok: false; reply: Reply }> {
  if (!click.control)
    return { ok: false, reply: text('That button is not one Orchestrate understands. Nothing was changed.') };
  const doc = await Orchestration.findById(click.control.orchestrationId).lean<OrchestrationDoc>();
  if (!doc) return { ok: false, reply: text('That orchestration no longer exists. Nothing was changed.') };
  const rights = mayAct(click.userId, doc.requesterId, await approversHere(services.config.approvers), click.botUserId);
  if (!rights.allowed) return { ok: false, reply: text(`:no_entry: ${rights.reason}`) };
  return { ok: true, doc };
}

const notFinished = (status: string) =>
  text(
    `Re-run is for a finished run; this one is ${status}. While it runs, reply in its thread to guide what starts next.`,
  );

export async function rerunModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const found = await entitled(services, click);
  if (!found.ok) return found;
  if (!FINISHED.includes(found.doc.status)) return { ok: false, reply: notFinished(found.doc.status) };
  const stepId = click.control!.target ?? '';
  const step = /^[a-f0-9]{24}$/.test(stepId)
    ? await Step.findOne({ _id: stepId, orchestrationId: found.doc._id, kind: { $in: RERUNNABLE } }).lean()
    : null;
  if (!step) return { ok: false, reply: text('That step is not part of this run. Nothing was changed.') };
  return { ok: true, view: rerunModal(click.control!, step.title) as ModalView };
}

const RERUN_REFUSED = {
  not_finished: 'The run is not finished (a re-run may already be under way). Nothing was changed.',
  budget_stop: 'The run stopped at its cap: raise the cap first (Raise cap and continue), then re-run.',
  stale: 'That step cannot be re-run now (it is running again, or was not run). Nothing was changed.',
  busy: 'Another re-run of this run is being set up. Try again in a moment.',
};

export async function submitRerun(
  services: Services,
  form: Click,
  feedback: string,
  errorBlock: string,
): Promise<FormErrors | null> {
  const found = await entitled(services, form);
  if (!found.ok) return { [errorBlock]: found.reply.text.replace(/<@(\w+)>/g, 'the requester').slice(0, 500) };
  const id = orchestrationIdOf(found.doc);
  const outcome = await services.engine.afterRun.rerun(
    id,
    form.control!.target ?? '',
    form.userId,
    feedback.trim() || null,
  );
  return outcome.ok ? null : { [errorBlock]: RERUN_REFUSED[outcome.reason] };
}

/** Re-run what depends on a re-run step, or synthesize with the results as they are. */
export async function settleOutdatedClick(
  services: Services,
  click: Click,
  choice: 'rerun' | 'keep',
): Promise<Reply | null> {
  const found = await entitled(services, click);
  if (!found.ok) return found.reply;
  const done = await services.engine.afterRun.settleOutdated(orchestrationIdOf(found.doc), click.userId, choice);
  return done ? null : text('Nothing is out of date any more: that choice was already made.');
}

export async function followUpModalFor(services: Services, click: Click): Promise<ModalOutcome> {
  const found = await entitled(services, click);
  if (!found.ok) return found;
  if (found.doc.status !== 'completed' || !found.doc.deliverable) {
    return { ok: false, reply: text('A follow-up starts from a completed run’s deliverable; this run has none now.') };
  }
  const { budget } = services.config;
  return {
    ok: true,
    view: followUpModal(click.control!, found.doc.deliverable.gaps, budget.defaultUsd, budget.maxUsd),
  };
}

export interface FollowUpForm {
  gaps: string;
  budgetUsd: number;
  blocks: { gaps: string; budget: string };
}

/** Starts the linked orchestration: the gaps are its goal, the parent's deliverable its context. */
export async function submitFollowUp(services: Services, click: Click, form: FollowUpForm): Promise<FormErrors | null> {
  const found = await entitled(services, click);
  if (!found.ok) return { [form.blocks.gaps]: found.reply.text.replace(/<@(\w+)>/g, 'the requester').slice(0, 500) };
  const parent = found.doc;
  if (!parent.deliverable) return { [form.blocks.gaps]: 'This run has no deliverable to follow up on.' };
  const gaps = form.gaps
    .split('\n')
    .map((g) => g.trim())
    .filter(Boolean);
  if (!gaps.length) return { [form.blocks.gaps]: 'Name at least one gap to close.' };
  const ceiling = services.config.budget.maxUsd;
  if (!Number.isFinite(form.budgetUsd) || form.budgetUsd <= 0 || form.budgetUsd > ceiling)
    return { [form.blocks.budget]: `Enter an amount in USD above 0 and at most ${ceiling.toFixed(2)}.` };
  const goal =
    `Close the gaps left by an earlier run ("${parent.goal.slice(0, 300)}"):\n${gaps.map((g) => `- ${g}`).join('\n')}`.slice(
      0,
      MAX_GOAL_CHARS,
    );
  const maxChars = services.config.tools.contextMaxChars;
  const context = {
    files: [],
    notes: ['The deliverable of the run this follows up on'],
    text: `=== Deliverable of the earlier run: ${parent.goal.slice(0, 200)} ===\n${parent.deliverable.markdown}`.slice(
      0,
      maxChars,
    ),
    by: click.userId,
    at: new Date(),
  };
  const child = await Orchestration.create({
    slackTeamId: parent.slackTeamId,
    requesterId: click.userId,
    channelId: parent.channelId,
    goal,
    status: 'planning',
    transitions: [],
    budget: { maxUsd: Math.round(form.budgetUsd * 100) / 100, spentUsd: 0, reservedUsd: 0, warned: false },
    context,
    parent: { orchestrationId: parent._id, channelId: parent.channelId, goal: parent.goal },
  });
  const childId = orchestrationIdOf(child);
  await Orchestration.updateOne(
    { _id: parent._id },
    { $push: { followUps: { orchestrationId: child._id, channelId: child.channelId, goal } } },
  );
  await services.engine.enqueuePlan(childId, null).catch((error: unknown) => {
    // Stored as planning: the engine's sweep gives it its planning job.
    services.logger.warn(`could not queue the follow-up ${childId} at once: ${describeError(error)}`);
  });
  await services.engine.afterRun.announce(
    orchestrationIdOf(parent),
    `followup:${childId}`,
    followUpStartedMessage(click.userId, parent.channelId),
  );
  return null;
}

export interface Mention {
  channel: string;
  threadTs: string;
  ts: string;
  userId: string;
  text: string;
}

/**
 * A mention of the bot in a run's thread: a question for a finished run's deliverable. In an open
 * run's thread it is a reply like any other (guidance); elsewhere it is left alone.
 */
export async function askDeliverable(services: Services, mention: Mention): Promise<void> {
  const doc = await Orchestration.findOne({
    channelId: mention.channel,
    messageTs: mention.threadTs,
  }).lean<OrchestrationDoc>();
  if (!doc) return;
  const question = mention.text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, '').trim();
  const steering = services.engine.steering;
  // While the run is open, a mention is a reply like any other: the thread-reply listener takes it as guidance.
  if (!FINISHED.includes(doc.status)) return;
  if (!doc.deliverable) {
    await steering.tellInThread(
      mention.channel,
      mention.userId,
      mention.threadTs,
      'This run ended without a deliverable, so there is nothing to ask it about.',
    );
    return;
  }
  if (!question) {
    await steering.tellInThread(
      mention.channel,
      mention.userId,
      mention.threadTs,
      'Mention me with a question about the deliverable.',
    );
    return;
  }
  await services.engine.afterRun.answer({
    orchestrationId: orchestrationIdOf(doc),
    question,
    userId: mention.userId,
    ts: mention.ts,
  });
}
