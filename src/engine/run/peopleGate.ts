/**
 * People holding a run: the pause after the discussion (a step of its own, so the pipeline says
 * where the run waits), which ends when someone starts the work or when ORCHESTRATE_PAUSE_HOURS
 * run out, and Pause / Resume. Every change is one conditional update on stored state, so a double
 * click, a second instance or a restart decides once, and a paused run stays paused after a crash.
 */
import { pausedMessage, pauseForPeopleMessage, resumedMessage, workStartedMessage } from '../../blocks/steering.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { type OrchestrationId, orchestrationIdOf } from '../plan/ids.js';
import { RUNNING_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { advance } from './scheduler.js';

/**
 * The pause step's job: the first time, it starts waiting and says so; later (its job comes back
 * when the wait runs out, or after a restart) it starts the work if nobody did. Returns when to
 * look again.
 */
export async function holdForPeople(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  step: StepDoc,
): Promise<Date | undefined> {
  const id = orchestrationIdOf(doc);
  if (step.status === 'running') {
    const until = step.waitUntil ? new Date(step.waitUntil) : new Date(0);
    if (Date.now() < until.getTime()) return until;
    await startTheWork(ctx, id, null);
    return undefined;
  }
  const waitUntil = new Date(Date.now() + ctx.config.steering.pauseHours * 3_600_000);
  const held = await Step.updateOne(
    { _id: step._id, status: { $in: ['pending', 'queued'] } },
    { $set: { status: 'running', startedAt: new Date(), waitUntil } },
  );
  if (held.modifiedCount !== 1) return undefined;
  await ctx.announcer.post(doc, [
    { key: `${id}:people:${String(step._id)}`, message: pauseForPeopleMessage(ctx.config.steering.pauseHours) },
  ]);
  await ctx.announcer.refresh(id, { wait: false });
  return waitUntil;
}

/**
 * Ends the pause after the discussion: by a person (`by`), or by itself when the wait ran out
 * (`by` null, from the pause step's own job). False when there was no pause to end.
 */
export async function startTheWork(ctx: EngineContext, id: OrchestrationId, by: string | null): Promise<boolean> {
  const doc = await Orchestration.findById(id).lean<OrchestrationDoc>();
  if (!doc || !RUNNING_STATUSES.includes(doc.status)) return false;
  const step = await Step.findOneAndUpdate(
    { orchestrationId: doc._id, kind: 'people', status: 'running' },
    { $set: { status: 'succeeded', finishedAt: new Date(), output: by ? `started by ${by}` : 'started by itself' } },
    { returnDocument: 'after' },
  ).lean<StepDoc>();
  if (!step) return false;
  // The job waiting to start it by itself has nothing left to do (when it is not the one running now).
  if (by) await ctx.queue.cancelSteps({ stepId: String(step._id) });
  const positions = (doc.humanInput ?? []).filter((h) => h.kind === 'position').length;
  await ctx.announcer.post(doc, [
    {
      key: `${id}:people-done:${String(step._id)}`,
      message: workStartedMessage(by, ctx.config.steering.pauseHours, positions),
    },
  ]);
  await advance(ctx, step.runId, id);
  await ctx.announcer.refresh(id, { wait: false });
  return true;
}

/** Pause: no step starts until Resume; the steps running finish. False when it was paused already or is not running. */
export async function pauseRun(ctx: EngineContext, id: OrchestrationId, by: string): Promise<boolean> {
  const at = new Date();
  const doc = await Orchestration.findOneAndUpdate(
    { _id: id, status: { $in: RUNNING_STATUSES }, paused: null },
    { $set: { paused: { by, at } } },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
  if (!doc) return false;
  await ctx.announcer.post(doc, [{ key: `${id}:pause:${at.getTime()}`, message: pausedMessage(by) }]);
  await ctx.announcer.refresh(id, { wait: false });
  return true;
}

/** Resume: what is ready starts again. False when it was not paused. */
export async function resumeRun(ctx: EngineContext, id: OrchestrationId, by: string): Promise<boolean> {
  const doc = await Orchestration.findOneAndUpdate(
    { _id: id, paused: { $ne: null } },
    { $set: { paused: null } },
    { returnDocument: 'after' },
  ).lean<OrchestrationDoc>();
  if (!doc) return false;
  await ctx.announcer.post(doc, [{ key: `${id}:resume:${Date.now()}`, message: resumedMessage(by) }]);
  if (doc.runId && RUNNING_STATUSES.includes(doc.status)) await advance(ctx, doc.runId, id);
  await ctx.announcer.refresh(id, { wait: false });
  return true;
}
