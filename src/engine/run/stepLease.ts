/**
 * A step job's hold on its step: the claim (a lease, so that no second job runs the same step),
 * and its renewal with the job's lock for as long as the job runs.
 */
import type { Job } from 'agenda';
import { Step, type StepDoc } from '../../models/run.js';
import type { EngineContext } from './context.js';
import type { AnyJobData } from './queue.js';

/**
 * This job's lease on the steps it runs (its own, the chain it goes on with, its forks), renewed with the
 * job's lock for as long as the handler runs (the LLM call, then the posts and the redraw):
 * neither a long call nor a slow Slack makes the job look dead, and no second job for the same
 * step can claim it meanwhile.
 */
export function renewStepLease(ctx: EngineContext, job: Job<AnyJobData>): Promise<unknown> {
  const lease = { $set: { leaseUntil: new Date(Date.now() + ctx.config.engine.lockLifetimeMs) } };
  return Step.updateMany({ claimedBy: String(job.attrs._id), status: 'running' }, lease);
}

/** The claim: a step not yet started, one this very job started before a crash, or one whose lease lapsed. */
export function claim(
  ctx: EngineContext,
  step: Pick<StepDoc, '_id' | 'startedAt'>,
  claimant: string,
): Promise<StepDoc | null> {
  const now = new Date();
  return Step.findOneAndUpdate(
    {
      _id: step._id,
      $or: [
        { status: { $in: ['pending', 'queued'] } },
        { status: 'running', claimedBy: claimant },
        { status: 'running', leaseUntil: { $lt: now } },
        { status: 'running', leaseUntil: null },
      ],
    },
    {
      $set: {
        status: 'running',
        startedAt: step.startedAt ?? now,
        claimedBy: claimant,
        leaseUntil: new Date(now.getTime() + ctx.config.engine.lockLifetimeMs),
      },
      $inc: { attempts: 1 },
    },
    { returnDocument: 'after' },
  ).lean<StepDoc>();
}
