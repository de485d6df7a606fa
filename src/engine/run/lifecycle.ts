/**
 * How a run moves on, ends or comes back: into synthesis, cancel, fail, finish, the teardown of
 * work in flight, raising the cap of a run stopped by its budget, and what happens when a job gives
 * up after its retries.
 */
import type { Job } from 'agenda';
import { gaveUpText } from '../../blocks/replies.js';
import { formatUsd } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { bookLeasesAfterRun } from '../money/leaseStore.js';
import { type OrchestrationId, orchestrationIdOf, parseOrchestrationId } from '../plan/ids.js';
import { ACTIVE_STATUSES, RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { type AnyJobData, JOBS } from './queue.js';
import { advance } from './scheduler.js';
import { storeWaiting } from './threadOrder.js';
import { loadOrchestration, transition } from './transition.js';

/** The reason stored for a cancel: who cancelled is the transition's `by`, shown as a mention where it is drawn. */
export const CANCELLED = 'Cancelled';

/** Ends an open orchestration as cancelled and tears down its work. Returns null when it was already closed. */
export async function cancel(ctx: EngineContext, id: OrchestrationId, by: string): Promise<OrchestrationDoc | null> {
  const doc = await transition(id, ACTIVE_STATUSES, 'cancelled', { reason: CANCELLED, by });
  if (!doc) return null;
  await teardown(ctx, doc, 'cancelled');
  await ctx.announcer.refresh(id);
  await announceEnd(ctx, doc, by);
  return doc;
}

/**
 * The app left the workspace in scope (uninstalled, or its bot token revoked): every open
 * orchestration there ends as cancelled with `reason`, its work torn down. Nothing is said in
 * Slack, which would refuse it now. Returns how many were cancelled.
 */
export async function cancelAllInWorkspace(ctx: EngineContext, reason: string): Promise<number> {
  const open = await Orchestration.find({ status: { $in: [...ACTIVE_STATUSES] } }, { _id: 1 }).lean();
  let cancelled = 0;
  for (const o of open) {
    const doc = await transition(orchestrationIdOf(o), ACTIVE_STATUSES, 'cancelled', { reason });
    if (!doc) continue;
    await teardown(ctx, doc, 'cancelled');
    cancelled += 1;
  }
  return cancelled;
}

/** Ends a running orchestration as failed, with a reason for the user. Returns false when it had already ended. */
export async function fail(
  ctx: EngineContext,
  id: OrchestrationId,
  reason: string,
  skipReason = 'the run failed',
): Promise<boolean> {
  const doc = await transition(id, [...RUNNING_STATUSES, 'planning', 'proposed'], 'failed', {
    reason,
    set: { budgetStop: skipReason === 'budget' },
  });
  if (!doc) return false;
  await teardown(ctx, doc, skipReason);
  await ctx.announcer.refresh(id);
  await announceEnd(ctx, doc, null);
  return true;
}

const DELIVERED = 'the deliverable was posted';

/** The done step: the deliverable was posted, so the orchestration is completed. */
export async function finish(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  /** The posts before the closing ones (the deliverable's), still being stored. */
  posted?: Promise<unknown>,
): Promise<void> {
  const id = orchestrationIdOf(doc);
  const moved = await transition(id, 'synthesizing', 'completed', { reason: DELIVERED });
  await closeRun(ctx, id, { _id: step._id }, moved, posted);
}

/**
 * The synthesis stored, as the last step before the done step: the run completes at once, and the
 * done step is claimed by `claimant` in the same round (rather than found ready, then claimed,
 * then run), so that a crash before the closing posts leaves it to that job's re-run. False, with
 * nothing changed, when the run cannot complete now (paused or closed meanwhile): advance() decides.
 */
export async function completeAfterSynthesis(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  synthesis: Pick<StepDoc, 'runId'>,
  claimant: string,
  posted: Promise<unknown>,
): Promise<boolean> {
  const id = orchestrationIdOf(doc);
  const now = new Date();
  const lease = new Date(now.getTime() + ctx.config.engine.lockLifetimeMs);
  const [moved, done] = await Promise.all([
    transition(id, 'synthesizing', 'completed', { reason: DELIVERED, where: { paused: null } }),
    Step.findOneAndUpdate(
      { runId: synthesis.runId, kind: 'done', status: { $in: ['pending', 'queued'] } },
      { $set: { status: 'running', startedAt: now, claimedBy: claimant, leaseUntil: lease }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    ).lean<StepDoc>(),
  ]);
  if (!moved) {
    if (done)
      await Step.updateOne(
        { _id: done._id, status: 'running', claimedBy: claimant },
        { $set: { status: 'pending', startedAt: null, claimedBy: null, leaseUntil: null }, $inc: { attempts: -1 } },
      );
    return false;
  }
  // Should the done step not be there to claim (held elsewhere, say), it is marked done all the same.
  await closeRun(ctx, id, done ? { _id: done._id } : { runId: synthesis.runId, kind: 'done' }, moved, posted);
  return true;
}

/** The closing posts of a completed run (after `posted`), then its done step marked done. */
async function closeRun(
  ctx: EngineContext,
  id: OrchestrationId,
  doneStep: Record<string, unknown>,
  moved: OrchestrationDoc | null,
  posted?: Promise<unknown>,
): Promise<void> {
  await posted;
  // A job re-run after a crash finds it completed already, and announces it again: announced
  // before the step is marked done, so nothing is lost, and the posts' keys make a repeat a no-op.
  let done = moved ?? (await loadOrchestration(id).then((d) => (d?.status === 'completed' ? d : null)));
  // A lease a dead process left is booked before the rollup is drawn, so that it adds up.
  if (done && (await bookLeasesAfterRun(id, ctx.leases.keys(id), done.budget.leases)) > 0)
    done = (await loadOrchestration(id)) ?? done;
  if (done) await announceEnd(ctx, done, null);
  await Step.updateOne(doneStep, { $set: { status: 'succeeded', finishedAt: new Date() } });
  if (done) await ctx.announcer.refresh(id, { wait: false });
}

/** The closing posts, after every result's post still waiting for a quiet moment. */
async function announceEnd(ctx: EngineContext, doc: OrchestrationDoc, by: string | null): Promise<void> {
  await storeWaiting(ctx, orchestrationIdOf(doc));
  await ctx.announcer.announceEnd(doc, by);
}

async function teardown(ctx: EngineContext, doc: OrchestrationDoc, skipReason: string): Promise<void> {
  const id = orchestrationIdOf(doc);
  ctx.inflight.abortAll(id);
  // The calls cut off settle in a moment: the lease then closes at once, so that nothing stays reserved.
  void ctx.leases.bookNow(id);
  await ctx.queue.cancelSteps({ orchestrationId: id });
  await Step.updateMany(
    { orchestrationId: doc._id, status: { $in: ['pending', 'queued', 'running'] } },
    { $set: { status: 'skipped', skipReason } },
  );
}

/**
 * "Raise cap and continue": a run stopped by its budget resumes with a higher cap. Completed
 * steps are kept and never re-run; the steps skipped for budget are queued again.
 */
export async function raiseCapAndContinue(
  ctx: EngineContext,
  id: OrchestrationId,
  newCapUsd: number,
  by: string,
): Promise<OrchestrationDoc | null> {
  const current = await loadOrchestration(id);
  if (!current?.budgetStop || current.status !== 'failed' || !current.runId) return null;
  // All while the run is still "failed, waiting for a higher cap", so that nothing can enqueue
  // meanwhile and a crash half-way leaves a second raise to finish the job: the skipped steps
  // back to pending (every step skipped in a budget stop was skipped for the budget, whatever
  // reason the race between teardown and the aborted calls left on it), and any job a racing
  // advance() saved after the teardown removed, lest it make the new enqueue a no-op.
  const skipped = await Step.find({ runId: current.runId, status: 'skipped' }, { _id: 1 }).lean();
  for (const s of skipped) await ctx.queue.cancelSteps({ stepId: String(s._id) });
  await Step.updateMany(
    { runId: current.runId, status: 'skipped' },
    {
      $set: {
        status: 'pending',
        skipReason: null,
        startedAt: null,
        finishedAt: null,
        claimedBy: null,
        leaseUntil: null,
      },
    },
  );
  const doc = await transition(id, 'failed', 'executing', {
    by,
    reason: `cap raised to ${formatUsd(newCapUsd)}`,
    where: { budgetStop: true, 'budget.maxUsd': current.budget.maxUsd },
    set: { budgetStop: false, finishedAt: null, 'budget.maxUsd': newCapUsd, 'budget.warned': false },
  });
  if (!doc) return null;
  // The start job resumes a run as well as it starts one (everything it does is idempotent), and
  // it is retried if the database blinks: one quick write here, so the modal is answered in time.
  await ctx.queue.ensureStart(id).catch((error: unknown) => {
    // The run is executing again in the database: the engine's sweep gives it its start job.
    ctx.logger.warn(`could not queue the resumed run ${id} at once: ${describeError(error)}`);
  });
  void ctx.announcer
    .announceCapRaised(doc, newCapUsd, by)
    .catch((error: unknown) => ctx.logger.warn(`could not announce the raised cap of ${id}: ${describeError(error)}`));
  return doc;
}

/**
 * A job failed on every retry (the database or Slack down for minutes, or a bug). What blocks
 * the run ends it in words, rather than leave it hanging; what only failed to announce a
 * settled step (its thread post) lets the run go on without that post. What was done is kept.
 */
export async function gaveUp(ctx: EngineContext, job: Job, error: Error): Promise<void> {
  const data = job.attrs.data as AnyJobData | undefined;
  const id = parseOrchestrationId(data?.orchestrationId);
  if (!data || !id) return;
  ctx.logger.error(`${job.attrs.name} for ${id} gave up after its retries: ${describeError(error)}`);
  const reason = gaveUpText(describeError(error));
  if (job.attrs.name === JOBS.replan) {
    const doc = await Orchestration.findById(id, { channelId: 1 }).lean();
    if (doc && data.by) {
      const text = `:warning: Asking again failed: ${reason} The current plan is unchanged.`;
      await ctx.announcer.tell(doc.channelId, data.by, data.responseUrl, text);
    }
    return;
  }
  const doc = await Orchestration.findById(id, { status: 1, runId: 1 }).lean();
  const step = data.stepId ? await Step.findById(data.stepId, { status: 1, runId: 1, key: 1 }).lean() : null;
  // A step job whose own step settled may have failed on the chain it went on with (see advance).
  const continued =
    job.attrs.name === JOBS.step
      ? await Step.exists({ claimedBy: String(job.attrs._id), status: 'running', _id: { $ne: data.stepId } })
      : null;
  const settledStep = job.attrs.name === JOBS.step && step && SETTLED_STEP_STATUSES.includes(step.status) && !continued;
  const onlyAnnouncing = settledStep || (job.attrs.name === JOBS.start && doc?.status === 'executing');
  if (onlyAnnouncing && doc?.runId) {
    ctx.logger.error(`going on without a thread post for ${id}${step ? ` (step ${step.key})` : ''}`);
    await ctx.announcer.refresh(id);
    await advance(ctx, doc.runId, id);
    return;
  }
  const ended = await fail(ctx, id, reason);
  if (ended && job.attrs.name === JOBS.plan) {
    await ctx.announcer.respond(
      data.responseUrl ?? null,
      `:warning: ${reason} Nothing was proposed; try again in a moment.`,
    );
  }
}

/**
 * Moves the run to synthesizing, unless every ticket failed: then there is nothing to synthesize
 * (null). The move is made alongside the synthesis' call, which it need not hold up: a run closed
 * meanwhile has its call refused by the budget's reservation. `moved` is to be awaited before the
 * call's result or failure is stored.
 */
export async function startSynthesis(
  ctx: EngineContext,
  id: OrchestrationId,
  step: StepDoc,
  /** Every ticket, as the synthesis' prompt inputs read them (all settled before it starts). */
  read?: Promise<Pick<StepDoc, 'status'>[]>,
): Promise<{ moved: Promise<unknown> } | null> {
  const tickets = await (read ?? Step.find({ runId: step.runId, kind: 'ticket' }, { status: 1 }).lean());
  if (tickets.length && tickets.every((t) => t.status !== 'succeeded')) {
    await Step.updateOne({ _id: step._id }, { $set: { status: 'skipped', skipReason: 'every sub-ticket failed' } });
    await fail(ctx, id, 'Every sub-ticket failed, so there is nothing to synthesize.');
    return null;
  }
  // Drawn ahead of routine updates, but the synthesis waits neither for Slack nor for the change to be stored.
  const moved = transition(id, 'executing', 'synthesizing', { reason: 'all tickets settled' }).then(() => {
    void ctx.announcer.refresh(id, { wait: false });
  });
  moved.catch(() => undefined); // awaited by the caller before the synthesis' result is stored
  return { moved };
}
