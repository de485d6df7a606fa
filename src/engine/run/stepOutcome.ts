/**
 * What follows a step's call: its result stored (with its citations checked) before anything is
 * announced, then its thread posts, what it unblocks enqueued, and the redraw; or its failure,
 * sorted into what stops the run, what skips the step, and what the job should try again; and,
 * for a job re-run, the follow-up of every step it had settled, again.
 */
import { formatUsd } from '../../blocks/text.js';
import { hasCode } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { releaseHolds } from '../money/budget.js';
import { roleKitOf } from '../plan/choices.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { storedGaps } from '../plan/results.js';
import { RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import { keepDeliverable, needsKeeping } from '../slack/deliverable.js';
import { checkSources, citedUrls, type RetrievedSource } from '../tools/sources.js';
import type { EngineContext } from './context.js';
import type { StepOutcome } from './executeStep.js';
import { completeAfterSynthesis, fail, finish } from './lifecycle.js';
import { awaitingReview } from './review.js';
import { advance, type Continuation, type Stored } from './scheduler.js';
import type { StepBooking } from './stepBooking.js';
import { storeWaiting, storeWhenQuiet } from './threadOrder.js';

export type Executed = StepOutcome & { retrieved: RetrievedSource[]; booking: StepBooking };

/** Each URL the result cites, checked against what any step of this run retrieved. */
async function citationsOf(step: StepDoc, outcome: Executed): Promise<Array<{ url: string; retrieved: boolean }>> {
  const cited = citedUrls(outcome.output);
  if (!cited.length) return [];
  const earlier = await Step.find({ runId: step.runId, _id: { $ne: step._id } }, { retrieved: 1 }).lean<StepDoc[]>();
  const retrieved = [...outcome.retrieved, ...earlier.flatMap((s) => s.retrieved ?? [])];
  return checkSources(cited, retrieved).map((c) => ({ url: c.url, retrieved: c.retrieved }));
}

/**
 * The step job whose chain a settled step's follow-up continues (see advance): its id, and where
 * the follow-up's routine tail (the near-cap check, the redraw) goes once a next step is found, so
 * that the next step starts without waiting for it; the job awaits it before it ends.
 */
export interface Chain {
  claimant: string;
  defer(trailing: Promise<unknown>): void;
  /** Settles when what was deferred so far is done: a step's posts wait for the posts of the step before it. */
  pending(): Promise<unknown>;
  /** Runs a ready step alongside (see advance); false when this process has no room for it. */
  fork?(step: Continuation): boolean;
}

export interface FollowUpOptions {
  chain?: Chain | undefined;
  /** The agent's name as the step's prompt had it: its thread post says it without reading the agent again. */
  agentName?: string;
}

export async function succeed(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  outcome: Executed,
  chain?: Chain,
): Promise<Continuation | null> {
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
  // The last call's cost goes in this write: one write ahead of the hand-off.
  const { inc, settled } = outcome.booking.take();
  // So does a deliverable while the run is synthesizing (else it is stored once the step is).
  const deliverable =
    step.kind === 'synthesis'
      ? { markdown: outcome.output, gaps: storedGaps(outcome.structured), stepId: step._id, at: finishedAt }
      : null;
  const [stored, , kept] = await Promise.all([
    Step.findOneAndUpdate(
      { _id: step._id, status: 'running' },
      {
        $set: { status: 'succeeded', ...result, review: awaitingReview(step, finishedAt) },
        ...(inc ? { $inc: inc } : {}),
      },
      { returnDocument: 'after' },
    ).lean<StepDoc>(),
    // The run's last call: what its calls cost is booked before it can complete, the lease closed.
    deliverable ? Promise.all([settled, ctx.leases.bookNow(orchestrationIdOf(doc))]) : settled,
    deliverable && Orchestration.updateOne({ _id: doc._id, status: 'synthesizing' }, { $set: { deliverable } }),
  ]);
  if (!stored) {
    // Cancelled or failed meanwhile: the result is not announced, but what it cost is the step's.
    await outcome.booking.restore(inc);
    return null;
  }
  if (deliverable && kept?.matchedCount !== 1)
    await Orchestration.updateOne({ _id: doc._id }, { $set: { deliverable } });
  return followUp(ctx, doc, stored, stored, { chain, agentName: outcome.agentName });
}

/**
 * What follows a settled step: its thread posts, the redraw, and enqueueing what it unblocks.
 * Built from the stored step alone (`fresh`, as the write that settled it returned it, or read
 * again), so a job re-run after a crash between storing the result and announcing it completes
 * the announcement (updating, never duplicating, posts).
 */
export async function followUp(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  settled: Pick<StepDoc, '_id'>,
  fresh?: StepDoc,
  { chain, agentName }: FollowUpOptions = {},
): Promise<Continuation | null> {
  const step = fresh ?? (await Step.findById(settled._id).lean<StepDoc>());
  if (!step) return null;
  // Stored for posting before anything it unblocks is enqueued, and in a chain after the chain's
  // earlier posts: the thread keeps the run's order. The reads that decide what is unblocked go
  // first: a hand-off is the critical path. A ticket's post, where only the chain's later posts wait
  // for it, is stored once no hand-off is in flight (see threadOrder.ts).
  const id = orchestrationIdOf(doc);
  const store = () => ctx.announcer.announceStep(doc, step, agentName);
  const before = chain?.pending();
  const announce = (awaited: boolean): Promise<unknown> => {
    // What a non-ticket step posts (the deliverable, say) comes after every result's post waiting
    // now; not after later ones, which may wait for this one.
    if (step.kind !== 'ticket') return Promise.all([before, storeWaiting(ctx, id)]).then(store);
    // Known at once to what closes the thread, which has it stored then (see threadOrder.ts).
    if (before && !awaited) return storeWhenQuiet(ctx, id, store, before);
    return Promise.resolve(before).then(store);
  };
  let announced: Stored = announce;
  // A long deliverable is kept whole (a canvas or a file) before the run can complete.
  if (
    step.kind === 'synthesis' &&
    step.status === 'succeeded' &&
    needsKeeping(step.output ?? '', storedGaps(step.structured))
  ) {
    announced = announce(true);
    await announced;
    await keepDeliverable(ctx.announcer, ctx.logger, doc);
  }
  // The synthesis is the last call: the run completes with its result, unless people review it first.
  if (step.kind === 'synthesis' && step.status === 'succeeded' && step.review?.state !== 'awaiting' && chain) {
    const posted = typeof announced === 'function' ? announced(true) : announced;
    // The closing posts come after the deliverable's, and after a warning its cost may call for.
    const closing = Promise.all([posted, chain.pending()]).then(() => ctx.announcer.warnNearCap(doc));
    closing.catch(() => undefined); // awaited once the run has completed, or by the job
    if (await completeAfterSynthesis(ctx, doc, step, chain.claimant, closing)) {
      ctx.announcer.foreground.release(`handoff:${String(step._id)}`);
      return null;
    }
    chain.defer(closing);
    announced = posted;
  }
  const next = await advance(ctx, step.runId, id, announced, chain ? { ...chain, settled: step.key } : undefined);
  ctx.announcer.foreground.release(`handoff:${String(step._id)}`);
  // Nobody waits for these: in a chain, they wait until no hand-off is in flight here (their reads
  // and writes would slow one), and the job ends once they are done.
  const tail = () => ctx.announcer.warnNearCap(doc).then(() => ctx.announcer.refresh(id, { urgent: false }));
  const trailing = chain ? ctx.announcer.foreground.quiet().then(tail) : tail();
  if (next && chain) chain.defer(trailing);
  else await trailing;
  return next;
}

export async function stepFailed(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  error: unknown,
  chain?: Chain,
): Promise<Continuation | null> {
  const id = orchestrationIdOf(doc);
  const settle = (status: 'skipped' | 'failed', fields: Record<string, unknown>) =>
    Step.updateOne({ _id: step._id, status: 'running' }, { $set: { status, finishedAt: new Date(), ...fields } });
  if (hasCode(error, 'budget_exceeded')) {
    // What the calls so far cost, booked: the reason says what was spent.
    await Promise.all([settle('skipped', { skipReason: 'budget' }), ctx.leases.bookNow(id)]);
    const fresh = await Orchestration.findById(doc._id, { budget: 1 }).lean();
    const b = fresh?.budget ?? doc.budget;
    const reason =
      `Budget exceeded: ${formatUsd(b.spentUsd)} spent of the ${formatUsd(b.maxUsd)} cap, and the next call could cost up to ` +
      `${formatUsd(error.neededUsd)}. The steps that could not run were skipped; raise the cap to continue.`;
    await fail(ctx, id, reason, 'budget');
    return null;
  }
  // The process is shutting down and cut the call: the step stays claimed by this job, whose retry
  // (on the next instance, at once: its lock is released) takes it up again.
  if (ctx.queue.handingBack) throw error;
  if (hasCode(error, 'orchestration_closed') || (hasCode(error, 'llm_call') && error.aborted)) {
    const now = await Orchestration.findById(doc._id, { status: 1, budgetStop: 1 }).lean();
    await settle('skipped', { skipReason: now?.budgetStop ? 'budget' : 'stopped' });
    // Only a closed orchestration aborts calls; should one still be running, never leave it hanging.
    return now && RUNNING_STATUSES.includes(now.status) ? advance(ctx, step.runId, id, undefined, chain) : null;
  }
  // Anything but the LLM's own failure (the database not answering while the prompt was put
  // together, say) is worth another go of the whole job: this job still holds the step.
  if (!(hasCode(error, 'step_failure') || hasCode(error, 'llm_call'))) throw error;
  const reason = error.message;
  ctx.logger.warn(`step ${step.key} of ${id} failed: ${reason}`);
  const stored = await settle('failed', { error: reason });
  if (stored.modifiedCount !== 1) return null;
  if (step.kind !== 'ticket') {
    const what = step.kind === 'discuss' ? 'discussion round' : step.kind;
    await fail(ctx, id, `The ${what} step "${step.title}" failed: ${reason}`);
    return null;
  }
  return followUp(ctx, doc, step, undefined, { chain });
}

/**
 * Re-run after a crash, a retry or a Slack outage, with the job's own step settled: results are
 * stored and never recomputed. Every step this job settled (its own, then the chain it went on
 * with) is announced again, in order, even if the run has ended meanwhile, so that no result is
 * lost (a repeat is a no-op, by the posts' keys); what they unblocked is enqueued, and the step
 * the job was running when it stopped is returned to resume.
 */
export async function resumeChain(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
  chain: Chain,
): Promise<Continuation | null> {
  const ran = await Step.find({
    runId: step.runId,
    claimedBy: chain.claimant,
    status: { $in: SETTLED_STEP_STATUSES },
    kind: { $ne: 'done' },
  })
    .sort({ finishedAt: 1 })
    .lean<StepDoc[]>();
  const settled = ran.some((s) => String(s._id) === String(step._id)) ? ran : [step, ...ran];
  // A hold a step left (made before step calls took their room from a lease, by an older version): booked at its worst case.
  const id = orchestrationIdOf(doc);
  for (const s of settled)
    await releaseHolds(id, `step:${String(s._id)}`, roleKitOf(doc.proposal!, s.roleKey).model ?? ctx.llm.model);
  if (RUNNING_STATUSES.includes(doc.status)) {
    for (const s of settled) await followUp(ctx, doc, s, s);
    return advance(ctx, step.runId, id, undefined, { ...chain, resume: true });
  }
  for (const s of settled) await ctx.announcer.announceStep(doc, s);
  // A completed run, cut off before the closing posts were stored (they are keyed: a repeat is a no-op).
  const done =
    doc.status === 'completed' ? await Step.findOne({ runId: step.runId, kind: 'done' }).lean<StepDoc>() : null;
  if (done && SETTLED_STEP_STATUSES.includes(done.status)) await ctx.announcer.announceEnd(doc, null);
  else if (done) await finish(ctx, doc, done);
  return null;
}
