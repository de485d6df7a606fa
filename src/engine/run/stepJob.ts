/**
 * The step job: claims its step under a lease, runs it (executeStep.ts) while watching for a
 * cancel, stores the result before anything is announced, then announces it and enqueues what
 * it unblocks. A job re-run after a crash resumes from the stored step and never repeats a call.
 */
import type { Job } from 'agenda';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { stepAddenda } from '../llm/stepContext.js';
import { releaseHolds } from '../money/budget.js';
import type { TokenUsage } from '../money/pricing.js';
import { roleKitOf } from '../plan/choices.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import type { DraftStream } from '../slack/draftStream.js';
import { RunSourceLedger } from '../tools/sources.js';
import { type EngineContext, meterFor } from './context.js';
import { executeStep, type PromptInputs, readPromptInputs } from './executeStep.js';
import { fail, finish } from './lifecycle.js';
import { holdForPeople } from './peopleGate.js';
import type { StepJobData } from './queue.js';
import { claim } from './stepLease.js';
import { type Executed, followUp, stepFailed, succeed } from './stepOutcome.js';
import { draftFor, showProgress } from './stepProgress.js';
import { transition } from './transition.js';

/** How long a request takes to leave once the call starts (the client built, the body written), on a busy loop. */
const REQUEST_LEAVES_MS = 20;

export async function runStepJob(ctx: EngineContext, job: Job<StepJobData>): Promise<void> {
  const { stepId } = job.attrs.data;
  try {
    const retryAt = await runStep(ctx, job.attrs.data, String(job.attrs._id));
    if (retryAt) job.schedule(retryAt);
  } catch (error) {
    // Agenda retries the job with backoff; it resumes from the stored step and never redoes a call.
    if (!ctx.queue.handingBack) ctx.logger.warn(`step job ${stepId} will be retried: ${describeError(error)}`);
    throw error;
  } finally {
    ctx.announcer.foreground.release(`start:${stepId}`);
    ctx.announcer.foreground.release(`handoff:${stepId}`);
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
  // The prompt's reads go with the claim rather than after it (one round trip fewer on the
  // critical path); should the claim fail, they are dropped.
  const inputs = step.kind === 'done' ? undefined : readPromptInputs(step);
  inputs?.catch(() => undefined);
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
    outcome = await ctx.inflight.track(id, (signal) => executeWatched(ctx, doc, claimed, signal, draft, inputs));
  } catch (error) {
    failure = error;
  }
  // From here until what it unblocks is enqueued, this is the run's critical path.
  ctx.announcer.foreground.hold(`handoff:${String(claimed._id)}`);
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
  // Drawn ahead of routine updates, but the synthesis waits neither for Slack nor for the change to be stored.
  void ctx.announcer.refresh(id, { wait: false });
  return true;
}

/** Executes the step while a watch aborts it should its orchestration be closed elsewhere (another instance). */
async function executeWatched(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  signal: AbortSignal,
  draft: DraftStream | null,
  inputs?: Promise<PromptInputs>,
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
      meter: meterFor(ctx, id, {
        name: `step:${String(step._id)}`,
        onCost,
        model: kit.model,
        // The request is on its way (written within a few ms): the hand-off that led here is over.
        onRequest: () => ctx.announcer.foreground.hold(`start:${String(step._id)}`, REQUEST_LEAVES_MS),
      }),
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
      ...(inputs ? { inputs } : {}),
    });
    return { ...outcome, retrieved: ledger.entries() };
  } finally {
    clearInterval(watch);
  }
}
