/**
 * The start job: applies the approved plan (hires, team, project, tickets, run and steps),
 * announces the team, and enqueues every step that is ready. It resumes a run as well as it
 * starts one, since everything it does is idempotent.
 */
import type { Job } from 'agenda';
import { hasCode } from '../../errors.js';
import { Orchestration } from '../../models/orchestration.js';
import { type Scaffolding, scaffold } from '../crew/scaffold.js';
import type { OrchestrationId } from '../plan/ids.js';
import type { EngineContext } from './context.js';
import { fail } from './lifecycle.js';
import type { StartJobData } from './queue.js';
import { advance } from './scheduler.js';
import { loadOrchestration, transition } from './transition.js';

export async function runStartJob(ctx: EngineContext, job: Job<StartJobData>): Promise<void> {
  const { orchestrationId: id } = job.attrs.data;
  // The start is the run's critical path until advance() hands it to the first steps.
  ctx.announcer.foreground.hold(`run:${id}`);
  try {
    await start(ctx, id);
  } finally {
    ctx.announcer.foreground.release(`run:${id}`);
  }
}

async function start(ctx: EngineContext, id: OrchestrationId): Promise<void> {
  const doc = await loadOrchestration(id);
  if (!doc || !(doc.status === 'approved' || doc.status === 'executing')) return;
  let scaffolding: Scaffolding;
  try {
    scaffolding = await scaffold(doc);
  } catch (error) {
    if (!hasCode(error, 'scaffold')) throw error;
    await fail(ctx, id, `Could not set up the run: ${error.message}.`);
    return;
  }
  const { run } = scaffolding;
  const moved = await transition(id, 'approved', 'executing', {
    reason: 'scaffolding created',
    set: { runId: run._id, startedAt: new Date() },
  });
  // Not moved: a retry of this job after the move (go on), or a cancel meanwhile (say nothing more).
  if (!moved && (await Orchestration.findById(id, { status: 1 }).lean())?.status !== 'executing') return;
  // The run card (the team and every step) is stored as the thread's first reply before any step
  // can post; a retry finds it stored. The first steps start before Slack has drawn anything:
  // the redraw is stored, and sent at Slack's pace while the steps run.
  // advance() reads what is ready meanwhile, and enqueues once the card is stored.
  const runCard = ctx.announcer.startRunCard(moved ?? (await loadOrchestration(id)) ?? doc);
  await advance(ctx, run._id, id, runCard);
  await ctx.announcer.refresh(id, { wait: false });
}
