/**
 * What people see of a step while it runs: the run card shows it running, the thread says who is
 * working on what, and the synthesis streams a live draft of the deliverable.
 */
import { Agent } from '../../models/agent.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { DraftStream } from '../slack/draftStream.js';
import type { EngineContext } from './context.js';

/** A live draft of the deliverable in the thread, where it can be streamed (a thread, a known workspace). */
export function draftFor(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  /** Stores the thread's earlier posts, perhaps still waiting: the draft starts after them. */
  stored?: () => Promise<unknown>,
): DraftStream | null {
  if (!doc.messageTs || !doc.slackTeamId) return null;
  const target = {
    channelId: doc.channelId,
    threadTs: doc.messageTs,
    teamId: doc.slackTeamId,
    userId: doc.requesterId,
  };
  return ctx.announcer.draft(target, stored);
}

/** A step started: the run card shows it running, and the thread who is working on what. */
export async function showProgress(ctx: EngineContext, doc: OrchestrationDoc, step: StepDoc): Promise<void> {
  await ctx.announcer.foreground.quiet();
  await ctx.announcer.refresh(orchestrationIdOf(doc), { urgent: false });
  const running = await Step.find({ runId: step.runId, status: 'running' }, { title: 1, agentId: 1 }).lean();
  const agents = await Agent.find({ _id: { $in: running.map((s) => s.agentId) } }, { name: 1 }).lean();
  const nameOf = new Map(agents.map((a) => [String(a._id), a.name]));
  ctx.announcer.showWorking(
    doc,
    running.map((s) => ({ agent: nameOf.get(String(s.agentId)) ?? 'An agent', title: s.title })),
  );
}
