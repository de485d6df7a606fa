/**
 * The step job: claims its step under a lease, runs it (executeStep.ts) while watching for a
 * cancel, stores the result before anything is announced, then announces it and enqueues what
 * it unblocks. A job re-run after a crash resumes from the stored step and never repeats a call.
 */
import type { Job } from 'agenda';
import { formatUsd } from '../../blocks/text.js';
import { describeError, hasCode } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { stepAddenda } from '../llm/stepContext.js';
import { releaseHolds } from '../money/budget.js';
import type { TokenUsage } from '../money/pricing.js';
import { roleKitOf } from '../plan/choices.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { storedGaps } from '../plan/results.js';
import { RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import { keepDeliverable } from '../slack/deliverable.js';
import type { DraftStream } from '../slack/draftStream.js';
import { checkSources, citedUrls, type RetrievedSource, RunSourceLedger } from '../tools/sources.js';
import { type EngineContext, meterFor } from './context.js';
import { executeStep, type StepOutcome } from './executeStep.js';
import { fail, finish } from './lifecycle.js';
import { holdForPeople } from './peopleGate.js';
import type { StepJobData } from './queue.js';
import { awaitingReview } from './review.js';
import { advance } from './scheduler.js';
import { claim } from './stepLease.js';
import { draftFor, showProgress } from './stepProgress.js';
import { transition } from './transition.js';

export async function runStepJob(ctx: EngineContext, job: Job<StepJobData>): Promise<void> {
  try {
    const retryAt = await runStep(ctx, job.attrs.data, String(job.attrs._id));
    if (retryAt) job.schedule(retryAt);
  } catch (error) {
    // Agenda retries the job with backoff; it resumes from the stored step and never redoes a call.
    if (!ctx.queue.handingBack)
      ctx.logger.warn(`step job ${job.attrs.data.stepId} will be retried: ${describeError(error)}`);
    throw error;
  }
}

/** Runs the step, or says when to look again (another job holds it under a lease that may lapse). */
async function runStep(
  ctx: EngineContext,
  { orchestrationId: id, stepId }: StepJobData,
  claimant: string,
): Promise<Date | undefined> {
  // Read together: a hand-off is the critical path of the run.
  const [step, doc] = await Promise.all([
    Step.findById(stepId).lean<StepDoc>(),
    Orchestration.findById(id).lean<OrchestrationDoc>(),
  ]);
  if (!step) return;
  if (SETTLED_STEP_STATUSES.includes(step.status)) {
    // Re-run after a crash or a Slack outage: the result is stored and never recomputed; finish
    // announcing it, even if the run has ended meanwhile, so that no result is lost.
    if (!doc) return;
    // The done step settled but its process may have died before the closing posts were stored.
    if (step.kind === 'done') {
      if (doc.status === 'completed') await ctx.announcer.announceEnd(doc, null);
      return;
    }
    if (RUNNING_STATUSES.includes(doc.status)) await followUp(ctx, doc, step);
    else await ctx.announcer.announceStep(doc, step);
    return;
  }
  // The done step's job cut off after completing the run, before its closing posts were stored.
  if (step.kind === 'done' && doc?.status === 'completed') {
    await finish(ctx, doc, step);
    return;
  }
  if (!doc || !RUNNING_STATUSES.includes(doc.status)) {
    const skipReason = doc?.budgetStop ? 'budget' : (doc?.status ?? 'closed');
    await Step.updateOne(
      { _id: step._id, status: { $nin: SETTLED_STEP_STATUSES } },
      { $set: { status: 'skipped', skipReason } },
    );
    return;
  }
  // Paused: a step not yet started goes back to waiting; Resume enqueues it again.
  if (doc.paused && step.status !== 'running') {
    await Step.updateOne({ _id: step._id, status: 'queued' }, { $set: { status: 'pending' } });
    return;
  }
  if (step.kind === 'people') return holdForPeople(ctx, doc, step);
  const claimed = await claim(ctx, step, claimant);
  if (!claimed) {
    // Held by another job. Should that job be dead but never taken over (its document replaced,
    // say), this one must still run the step once the lease lapses: look again then.
    const held = await Step.findById(step._id, { status: 1, leaseUntil: 1 }).lean();
    return held?.status === 'running' && held.leaseUntil
      ? new Date(new Date(held.leaseUntil).getTime() + 1000)
      : undefined;
  }
  // A crash interrupted this step's call: the provider may have billed it, so its worst case stays
  // spent. (A first claim cannot have left a hold behind, so only a later one looks.)
  if (claimed.attempts > 1)
    await releaseHolds(
      id,
      `step:${String(claimed._id)}`,
      roleKitOf(doc.proposal!, claimed.roleKey).model ?? ctx.llm.model,
    );

  if (claimed.kind === 'done') {
    await finish(ctx, doc, claimed);
    return;
  }
  if (claimed.kind === 'synthesis' && !(await startSynthesis(ctx, id, claimed))) return;
  void showProgress(ctx, doc, claimed).catch(() => undefined);

  let outcome: Executed | null = null;
  let failure: unknown = null;
  const draft = claimed.kind === 'synthesis' ? draftFor(ctx, doc) : null;
  try {
    outcome = await ctx.inflight.track(id, (signal) => executeWatched(ctx, doc, claimed, signal, draft));
  } catch (error) {
    failure = error;
  }
  await draft?.finish(outcome !== null);
  // What follows (posts, redraw, enqueueing) may throw on infrastructure trouble; the job is
  // then retried and resumes from the stored step.
  if (outcome) await succeed(ctx, doc, claimed, outcome);
  else await stepFailed(ctx, doc, claimed, failure);
}

/** Moves the run to synthesizing, unless every ticket failed: then there is nothing to synthesize. */
async function startSynthesis(ctx: EngineContext, id: OrchestrationId, step: StepDoc): Promise<boolean> {
  const tickets = await Step.find({ runId: step.runId, kind: 'ticket' }, { status: 1 }).lean();
  if (tickets.length && tickets.every((t) => t.status !== 'succeeded')) {
    await Step.updateOne({ _id: step._id }, { $set: { status: 'skipped', skipReason: 'every sub-ticket failed' } });
    await fail(ctx, id, 'Every sub-ticket failed, so there is nothing to synthesize.');
    return false;
  }
  await transition(id, 'executing', 'synthesizing', { reason: 'all tickets settled' });
  // Drawn ahead of routine updates, but the synthesis does not wait for Slack to draw it.
  await ctx.announcer.refresh(id, { wait: false });
  return true;
}

/** Executes the step while a watch aborts it should its orchestration be closed elsewhere (another instance). */
async function executeWatched(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  signal: AbortSignal,
  draft: DraftStream | null,
) {
  const id = orchestrationIdOf(doc);
  const kit = roleKitOf(doc.proposal!, step.roleKey);
  const model = kit.model ?? ctx.models.defaultModel;
  // What this step retrieves (search results seen, pages read), kept with its result so that
  // citations can be checked against what the run really read.
  const ledger = new RunSourceLedger();
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort(), { once: true });
  const watch = setInterval(() => {
    Orchestration.findById(id, { status: 1 })
      .lean()
      .then((o) => {
        if (!o || !RUNNING_STATUSES.includes(o.status)) controller.abort();
      })
      .catch(() => undefined);
  }, ctx.watchIntervalMs);
  // Every call (retries and repairs included) is booked on its step as soon as it is settled,
  // with the model that was billed, so that the rollup adds up per step, role and model even
  // when the process dies mid-step.
  const onCost = async (usd: number, usage: TokenUsage | null) => {
    const tokens = {
      'tokens.input': usage?.input ?? 0,
      'tokens.output': usage?.output ?? 0,
      'tokens.cached': usage?.cacheRead ?? 0,
    };
    await Step.updateOne({ _id: step._id }, { $inc: { costUsd: usd, ...tokens }, $set: { model } });
  };
  try {
    const { tools: settings } = ctx.config;
    const outcome = await executeStep(doc.proposal!, step, {
      meter: meterFor(ctx, id, { name: `step:${String(step._id)}`, onCost, model: kit.model }),
      signal: controller.signal,
      maxTokens: ctx.config.llm.maxOutputTokens,
      attempts: ctx.config.engine.stepAttempts,
      retryBaseMs: ctx.config.engine.retryBaseMs,
      addedContext: stepAddenda(doc, step.startedAt, settings.contextMaxChars),
      tools: ctx.tools.forStep({ orchestrationId: id, ledger, signal: controller.signal }, kit.tools),
      toolLimits: {
        maxToolCalls: settings.maxToolCalls,
        resultMaxChars: settings.resultMaxChars,
        timeLimitMs: settings.stepTimeLimitMs,
      },
      ...(draft ? { onDraft: (partial: string) => draft.update(partial) } : {}),
    });
    return { ...outcome, retrieved: ledger.entries() };
  } finally {
    clearInterval(watch);
  }
}

type Executed = StepOutcome & { retrieved: RetrievedSource[] };

/** Each URL the result cites, checked against what any step of this run retrieved. */
async function citationsOf(step: StepDoc, outcome: Executed): Promise<Array<{ url: string; retrieved: boolean }>> {
  const cited = citedUrls(outcome.output);
  if (!cited.length) return [];
  const earlier = await Step.find({ runId: step.runId, _id: { $ne: step._id } }, { retrieved: 1 }).lean<StepDoc[]>();
  const retrieved = [...outcome.retrieved, ...earlier.flatMap((s) => s.retrieved ?? [])];
  return checkSources(cited, retrieved).map((c) => ({ url: c.url, retrieved: c.retrieved }));
}

async function succeed(ctx: EngineContext, doc: OrchestrationDoc, step: StepDoc, outcome: Executed): Promise<void> {
  const finishedAt = new Date();
  const result = {
    output: outcome.output,
    structured: outcome.structured,
    model: outcome.model,
    finishedAt,
    error: null,
    toolCalls: outcome.toolCalls,
    retrieved: outcome.retrieved,
    citations: await citationsOf(step, outcome),
  };
  const stored = await Step.updateOne(
    { _id: step._id, status: 'running' },
    { $set: { status: 'succeeded', ...result, review: awaitingReview(step, finishedAt) } },
  );
  if (stored.modifiedCount !== 1) return; // cancelled or failed meanwhile: the result is not announced
  if (step.kind === 'synthesis') {
    const deliverable = {
      markdown: outcome.output,
      gaps: storedGaps(outcome.structured),
      stepId: step._id,
      at: finishedAt,
    };
    await Orchestration.updateOne({ _id: doc._id }, { $set: { deliverable } });
  }
  await followUp(ctx, doc, step);
}

/**
 * What follows a settled step: its thread posts, the redraw, and enqueueing what it unblocks.
 * Built from the stored step alone, so a job re-run after a crash between storing the result
 * and announcing it completes the announcement (updating, never duplicating, posts).
 */
async function followUp(ctx: EngineContext, doc: OrchestrationDoc, settled: Pick<StepDoc, '_id'>): Promise<void> {
  const step = await Step.findById(settled._id).lean<StepDoc>();
  if (!step) return;
  // Stored for posting before anything it unblocks is enqueued: the thread keeps the run's order.
  // The reads that decide what is unblocked go on meanwhile: a hand-off is the critical path.
  const announced = ctx.announcer.announceStep(doc, step);
  const id = orchestrationIdOf(doc);
  if (step.kind === 'synthesis' && step.status === 'succeeded') {
    await announced;
    await keepDeliverable(ctx.announcer, ctx.logger, doc);
  }
  await advance(ctx, step.runId, id, announced);
  await ctx.announcer.warnNearCap(doc);
  await ctx.announcer.refresh(id, { urgent: false });
}

async function stepFailed(ctx: EngineContext, doc: OrchestrationDoc, step: StepDoc, error: unknown): Promise<void> {
  const id = orchestrationIdOf(doc);
  const settle = (status: 'skipped' | 'failed', fields: Record<string, unknown>) =>
    Step.updateOne({ _id: step._id, status: 'running' }, { $set: { status, finishedAt: new Date(), ...fields } });
  if (hasCode(error, 'budget_exceeded')) {
    await settle('skipped', { skipReason: 'budget' });
    const fresh = await Orchestration.findById(doc._id, { budget: 1 }).lean();
    const b = fresh?.budget ?? doc.budget;
    const reason =
      `Budget exceeded: ${formatUsd(b.spentUsd)} spent of the ${formatUsd(b.maxUsd)} cap, and the next call could cost up to ` +
      `${formatUsd(error.neededUsd)}. The steps that could not run were skipped; raise the cap to continue.`;
    await fail(ctx, id, reason, 'budget');
    return;
  }
  // The process is shutting down and cut the call: the step stays claimed by this job, whose retry
  // (on the next instance, at once: its lock is released) takes it up again.
  if (ctx.queue.handingBack) throw error;
  if (hasCode(error, 'orchestration_closed') || (hasCode(error, 'llm_call') && error.aborted)) {
    const now = await Orchestration.findById(doc._id, { status: 1, budgetStop: 1 }).lean();
    await settle('skipped', { skipReason: now?.budgetStop ? 'budget' : 'stopped' });
    // Only a closed orchestration aborts calls; should one still be running, never leave it hanging.
    if (now && RUNNING_STATUSES.includes(now.status)) await advance(ctx, step.runId, id);
    return;
  }
  // Anything but the LLM's own failure (the database not answering while the prompt was put
  // together, say) is worth another go of the whole job: this job still holds the step.
  if (!(hasCode(error, 'step_failure') || hasCode(error, 'llm_call'))) throw error;
  const reason = error.message;
  ctx.logger.warn(`step ${step.key} of ${id} failed: ${reason}`);
  const stored = await settle('failed', { error: reason });
  if (stored.modifiedCount !== 1) return;
  if (step.kind !== 'ticket') {
    const what = step.kind === 'discuss' ? 'discussion round' : step.kind;
    await fail(ctx, id, `The ${what} step "${step.title}" failed: ${reason}`);
    return;
  }
  await followUp(ctx, doc, step);
}
