/**
 * The step job: claims its step under a lease, runs it (watchedStep.ts) while watching for a
 * cancel, stores the result before anything is announced, then announces it and hands on what
 * it unblocked: one such step it claims and runs itself next, others alongside while the process
 * has room (stepSlots.ts), the rest are enqueued. A hand-off is then a claim rather than a job
 * stored, locked and read back. A job re-run after a crash resumes from the stored steps (its own,
 * then those it claimed) and never repeats a call.
 */
import type { Job } from 'agenda';
import { describeError } from '../../errors.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { releaseHolds } from '../money/budget.js';
import { roleKitOf } from '../plan/choices.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { type PromptInputs, readPromptInputs } from './executeStep.js';
import { finish, startSynthesis } from './lifecycle.js';
import { holdForPeople } from './peopleGate.js';
import type { StepJobData } from './queue.js';
import type { Continuation } from './scheduler.js';
import { readOrchestration } from './sharedReads.js';
import { claim } from './stepLease.js';
import { type Chain, type Executed, resumeChain, stepFailed, succeed } from './stepOutcome.js';
import { draftFor, showProgress } from './stepProgress.js';
import { storeWaiting } from './threadOrder.js';
import { executeWatched } from './watchedStep.js';

export async function runStepJob(ctx: EngineContext, job: Job<StepJobData>): Promise<void> {
  await ctx.stepSlots.take();
  if (ctx.queue.draining) {
    // Shut down while waiting for room: the job is left due, for the next instance.
    ctx.stepSlots.release();
    job.schedule(new Date());
    return;
  }
  await runChain(ctx, job, [job.attrs.data.stepId], async (chain) => {
    const { retryAt, next } = await runStep(ctx, job.attrs.data, chain);
    if (retryAt) job.schedule(retryAt);
    return next;
  });
}

/**
 * Runs `first` (in the step slot the job holds, released here) and then the job's chain: each
 * step the last one unblocked is run here, by this job, rather than by a job of its own, and others
 * alongside while the process has room (forks). Should the job be retried, or re-run after a
 * crash, it resumes the steps it claimed. `ran`: the steps the job has run so far (its own).
 */
export async function runChain(
  ctx: EngineContext,
  job: Job,
  ran: string[],
  first: (chain: Chain) => Promise<Continuation | null>,
): Promise<void> {
  const { orchestrationId, stepId } = job.attrs.data as { orchestrationId: OrchestrationId; stepId?: string };
  const trailing: Promise<unknown>[] = [];
  const forks: Promise<unknown>[] = [];
  const runFrom = async (from: Continuation | null) => {
    for (let step = from; step; ) {
      // Two branches of this job settling together may both find the same step ready; it is this
      // job's claim either way (see claim), so the second branch stops here.
      if (ran.includes(String(step._id))) return;
      ran.push(String(step._id));
      step = await runContinued(ctx, orchestrationId, step, chain);
    }
  };
  const chain: Chain = {
    claimant: String(job.attrs._id),
    defer(work) {
      // Awaited below; until then a failure must not count as unhandled.
      work.catch(() => undefined);
      trailing.push(work);
    },
    pending() {
      const all = Promise.all(trailing);
      all.catch(() => undefined); // whoever asked awaits it, perhaps a little later
      return all;
    },
    fork(step) {
      if (ctx.queue.draining || !ctx.stepSlots.tryTake()) return false;
      const fork = runFrom(step).finally(() => ctx.stepSlots.release());
      fork.catch(() => undefined); // awaited below
      forks.push(fork);
      return true;
    },
  };
  let failure: unknown = null;
  try {
    await runFrom(await first(chain));
  } catch (error) {
    failure = error;
  } finally {
    ctx.stepSlots.release();
  }
  // The job ends when its forks have (they may fork in turn), and what they all deferred is done.
  // Every fork awaited, whatever failed first: a job that ended under a running fork would be
  // retried while that fork's call is still in flight, and the step called twice.
  for (let i = 0; i < forks.length; i++) {
    const error = await forks[i]!.then(
      () => null,
      (e: unknown) => e,
    );
    failure ??= error;
  }
  const deferred = (await Promise.allSettled(trailing)).find((r) => r.status === 'rejected');
  failure ??= deferred ? deferred.reason : null;
  for (const id of ran) {
    ctx.announcer.foreground.release(`start:${id}`);
    ctx.announcer.foreground.release(`handoff:${id}`);
  }
  if (failure) {
    // Agenda retries the job with backoff; it resumes from the stored steps and never redoes a call.
    if (!ctx.queue.handingBack)
      ctx.logger.warn(
        `${stepId ? `step job ${stepId}` : `start job of ${orchestrationId}`} will be retried: ${describeError(failure)}`,
      );
    throw failure;
  }
}

interface StepRun {
  /** When to look again: another job holds the step under a lease that may lapse. */
  retryAt?: Date;
  /** The step this job runs next (see advance). */
  next: Continuation | null;
}

/** Runs the job's own step, or says when to look again. */
async function runStep(
  ctx: EngineContext,
  { orchestrationId: id, stepId }: StepJobData,
  chain: Chain,
): Promise<StepRun> {
  const { claimant } = chain;
  const none = { next: null };
  // Read together: a hand-off is the critical path of the run.
  const [step, doc] = await Promise.all([Step.findById(stepId).lean<StepDoc>(), readOrchestration(id)]);
  if (!step) return none;
  if (SETTLED_STEP_STATUSES.includes(step.status)) {
    if (!doc) return none;
    // The done step settled but its process may have died before the closing posts were stored.
    if (step.kind === 'done') {
      if (doc.status === 'completed') await ctx.announcer.announceEnd(doc, null);
      return none;
    }
    return { next: await resumeChain(ctx, doc, step, chain) };
  }
  // The done step's job cut off after completing the run, before its closing posts were stored.
  if (step.kind === 'done' && doc?.status === 'completed') {
    await finish(ctx, doc, step);
    return none;
  }
  if (!doc || !RUNNING_STATUSES.includes(doc.status)) {
    const skipReason = doc?.budgetStop ? 'budget' : (doc?.status ?? 'closed');
    await Step.updateOne(
      { _id: step._id, status: { $nin: SETTLED_STEP_STATUSES } },
      { $set: { status: 'skipped', skipReason } },
    );
    return none;
  }
  // Paused: a step not yet started goes back to waiting; Resume enqueues it again.
  if (doc.paused && step.status !== 'running') {
    await Step.updateOne({ _id: step._id, status: 'queued' }, { $set: { status: 'pending' } });
    return none;
  }
  if (step.kind === 'people') {
    const retryAt = await holdForPeople(ctx, doc, step);
    return retryAt ? { retryAt, next: null } : none;
  }
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
      ? { retryAt: new Date(new Date(held.leaseUntil).getTime() + 1000), next: null }
      : none;
  }
  return { next: await runClaimed(ctx, doc, claimed, chain, inputs) };
}

/**
 * A step this job goes on with: pending a moment ago (or claimed by this job before its retry),
 * so it is claimed at once, its orchestration and its prompt's inputs read alongside.
 */
async function runContinued(
  ctx: EngineContext,
  id: OrchestrationId,
  step: Continuation,
  chain: Chain,
): Promise<Continuation | null> {
  const { claimant } = chain;
  const inputs = step.kind === 'done' ? undefined : readPromptInputs(step);
  inputs?.catch(() => undefined);
  if (step.claimedWith) {
    const { claimedWith, ...claimed } = step;
    return runClaimed(ctx, claimedWith, claimed as StepDoc, chain, inputs);
  }
  const [claimed, doc] = await Promise.all([claim(ctx, step, claimant), readOrchestration(id)]);
  // Another job took it: a racing dependency's, or the recovery sweep's once this job's lease lapsed.
  if (!claimed) return null;
  const resumed = step.status === 'running';
  if (doc && RUNNING_STATUSES.includes(doc.status) && (resumed || !doc.paused))
    return runClaimed(ctx, doc, claimed, chain, inputs);
  // Closed, or paused, since it was found ready: let go of it as its own job would have.
  const mine = { _id: claimed._id, status: 'running' as const, claimedBy: claimant };
  if (doc && RUNNING_STATUSES.includes(doc.status))
    await Step.updateOne(mine, {
      $set: { status: 'pending', claimedBy: null, leaseUntil: null },
      $inc: { attempts: -1 },
    });
  else
    await Step.updateOne(mine, {
      $set: { status: 'skipped', skipReason: doc?.budgetStop ? 'budget' : (doc?.status ?? 'closed') },
    });
  return null;
}

/** Runs a claimed step and settles it; returns the step this job goes on with, if any. */
async function runClaimed(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  claimed: StepDoc,
  chain: Chain,
  inputs?: Promise<PromptInputs>,
): Promise<Continuation | null> {
  const id = orchestrationIdOf(doc);
  // A crash interrupted this step's call: the provider may have billed it, so its worst case stays
  // spent. A step's own hold is what an older version left (a lease left behind is booked with the
  // run, see lease.ts); a first claim cannot have left one, so only a later one looks.
  if (claimed.attempts > 1)
    await releaseHolds(
      id,
      `step:${String(claimed._id)}`,
      roleKitOf(doc.proposal!, claimed.roleKey).model ?? ctx.llm.model,
    );

  if (claimed.kind === 'done') {
    // It makes no request: its start is over, and what waits for a quiet moment need not wait for it.
    ctx.announcer.foreground.release(`start:${String(claimed._id)}`);
    await finish(ctx, doc, claimed, chain.pending());
    return null;
  }
  // Its live draft goes to the thread as it is written: after the results before it, which may
  // still be waiting to be stored (the call does not wait for them).
  const draft =
    claimed.kind === 'synthesis' ? draftFor(ctx, doc, () => chain.pending().then(() => storeWaiting(ctx, id))) : null;
  let synthesizing: Promise<unknown> | undefined;
  if (claimed.kind === 'synthesis') {
    const started = await startSynthesis(
      ctx,
      id,
      claimed,
      inputs?.then((i) => i.deps),
    );
    if (!started) return null;
    synthesizing = started.moved;
  }
  void showProgress(ctx, doc, claimed).catch(() => undefined);

  let outcome: Executed | null = null;
  let failure: unknown = null;
  try {
    outcome = await ctx.inflight.track(id, (signal) => executeWatched(ctx, doc, claimed, signal, draft, inputs));
  } catch (error) {
    failure = error;
  }
  try {
    await synthesizing;
  } catch (error) {
    // The run's move did not land: the job is retried; the draft it opened is not left open meanwhile.
    await draft?.finish(false);
    throw error;
  }
  // From here until what it unblocks is enqueued, this is the run's critical path.
  ctx.announcer.foreground.hold(`handoff:${String(claimed._id)}`);
  // A written deliverable is stored while its live draft closes at Slack's pace: the thread's later
  // posts wait for the close in the outbox, not this job, so the run completes without waiting for it.
  if (outcome) draft?.close(true);
  else await draft?.finish(false);
  // What follows (posts, redraw, enqueueing) may throw on infrastructure trouble; the job is
  // then retried and resumes from the stored step.
  return outcome ? succeed(ctx, doc, claimed, outcome, chain) : stepFailed(ctx, doc, claimed, failure, chain);
}
