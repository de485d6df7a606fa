/**
 * Review gates: a gated ticket's result waits for people before anything builds on it. Accept lets
 * it through; Rework runs it again with its previous result and their feedback (a new call, a new
 * reservation, under the same cap); Edit replaces it with their text, marked as theirs. Each is one
 * conditional update on the step, matched on the result it was drawn for, so a stale or double
 * click changes nothing. Earlier results are kept in the step's history.
 */

import { editedResultMessages, type ReviewDecision, reviewedMessage } from '../../blocks/steering.js';
import { MARKDOWN_CHUNK } from '../../blocks/thread.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc, type StepReview } from '../../models/run.js';
import type { OrchestrationId } from '../plan/ids.js';
import { RUNNING_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { advance } from './scheduler.js';

/** The review state a freshly settled result gets: awaiting people when its ticket is gated. */
export function awaitingReview(step: Pick<StepDoc, 'reviewGate' | 'history'>, at: Date): StepReview | null {
  return step.reviewGate ? { state: 'awaiting', by: null, at, round: step.history?.length ?? 0 } : null;
}

/** A step's fields put back so that it runs again (its result and history kept elsewhere): a rework, a re-run. */
export const toRunAgain = (feedback: string | null) => ({
  status: 'pending' as const,
  review: null,
  feedback,
  output: null,
  structured: null,
  error: null,
  skipReason: null,
  startedAt: null,
  finishedAt: null,
  claimedBy: null,
  leaseUntil: null,
  toolCalls: [],
  retrieved: [],
  citations: [],
});

export interface ReviewTarget {
  orchestrationId: OrchestrationId;
  stepId: string;
  /** The result the click was drawn for. */
  round: number;
  by: string;
}

const awaiting = (t: ReviewTarget) => ({
  _id: t.stepId,
  orchestrationId: t.orchestrationId,
  status: 'succeeded' as const,
  'review.state': 'awaiting' as const,
  'review.round': t.round,
});

/** The result a click is about, while it still awaits review; null once decided or replaced. */
export async function awaitingResult(t: Omit<ReviewTarget, 'by'>): Promise<StepDoc | null> {
  return Step.findOne(awaiting({ ...t, by: '' })).lean<StepDoc>();
}

async function afterDecision(
  ctx: EngineContext,
  t: ReviewTarget,
  step: StepDoc,
  decision: ReviewDecision,
  extra: { feedback?: string; text?: string } = {},
): Promise<void> {
  const doc = await Orchestration.findById(t.orchestrationId).lean<OrchestrationDoc>();
  if (!doc) return;
  const key = `${t.orchestrationId}:review:${t.stepId}:${t.round}`;
  const edited = extra.text !== undefined ? editedResultMessages(step.title, extra.text, MARKDOWN_CHUNK) : [];
  await ctx.announcer.post(doc, [
    { key, message: reviewedMessage(decision, t.by, step.title, extra.feedback) },
    ...edited.map((message, i) => ({ key: `${key}:text:${i}`, message })),
  ]);
  if (RUNNING_STATUSES.includes(doc.status)) await advance(ctx, step.runId, t.orchestrationId);
  await ctx.announcer.refresh(t.orchestrationId, { wait: false });
}

export async function acceptResult(ctx: EngineContext, t: ReviewTarget): Promise<boolean> {
  const step = await Step.findOneAndUpdate(
    awaiting(t),
    { $set: { review: { state: 'accepted', by: t.by, at: new Date(), round: t.round } } },
    { returnDocument: 'after' },
  ).lean<StepDoc>();
  if (!step) return false;
  await afterDecision(ctx, t, step, 'accepted');
  return true;
}

export async function reworkResult(ctx: EngineContext, t: ReviewTarget, feedback: string): Promise<boolean> {
  const before = await awaitingResult(t);
  if (!before) return false;
  const at = new Date();
  const earlier = { kind: 'rework', output: before.output, structured: before.structured, by: t.by, at, feedback };
  const step = await Step.findOneAndUpdate(
    awaiting(t),
    {
      $push: { history: earlier },
      $set: toRunAgain(feedback),
    },
    { returnDocument: 'after' },
  ).lean<StepDoc>();
  if (!step) return false;
  await afterDecision(ctx, t, step, 'rework', { feedback });
  return true;
}

export async function editResult(ctx: EngineContext, t: ReviewTarget, text: string): Promise<boolean> {
  const before = await awaitingResult(t);
  if (!before) return false;
  const at = new Date();
  const earlier = { kind: 'edit', output: before.output, structured: before.structured, by: t.by, at, feedback: null };
  const step = await Step.findOneAndUpdate(
    awaiting(t),
    {
      $push: { history: earlier },
      // Their text replaces the agent's whole: a declared output's fields no longer describe it.
      $set: {
        output: text,
        structured: null,
        review: { state: 'accepted', by: t.by, at, round: t.round, editedBy: t.by },
      },
    },
    { returnDocument: 'after' },
  ).lean<StepDoc>();
  if (!step) return false;
  await afterDecision(ctx, t, step, 'edited', { text });
  return true;
}
