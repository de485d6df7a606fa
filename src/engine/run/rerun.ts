/**
 * Re-running one step of a finished run: the step runs again with its previous result and the
 * feedback given, the steps that build on it are marked out of date (people choose to re-run them
 * or to synthesize with what they have), and the synthesis runs again. The request is stored on the
 * orchestration first and applied by idempotent writes, so a crash half-way is finished by the
 * engine's sweep; the run moves back to executing only once every step is in place.
 */
import { Types } from 'mongoose';
import { rerunStartedMessage } from '../../blocks/afterRun.js';
import { Orchestration, type OrchestrationDoc, type RerunRequest } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import type { EngineContext } from './context.js';
import { toRunAgain } from './review.js';
import { advance } from './scheduler.js';
import { transition } from './transition.js';

/** The steps people may re-run: the tickets, whose results the synthesis is built from. */
export const RERUNNABLE = ['ticket'] as const;

export type RerunOutcome = { ok: true } | { ok: false; reason: 'not_finished' | 'budget_stop' | 'stale' | 'busy' };

/** Every step that builds on `key`, directly or not (not the synthesis and done steps, which always run again). */
export function dependentsOf(steps: readonly Pick<StepDoc, 'key' | 'kind' | 'dependsOn'>[], key: string): string[] {
  const out = new Set<string>();
  let frontier = [key];
  while (frontier.length) {
    const next = steps.filter(
      (s) =>
        s.kind !== 'synthesis' && s.kind !== 'done' && !out.has(s.key) && s.dependsOn.some((d) => frontier.includes(d)),
    );
    for (const s of next) out.add(s.key);
    frontier = next.map((s) => s.key);
  }
  return [...out];
}

const fresh = (token: string, feedback: string | null) => ({
  ...toRunAgain(feedback),
  rerunToken: token,
  outdated: false,
});

/** Puts `step` back to run once for request `token`, keeping what it had in its history. */
async function resetForRerun(step: StepDoc, token: string, by: string, feedback: string | null): Promise<void> {
  const earlier = { kind: 'rerun', output: step.output, structured: step.structured, by, at: new Date(), feedback };
  await Step.updateOne(
    { _id: step._id, rerunToken: { $ne: token } },
    { $push: { history: earlier }, $set: fresh(token, feedback) },
  );
}

/** Asks for a re-run of one step: stored, then applied. */
export async function requestRerun(
  ctx: EngineContext,
  id: OrchestrationId,
  stepId: string,
  by: string,
  feedback: string | null,
): Promise<RerunOutcome> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc?.runId || !['completed', 'failed'].includes(doc.status)) return { ok: false, reason: 'not_finished' };
  if (doc.budgetStop) return { ok: false, reason: 'budget_stop' };
  const step = await Step.findOne({ _id: stepId, runId: doc.runId, kind: { $in: RERUNNABLE } }).lean<StepDoc>();
  if (!step || !['succeeded', 'failed'].includes(step.status)) return { ok: false, reason: 'stale' };
  const request: RerunRequest = { token: new Types.ObjectId().toHexString(), stepId, by, feedback, at: new Date() };
  const stored = await Orchestration.updateOne(
    { _id: doc._id, status: doc.status, budgetStop: { $ne: true }, rerun: null },
    { $set: { rerun: request } },
  );
  if (stored.modifiedCount !== 1) return { ok: false, reason: 'busy' };
  await applyRerun(ctx, doc, request);
  return { ok: true };
}

/** Applies a stored re-run request; safe to repeat (the sweep calls it for a request a crash left). */
export async function applyRerun(ctx: EngineContext, doc: OrchestrationDoc, request: RerunRequest): Promise<void> {
  const id = orchestrationIdOf(doc);
  const steps = await Step.find({ runId: doc.runId }).lean<StepDoc[]>();
  const target = steps.find((s) => String(s._id) === request.stepId);
  if (!target) {
    await Orchestration.updateOne({ _id: doc._id, 'rerun.token': request.token }, { $set: { rerun: null } });
    return;
  }
  const outdated = dependentsOf(steps, target.key);
  await resetForRerun(target, request.token, request.by, request.feedback);
  await Step.updateMany(
    { runId: doc.runId, key: { $in: outdated }, status: 'succeeded' },
    { $set: { outdated: true } },
  );
  for (const s of steps.filter((x) => x.kind === 'synthesis')) await resetForRerun(s, request.token, request.by, null);
  await Step.updateMany({ runId: doc.runId, kind: 'done' }, { $set: fresh(request.token, null) });
  const moved = await transition(id, ['completed', 'failed'], 'executing', {
    by: request.by,
    reason: `re-run of "${target.title}"`,
    where: { 'rerun.token': request.token },
    set: { rerun: null, finishedAt: null, statusReason: null },
  });
  if (!moved) return;
  const titles = steps.filter((s) => outdated.includes(s.key)).map((s) => s.title);
  await ctx.announcer.post(moved, [
    { key: `${id}:rerun:${request.token}`, message: rerunStartedMessage(id, target.title, request, titles) },
  ]);
  await advance(ctx, doc.runId!, id);
  await ctx.announcer.refresh(id, { wait: false });
}

/**
 * After a re-run, the out-of-date steps: run them all again (`rerun`), or keep their results and let
 * the synthesis go on (`keep`). False when nothing was out of date any more.
 */
export async function settleOutdated(
  ctx: EngineContext,
  id: OrchestrationId,
  by: string,
  choice: 'rerun' | 'keep',
): Promise<boolean> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc?.runId) return false;
  const outdated = await Step.find({ runId: doc.runId, outdated: true }).lean<StepDoc[]>();
  if (!outdated.length) return false;
  if (choice === 'keep') {
    await Step.updateMany({ runId: doc.runId, outdated: true }, { $set: { outdated: false } });
  } else {
    const token = new Types.ObjectId().toHexString();
    for (const s of outdated) await resetForRerun(s, token, by, null);
  }
  await advance(ctx, doc.runId, id);
  await ctx.announcer.refresh(id, { wait: false });
  return true;
}
