/**
 * The start job: applies the approved plan (hires, team, project, tickets, run and steps),
 * announces the team, and starts every step that is ready. It runs the first of them itself and
 * others alongside while this process has room, as a step job goes on with what its step
 * unblocked (stepJob.ts), so that the first wave's calls leave without a job each stored, locked
 * and read back; the rest are enqueued. It resumes a run as well as it starts one, since
 * everything it does is idempotent, and a re-run resumes the steps it claimed. Its first attempt
 * (counted on the orchestration) knows nothing was made before it: it makes the scaffolding
 * without looking for an earlier attempt's, and claims the first wave in the write that makes it.
 */
import type { Job } from 'agenda';
import type { Types } from 'mongoose';
import { hasCode } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { type Scaffolding, scaffold } from '../crew/scaffold.js';
import type { OrchestrationId } from '../plan/ids.js';
import { SETTLED_STEP_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { fail } from './lifecycle.js';
import type { StartJobData } from './queue.js';
import { advance, type Continuation } from './scheduler.js';
import { runChain } from './stepJob.js';
import { type Chain, resumeChain } from './stepOutcome.js';
import { loadOrchestration, transition } from './transition.js';

export async function runStartJob(ctx: EngineContext, job: Job<StartJobData>): Promise<void> {
  const { orchestrationId: id } = job.attrs.data;
  // The start is the run's critical path until advance() hands it to the first steps.
  const started = async (chain: Chain | null) => {
    ctx.announcer.foreground.hold(`run:${id}`);
    try {
      return await start(ctx, id, chain);
    } finally {
      ctx.announcer.foreground.release(`run:${id}`);
    }
  };
  // Without a free step slot (or shutting down), every ready step is left to a job of its own.
  if (ctx.queue.draining || !ctx.stepSlots.tryTake()) {
    await started(null);
    return;
  }
  await runChain(ctx, job, [], started);
}

/** The orchestration, counting this attempt at its start: the first one knows nothing was made before it. */
function takeUp(id: OrchestrationId): Promise<OrchestrationDoc | null> {
  return Orchestration.findOneAndUpdate({ _id: id }, { $inc: { startAttempts: 1 } }, { returnDocument: 'before' })
    .lean<OrchestrationDoc>()
    .exec();
}

async function start(ctx: EngineContext, id: OrchestrationId, chain: Chain | null): Promise<Continuation | null> {
  const doc = await takeUp(id);
  if (!doc) return null;
  // A re-run of this job (a retry, a crash) after some of the steps it ran had settled: their
  // follow-up (posts, what they unblocked) is completed, and the step it was running resumed.
  if (chain && doc.runId && doc.status !== 'approved') {
    const settled = await Step.findOne({
      runId: doc.runId,
      claimedBy: chain.claimant,
      status: { $in: SETTLED_STEP_STATUSES },
      kind: { $ne: 'done' },
    }).lean<StepDoc>();
    if (settled) return resumeChain(ctx, doc, settled, chain);
  }
  if (!(doc.status === 'approved' || doc.status === 'executing')) return null;
  const first = doc.status === 'approved' && !doc.startAttempts;
  // The first wave is claimed as it is made, so its steps start without a claim each (see advance's `known`).
  const claimant = first && chain && !doc.paused ? chain.claimant : null;
  let scaffolding: Scaffolding;
  try {
    scaffolding = await scaffold(doc, { first, claimant, leaseMs: ctx.config.engine.lockLifetimeMs });
  } catch (error) {
    if (!hasCode(error, 'scaffold')) throw error;
    await fail(ctx, id, `Could not set up the run: ${error.message}.`);
    return null;
  }
  const { run } = scaffolding;
  const moved = await transition(id, 'approved', 'executing', {
    reason: 'scaffolding created',
    set: { runId: run._id, startedAt: new Date() },
  });
  // Not moved: a retry of this job after the move (go on), or a cancel meanwhile (say nothing more).
  if (!moved) {
    const status = (await Orchestration.findById(id, { status: 1 }).lean())?.status;
    if (status !== 'executing') {
      // Cancelled (or failed) while the run was set up: its teardown may have come before its steps.
      await Step.updateMany(
        { runId: run._id, status: { $in: ['pending', 'queued', 'running'] } },
        { $set: { status: 'skipped', skipReason: status ?? 'closed' } },
      );
      return null;
    }
  }
  // Paused meanwhile (or moved by another): what it claimed waits, as every step of a paused run does.
  const claimed = new Set(scaffolding.claimed);
  const known =
    claimant && moved && !moved.paused
      ? {
          doc: moved,
          steps: scaffolding.steps.map((s) =>
            claimed.has(s)
              ? { ...s, claimedWith: moved, agent: s.agentId ? scaffolding.agents.get(String(s.agentId)) : undefined }
              : s,
          ),
        }
      : undefined;
  if (claimant && !known) await letGo(run._id, claimant);
  // The run card (the team and every step) is stored as the thread's first reply before any step
  // can post; a retry finds it stored. The first steps start before Slack has drawn anything:
  // the redraw is stored, and sent at Slack's pace while the steps run. In a chain, the card is
  // stored once advance() has read what is ready (its reads go first), and the steps' posts wait
  // for it (chain.pending()); otherwise advance() reads meanwhile, and enqueues once it is stored.
  const executing = moved ?? (await loadOrchestration(id)) ?? doc;
  const next = await advance(
    ctx,
    run._id,
    id,
    () => ctx.announcer.startRunCard(executing),
    chain ? { ...chain, resume: true } : undefined,
    known,
  );
  const redraw = ctx.announcer.refresh(id, { wait: false });
  if (chain) chain.defer(redraw);
  else await redraw;
  return next;
}

/** The steps this job claimed as it made them, when the run is paused: waiting again, for Resume. */
async function letGo(runId: Types.ObjectId, claimant: string): Promise<void> {
  await Step.updateMany(
    { runId, claimedBy: claimant, status: 'running' },
    { $set: { status: 'pending', claimedBy: null, leaseUntil: null, startedAt: null, attempts: 0 } },
  );
}
