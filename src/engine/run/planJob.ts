/**
 * The planning jobs: the CEO agent drafts the first plan of a new request and posts it for
 * review (plan), or drafts a new plan for "Ask again" that becomes the next revision (replan).
 */
import type { Job } from 'agenda';
import { encodeControlValue } from '../../blocks/actionIds.js';
import { questionsMessage } from '../../blocks/clarify.js';
import { planningFailureText, proposalRefusedText } from '../../blocks/replies.js';
import { safeMrkdwn } from '../../blocks/text.js';
import { describeError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { planningRoster, rosterAgents } from '../crew/roster.js';
import { clarifyingQuestions, planProposal } from '../llm/ceoAgent.js';
import { clarificationNote } from '../llm/prompts.js';
import { releaseHolds } from '../money/budget.js';
import { orchestrationIdOf } from '../plan/ids.js';
import type { Proposal } from '../plan/proposal.js';
import { revise } from '../review/revise.js';
import { type EngineContext, meterFor } from './context.js';
import type { PlanJobData, ReplanJobData } from './queue.js';
import { loadOrchestration, transition } from './transition.js';

/** The reservation planning holds, so that a retry after a crash books what the cut-off call may have cost. */
const PLAN_HOLDER = 'plan';

async function draft(
  ctx: EngineContext,
  doc: OrchestrationDoc,
  note: string | null,
  signal: AbortSignal,
  holder: string,
) {
  // The agents most relevant to the goal, and the most recent: a bounded prompt however big the roster grows.
  const roster = planningRoster(await rosterAgents(), doc.goal);
  const id = orchestrationIdOf(doc);
  return planProposal(meterFor(ctx, id, { name: holder }), {
    goal: doc.goal,
    roster: roster.map((a) => ({ name: a.name, title: a.title, skills: a.skills })),
    defaultBudgetUsd: doc.proposal?.budget.maxUsd ?? doc.budget.maxUsd,
    maxBudgetUsd: ctx.config.budget.maxUsd,
    maxTokens: ctx.config.llm.planMaxOutputTokens,
    tools: ctx.tools.available(),
    models: ctx.config.llm.models,
    note,
    signal,
  });
}

export async function runPlanJob(ctx: EngineContext, job: Job<PlanJobData>): Promise<void> {
  const { orchestrationId: id, responseUrl } = job.attrs.data;
  const doc = await loadOrchestration(id);
  if (!doc) return;

  if (doc.status === 'planning') {
    await releaseHolds(id, PLAN_HOLDER, ctx.llm.model); // a planning call cut off by a crash
    if (await waitsForAnswers(ctx, doc)) return;
    const clarified = (await loadOrchestration(id))?.clarification;
    const answered =
      clarified?.state === 'answered' ? clarificationNote(clarified.questions, clarified.answers ?? []) : null;
    // A follow-up plans from the gaps (its goal) and the deliverable they were found in.
    const parent =
      doc.parent && doc.context
        ? `This follows up on an earlier run. Its deliverable:\n${doc.context.text.slice(0, 6000)}`
        : null;
    const note = [answered, parent].filter(Boolean).join('\n\n') || null;
    try {
      const result = await ctx.inflight.track(id, (signal) => draft(ctx, doc, note, signal, PLAN_HOLDER));
      const spent = (await Orchestration.findById(id, { budget: 1 }).lean())?.budget.spentUsd ?? 0;
      const now = new Date();
      await transition(id, 'planning', 'proposed', {
        reason: `planned in ${result.attempts} attempt(s)`,
        set: {
          proposal: result.proposal,
          revision: 1,
          history: [{ revision: 1, proposal: result.proposal, change: 'proposed by the CEO agent', by: null, at: now }],
          // The plan's own cap, never below what planning already spent.
          'budget.maxUsd': Math.max(result.proposal.budget.maxUsd, spent),
        },
      });
    } catch (error) {
      // The process is shutting down and cut the call: the plan is left to the next instance.
      if (ctx.queue.handingBack) throw error;
      const message = planningFailureText(error);
      ctx.logger.warn(`planning ${id} failed: ${describeError(error)}`);
      await transition(id, 'planning', 'failed', { reason: message });
      await ctx.announcer.respond(responseUrl, `:warning: ${message}`);
      // A follow-up was asked for from its parent's thread, where no response_url reaches: say it there.
      const parent = doc.parent
        ? await loadOrchestration(orchestrationIdOf({ _id: doc.parent.orchestrationId }))
        : null;
      if (parent?.messageTs) {
        const text = `:warning: The follow-up on the gaps could not be planned: ${message}`;
        await ctx.announcer.post(parent, [
          {
            key: `${id}:planning-failed`,
            message: { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] },
          },
        ]);
      }
      return;
    }
  }

  // Post the proposal (once: the ts is stored, and a retried job finds it).
  const fresh = await loadOrchestration(id);
  if (!fresh || fresh.status !== 'proposed' || !fresh.proposal) return;
  if (!fresh.messageTs) {
    const refusal = await ctx.announcer.postProposal(fresh);
    if (refusal) {
      const reason = proposalRefusedText(refusal.code, refusal.channel);
      await transition(id, 'proposed', 'failed', { reason });
      await ctx.announcer.respond(responseUrl, `:warning: ${reason}`);
      return;
    }
  }
  // A recurring goal set to run without review is approved once its plan is posted (and again
  // tried by a retried job, should the process die in between).
  if (fresh.autoApprove) {
    const approved = await transition(id, 'proposed', 'approved', {
      by: fresh.autoApprove.by,
      reason: 'a recurring goal that runs without review',
      where: { revision: fresh.revision },
      set: { approvedBy: fresh.autoApprove.by, approvedRevision: fresh.revision, approvedAt: new Date() },
    });
    if (approved) await ctx.queue.ensureStart(id);
    await ctx.announcer.refresh(id, { wait: false });
  }
}

/**
 * Before the first plan, the CEO agent may ask the requester up to three questions (unless
 * ORCHESTRATE_CLARIFY is off). True while the questions wait for an answer or a skip: planning
 * goes on when the requester answers (the answers reach the planning prompt) or skips.
 */
async function waitsForAnswers(ctx: EngineContext, doc: OrchestrationDoc): Promise<boolean> {
  if (doc.clarification) return doc.clarification.state === 'asked';
  if (!ctx.config.steering.clarify) return false;
  const id = orchestrationIdOf(doc);
  let questions: string[] = [];
  try {
    questions = await ctx.inflight.track(id, (signal) =>
      clarifyingQuestions(meterFor(ctx, id, { name: PLAN_HOLDER }), {
        goal: doc.goal,
        maxTokens: Math.min(1024, ctx.config.llm.planMaxOutputTokens),
        signal,
      }),
    );
  } catch (error) {
    if (ctx.queue.handingBack) throw error;
    // Questions are a courtesy: when asking fails, planning goes on without them (and says why if it fails too).
    ctx.logger.warn(`asking before planning ${id} failed: ${describeError(error)}`);
  }
  const clarification = {
    state: questions.length ? 'asked' : 'skipped',
    questions,
    answers: null,
    by: null,
    at: new Date(),
  };
  const stored = await Orchestration.updateOne({ _id: doc._id, clarification: null }, { $set: { clarification } });
  if (!questions.length) return false;
  if (stored.modifiedCount === 1) {
    const value = encodeControlValue({ orchestrationId: id, revision: 0 });
    await ctx.announcer.post(doc, [
      { key: `${id}:clarify`, message: questionsMessage(doc.requesterId, doc.goal, questions, value) },
    ]);
  }
  return true;
}

export async function runReplanJob(ctx: EngineContext, job: Job<ReplanJobData>): Promise<void> {
  const { orchestrationId: id, revision, by, note, responseUrl } = job.attrs.data;
  // This job holds its reservation under its own name, so that a retry after a crash books what
  // the cut-off call may have cost (whatever has become of the plan since), and no other's hold.
  const holder = `replan:${String(job.attrs._id)}`;
  await releaseHolds(id, holder, ctx.llm.model);
  const doc = await loadOrchestration(id);
  if (doc?.status !== 'proposed' || doc.revision !== revision) return;
  let proposal: Proposal;
  try {
    proposal = (await ctx.inflight.track(id, (signal) => draft(ctx, doc, note, signal, holder))).proposal;
  } catch (error) {
    if (ctx.queue.handingBack) throw error; // shutting down: the next instance asks again
    const now = await Orchestration.findById(id, { status: 1 }).lean();
    // Cancelled (or approved) while the CEO agent thought: the user knows, and needs no warning.
    if (now?.status !== 'proposed') return;
    const text = `:warning: ${planningFailureText(error)} The current plan (revision ${revision}) is unchanged.`;
    await ctx.announcer.tell(doc.channelId, by, responseUrl, text);
    return;
  }
  // The plan is the CEO agent's to redo; the cap stays what the reviewers last set.
  const outcome = await revise({
    id,
    revision,
    by,
    change: note ? `asked again: ${note}` : 'asked again',
    edit: (current) => ({ ...proposal, budget: current.budget }),
  });
  if (outcome.ok) await ctx.announcer.refresh(id);
  else {
    const text = `The new plan was set aside: ${safeMrkdwn(outcome.message, 2500)}`;
    await ctx.announcer.tell(doc.channelId, by, responseUrl, text);
  }
}
