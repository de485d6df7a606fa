/**
 * The runner: planning, scaffolding and every pipeline step run as Agenda jobs on MongoDB, so
 * nothing is lost when a process dies. A step is enqueued the moment its last dependency
 * settles; independent steps run at once, up to ORCHESTRATE_MAX_PARALLEL per process.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import type { WebClient } from '@slack/web-api';
import { Agenda, exponential, InMemoryNotificationChannel, type Job } from 'agenda';
import type { Db } from 'mongodb';
import type { Types } from 'mongoose';
import { proposalMessage } from '../blocks/proposal.js';
import { formatUsd, safeMrkdwn } from '../blocks/text.js';
import { teamFormedMessage } from '../blocks/thread.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { Agent } from '../models/agent.js';
import { ACTIVE_STATUSES, Orchestration, type OrchestrationDoc, type OrchestrationStatus } from '../models/orchestration.js';
import { Run, SETTLED_STEP_STATUSES, Step, type StepDoc } from '../models/run.js';
import { Announcer, describe, viewOf } from './announce.js';
import { releaseHolds, type Pricer, type TokenUsage } from './budget.js';
import { revise } from './edits.js';
import { estimate, type Estimate, type HistorySample } from './estimate.js';
import { LlmCallError, type ChatLlm } from './llm.js';
import { BudgetExceededError, OrchestrationClosedError, type MeterContext } from './metered.js';
import { planProposal, PlanningError } from './orchestrator.js';
import type { Proposal } from './proposal.js';
import { rosterAgents } from './roster.js';
import { scaffold, ScaffoldError } from './scaffold.js';
import { transition } from './status.js';
import { executeStep, StepFailure, type StepOutcome } from './steps.js';

export const JOBS = {
  plan: 'orchestrate.plan',
  replan: 'orchestrate.replan',
  start: 'orchestrate.start',
  step: 'orchestrate.step',
} as const;


const RUNNING_STATUSES: readonly OrchestrationStatus[] = ['approved', 'executing', 'synthesizing'];

export interface EngineDeps {
  config: Config;
  db: Db;
  llm: ChatLlm;
  pricer: Pricer;
  /** The client jobs post with: its retry window is bounded well inside the job lock. */
  slack: WebClient;
  logger: Logger;
  /** How often a running step checks whether its orchestration was cancelled elsewhere. */
  watchIntervalMs?: number;
}

interface PlanJobData {
  orchestrationId: string;
  responseUrl: string | null;
  note?: string | null;
}
interface ReplanJobData {
  orchestrationId: string;
  revision: number;
  by: string;
  note: string | null;
}
interface StartJobData {
  orchestrationId: string;
}
interface StepJobData {
  orchestrationId: string;
  stepId: string;
}


export class Engine {
  readonly agenda: Agenda;
  readonly announcer: Announcer;
  private readonly inflight = new Map<string, Set<AbortController>>();
  private readonly watchIntervalMs: number;

  constructor(private readonly deps: EngineDeps) {
    const { engine } = deps.config;
    this.watchIntervalMs = deps.watchIntervalMs ?? 1000;
    this.announcer = new Announcer(deps.slack, deps.logger, deps.llm.model, (proposal) => this.estimate(proposal));
    this.agenda = new Agenda({
      backend: new MongoBackend({ mongo: deps.db, collection: 'agendaJobs' }),
      // Within one process a job starts at once; other instances pick it up on their next poll.
      notificationChannel: new InMemoryNotificationChannel(),
      processEvery: engine.processEveryMs,
      maxConcurrency: engine.maxParallel + 4,
      defaultLockLifetime: engine.lockLifetimeMs,
    });
    // A job only throws on infrastructure trouble (the database or Slack unreachable): retry it
    // with backoff. Each handler resumes from stored state, so a retry never redoes finished work.
    const retry = { backoff: exponential({ delay: 2000, maxDelay: 60_000, maxRetries: 5, jitter: 0.2 }), lockLifetime: engine.lockLifetimeMs };
    this.agenda.define<PlanJobData>(JOBS.plan, (job) => this.plan(job), { concurrency: 2, ...retry });
    this.agenda.define<ReplanJobData>(JOBS.replan, (job) => this.replan(job), { concurrency: 2, ...retry });
    this.agenda.define<StartJobData>(JOBS.start, (job) => this.start(job), { concurrency: 2, ...retry });
    this.agenda.define<StepJobData>(JOBS.step, (job) => this.step(job), { concurrency: engine.maxParallel, ...retry });
    this.agenda.on('error', (error) => deps.logger.error(`job queue error: ${describe(error)}`));
  }

  async startProcessing(): Promise<void> {
    await this.agenda.start();
    await this.recover();
  }

  /** Waits for running jobs to finish (SIGTERM), then stops taking new ones. */
  async drain(timeoutMs = 30_000): Promise<void> {
    await this.agenda.drain(timeoutMs).catch(() => undefined);
    await this.agenda.stop().catch(() => undefined);
  }

  // ── Entry points for the Slack handlers ────────────────────────────────────────────────

  async enqueuePlan(orchestrationId: string, responseUrl: string | null, note: string | null = null): Promise<void> {
    await this.agenda.now<PlanJobData>(JOBS.plan, { orchestrationId, responseUrl, note });
  }

  /** "Ask again": the CEO agent plans the same goal with the user's note; the result becomes the next revision. */
  async enqueueReplan(orchestrationId: string, revision: number, by: string, note: string | null): Promise<void> {
    await this.agenda.now<ReplanJobData>(JOBS.replan, { orchestrationId, revision, by, note });
  }

  async enqueueStart(orchestrationId: string): Promise<void> {
    await this.agenda
      .create<StartJobData>(JOBS.start, { orchestrationId })
      .unique({ 'data.orchestrationId': orchestrationId }, { insertOnly: true })
      .save();
  }

  /** Ends an open orchestration as cancelled and tears down its work. Returns null when it was already closed. */
  async cancel(orchestrationId: string, by: string): Promise<OrchestrationDoc | null> {
    const doc = await transition(orchestrationId, ACTIVE_STATUSES, 'cancelled', { reason: `Cancelled by <@${by}>`, by });
    if (!doc) return null;
    await this.teardown(doc, 'cancelled');
    await this.announcer.refresh(orchestrationId);
    await this.announcer.announceEnd(doc, by);
    return doc;
  }

  /** Ends a running orchestration as failed, with a reason for the user. */
  async fail(orchestrationId: string | Types.ObjectId, reason: string, skipReason = 'the run failed'): Promise<void> {
    const doc = await transition(orchestrationId, [...RUNNING_STATUSES, 'planning', 'proposed'], 'failed', {
      reason,
      set: { budgetStop: skipReason === 'budget' },
    });
    if (!doc) return;
    await this.teardown(doc, skipReason);
    await this.announcer.refresh(orchestrationId);
    await this.announcer.announceEnd(doc, null);
  }

  // ── Jobs ───────────────────────────────────────────────────────────────────────────────

  private async plan(job: Job<PlanJobData>): Promise<void> {
    const { orchestrationId, responseUrl, note } = job.attrs.data;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc) return;
    const { logger } = this.deps;

    if (doc.status === 'planning') {
      await releaseHolds(orchestrationId, 'plan'); // a planning call cut off by a crash
      const controller = this.track(orchestrationId);
      try {
        const result = await this.draft(doc, note ?? null, controller.signal);
        const spent = (await Orchestration.findById(orchestrationId, { budget: 1 }).lean())?.budget.spentUsd ?? 0;
        const now = new Date();
        await transition(orchestrationId, 'planning', 'proposed', {
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
        const message = planningFailureText(error);
        logger.warn(`planning ${orchestrationId} failed: ${describe(error)}`);
        await transition(orchestrationId, 'planning', 'failed', { reason: message });
        await this.respond(responseUrl, `:warning: ${message}`);
        return;
      } finally {
        this.untrack(orchestrationId, controller);
      }
    }

    // Post the proposal (once: the ts is stored, and a retried job finds it).
    const fresh = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!fresh || fresh.messageTs || fresh.status !== 'proposed' || !fresh.proposal) return;
    const message = proposalMessage(await viewOf(fresh, this.announcer.estimator));
    try {
      const res = await this.deps.slack.chat.postMessage({
        channel: fresh.channelId,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
      });
      await Orchestration.updateOne({ _id: fresh._id }, { $set: { messageTs: res.ts } });
    } catch (error) {
      const code = describe(error);
      const reason =
        code === 'channel_not_found' || code === 'not_in_channel' || code === 'is_archived'
          ? `I can't post in this channel (${code}). Invite me with \`/invite @Orchestrate\`, or run /orchestrate in a public channel.`
          : `Slack refused the proposal message (${code}).`;
      await transition(orchestrationId, 'proposed', 'failed', { reason });
      await this.respond(responseUrl, `:warning: ${reason}`);
    }
  }

  private draft(doc: OrchestrationDoc, note: string | null, signal: AbortSignal) {
    const { config } = this.deps;
    return rosterAgents().then((roster) =>
      planProposal(this.meter(doc._id), {
        goal: doc.goal,
        roster: roster.map((a) => ({ name: a.name, title: a.title, skills: a.skills })),
        defaultBudgetUsd: doc.proposal?.budget.maxUsd ?? doc.budget.maxUsd,
        maxBudgetUsd: config.budget.maxUsd,
        maxTokens: config.llm.maxOutputTokens,
        note,
        signal,
      }),
    );
  }

  private async replan(job: Job<ReplanJobData>): Promise<void> {
    const { orchestrationId, revision, by, note } = job.attrs.data;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc || doc.status !== 'proposed' || doc.revision !== revision) return;
    const controller = this.track(orchestrationId);
    let proposal;
    try {
      proposal = (await this.draft(doc, note, controller.signal)).proposal;
    } catch (error) {
      await this.announcer.ephemeral(doc.channelId, by, `:warning: ${planningFailureText(error)} The current plan (revision ${revision}) is unchanged.`);
      return;
    } finally {
      this.untrack(orchestrationId, controller);
    }
    const roster = (await rosterAgents()).map((a) => a.name);
    const outcome = await revise(orchestrationId, revision, by, note ? `asked again: ${note}` : 'asked again', () => proposal, roster);
    if (outcome.ok) await this.announcer.refresh(orchestrationId);
    else await this.announcer.ephemeral(doc.channelId, by, `The new plan was set aside: ${outcome.message}`);
  }

  private async start(job: Job<StartJobData>): Promise<void> {
    const { orchestrationId } = job.attrs.data;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc || !(doc.status === 'approved' || doc.status === 'executing')) return;
    let scaffolding;
    try {
      scaffolding = await scaffold(doc);
    } catch (error) {
      if (error instanceof ScaffoldError) return this.fail(orchestrationId, `Could not set up the run: ${error.message}.`);
      throw error;
    }
    const { run } = scaffolding;
    await transition(orchestrationId, 'approved', 'executing', {
      reason: 'scaffolding created',
      set: { runId: run._id, startedAt: new Date() },
    });
    if (!run.announcedTs) {
      const steps = run.pipeline.steps.filter((s) => s.kind !== 'done').length;
      const members = doc.proposal!.roles.map((r) => ({
        roleTitle: r.title,
        agentName: scaffolding.roles[r.key]!.name,
        hired: scaffolding.hired.has(r.key),
      }));
      const ts = await this.announcer.postInThread(doc, teamFormedMessage(scaffolding.teamName, members, steps), { retryable: true });
      await Run.updateOne({ _id: run._id }, { $set: { announcedTs: ts ?? 'unposted' } });
    }
    await this.announcer.refresh(orchestrationId);
    await this.advance(run._id, orchestrationId);
  }

  private async step(job: Job<StepJobData>): Promise<void> {
    // Keep the job's lock for as long as the handler runs (the LLM call, then the posts and the
    // redraw), so neither a long call nor a slow Slack makes the job look dead and run twice.
    const keepLock = setInterval(() => void job.touch().catch(() => undefined), Math.max(500, this.deps.config.engine.lockLifetimeMs / 3));
    try {
      await this.runStep(job.attrs.data);
    } catch (error) {
      // Agenda retries the job with backoff; it resumes from the stored step and never redoes a call.
      this.deps.logger.warn(`step job ${job.attrs.data.stepId} will be retried: ${describe(error)}`);
      throw error;
    } finally {
      clearInterval(keepLock);
    }
  }

  private async runStep({ orchestrationId, stepId }: StepJobData): Promise<void> {
    const step = await Step.findById(stepId).lean<StepDoc>();
    if (!step) return;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (SETTLED_STEP_STATUSES.includes(step.status)) {
      // Re-run after a crash or a Slack outage: the result is stored and never recomputed; finish
      // announcing it, even if the run has ended meanwhile, so that no result is lost.
      if (!doc || step.kind === 'done') return;
      if (RUNNING_STATUSES.includes(doc.status)) await this.followUp(doc, step._id);
      else await this.announceStep(doc, step._id);
      return;
    }
    if (!doc || !RUNNING_STATUSES.includes(doc.status)) {
      await Step.updateOne({ _id: step._id, status: { $nin: SETTLED_STEP_STATUSES } }, { $set: { status: 'skipped', skipReason: doc?.status ?? 'closed' } });
      return;
    }
    const claimed = await Step.findOneAndUpdate(
      { _id: step._id, status: { $in: ['pending', 'queued', 'running'] } },
      { $set: { status: 'running', startedAt: step.startedAt ?? new Date() }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    ).lean<StepDoc>();
    if (!claimed) return;
    // A crash interrupted this step's call: the provider may have billed it, so its worst case stays spent.
    const leftBehind = await releaseHolds(doc._id, `step:${String(claimed._id)}`);
    if (leftBehind > 0) await Step.updateOne({ _id: claimed._id }, { $inc: { costUsd: leftBehind }, $set: { model: this.deps.llm.model } });

    if (claimed.kind === 'done') return this.finish(doc, claimed);
    if (claimed.kind === 'synthesis') {
      const tickets = await Step.find({ runId: claimed.runId, kind: 'ticket' }, { status: 1 }).lean();
      if (tickets.length && tickets.every((t) => t.status !== 'succeeded')) {
        await Step.updateOne({ _id: claimed._id }, { $set: { status: 'skipped', skipReason: 'every sub-ticket failed' } });
        return this.fail(orchestrationId, 'Every sub-ticket failed, so there is nothing to synthesize.');
      }
      await transition(orchestrationId, 'executing', 'synthesizing', { reason: 'all tickets settled' });
      await this.announcer.refresh(orchestrationId);
    }

    const controller = this.track(orchestrationId);
    const watch = setInterval(() => {
      Orchestration.findById(orchestrationId, { status: 1 })
        .lean()
        .then((o) => {
          if (!o || !RUNNING_STATUSES.includes(o.status)) controller.abort();
        })
        .catch(() => undefined);
    }, this.watchIntervalMs);
    const booked = { usd: 0, input: 0, output: 0, cached: 0 };
    const onCost = (usd: number, usage: TokenUsage | null) => {
      booked.usd += usd;
      booked.input += usage?.input ?? 0;
      booked.output += usage?.output ?? 0;
      booked.cached += usage?.cacheRead ?? 0;
    };
    // Every call (retries and repairs included) is booked on its step whatever becomes of the
    // step, with the model that was billed, so the rollup adds up per step, role and model.
    const bookCost = () =>
      Step.updateOne(
        { _id: claimed._id },
        {
          $inc: { costUsd: booked.usd, 'tokens.input': booked.input, 'tokens.output': booked.output, 'tokens.cached': booked.cached },
          ...(booked.usd > 0 ? { $set: { model: this.deps.llm.model } } : {}),
        },
      );
    let outcome: StepOutcome | null = null;
    let failure: unknown = null;
    try {
      outcome = await executeStep(doc.proposal!, claimed, {
        meter: this.meter(doc._id, { id: claimed._id, onCost }),
        signal: controller.signal,
        maxTokens: this.deps.config.llm.maxOutputTokens,
        attempts: this.deps.config.engine.stepAttempts,
        retryBaseMs: this.deps.config.engine.retryBaseMs,
      });
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(watch);
      this.untrack(orchestrationId, controller);
    }
    // Booked once, before the outcome is stored. What follows (posts, redraw, enqueueing) may
    // throw on infrastructure trouble; the job is then retried and resumes from the stored step.
    await bookCost();
    if (outcome) await this.succeed(doc, claimed, outcome);
    else await this.stepFailed(doc, claimed, failure);
  }

  private async succeed(doc: OrchestrationDoc, step: StepDoc, outcome: StepOutcome) {
    const stored = await Step.updateOne(
      { _id: step._id, status: 'running' },
      {
        $set: {
          status: 'succeeded',
          output: outcome.output,
          structured: outcome.structured,
          model: outcome.model,
          finishedAt: new Date(),
          error: null,
        },
      },
    );
    if (stored.modifiedCount !== 1) return; // cancelled or failed meanwhile: the result is not announced
    await this.followUp(doc, step._id);
  }

  /**
   * What follows a settled step: its thread posts, the redraw, and enqueueing what it unblocks.
   * Built from the stored step alone, so a job re-run after a crash between storing the result
   * and announcing it completes the announcement (updating, never duplicating, posts).
   */
  private async followUp(doc: OrchestrationDoc, stepId: Types.ObjectId): Promise<void> {
    const step = await this.announceStep(doc, stepId);
    if (!step) return;
    await this.announcer.warnNearCap(doc);
    await this.announcer.refresh(doc._id);
    await this.advance(step.runId, String(doc._id));
  }

  /** Posts a settled step's thread messages (once: a repeat updates them). Throws when Slack is unavailable, so the job is retried. */
  private async announceStep(doc: OrchestrationDoc, stepId: Types.ObjectId): Promise<StepDoc | null> {
    const step = await Step.findById(stepId).lean<StepDoc>();
    if (!step) return null;
    const messages = await this.announcer.stepMessages(step);
    if (messages.length) await this.announcer.postStepMessages(step._id, doc, messages);
    return step;
  }

  private async stepFailed(doc: OrchestrationDoc, step: StepDoc, error: unknown) {
    if (error instanceof BudgetExceededError) {
      await Step.updateOne({ _id: step._id, status: 'running' }, { $set: { status: 'skipped', skipReason: 'budget', finishedAt: new Date() } });
      const fresh = await Orchestration.findById(doc._id, { budget: 1 }).lean();
      const b = fresh?.budget ?? doc.budget;
      return this.fail(
        doc._id,
        `Budget exceeded: ${formatUsd(b.spentUsd)} spent of the ${formatUsd(b.maxUsd)} cap, and the next call could cost up to ${formatUsd(error.neededUsd)}. ` +
          'The steps that could not run were skipped; raise the cap to continue.',
        'budget',
      );
    }
    const closed = error instanceof OrchestrationClosedError || (error instanceof LlmCallError && error.aborted);
    if (closed) {
      await Step.updateOne({ _id: step._id, status: 'running' }, { $set: { status: 'skipped', skipReason: 'stopped', finishedAt: new Date() } });
      return;
    }
    const reason = error instanceof StepFailure || error instanceof LlmCallError ? error.message : `unexpected error: ${describe(error)}`;
    this.deps.logger.warn(`step ${step.key} of ${String(doc._id)} failed: ${reason}`);
    const stored = await Step.updateOne(
      { _id: step._id, status: 'running' },
      { $set: { status: 'failed', error: reason, finishedAt: new Date() } },
    );
    if (stored.modifiedCount !== 1) return;
    if (step.kind !== 'ticket') {
      return this.fail(doc._id, `The ${step.kind === 'discuss' ? 'discussion round' : step.kind} step "${step.title}" failed: ${reason}`);
    }
    await this.followUp(doc, step._id);
  }

  private async finish(doc: OrchestrationDoc, step: StepDoc): Promise<void> {
    const done = await transition(doc._id, 'synthesizing', 'completed', { reason: 'the deliverable was posted' });
    await Step.updateOne({ _id: step._id }, { $set: { status: 'succeeded', finishedAt: new Date() } });
    if (!done) return;
    await this.announcer.refresh(doc._id);
    await this.announcer.announceEnd(done, null);
  }

  /**
   * "Raise cap and continue": a run stopped by its budget resumes with a higher cap. Completed
   * steps are kept and never re-run; the steps skipped for budget are queued again.
   */
  async raiseCapAndContinue(orchestrationId: string, newCapUsd: number, by: string): Promise<OrchestrationDoc | null> {
    const current = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!current?.budgetStop || current.status !== 'failed' || !current.runId) return null;
    const doc = await transition(orchestrationId, 'failed', 'executing', {
      by,
      reason: `cap raised to ${formatUsd(newCapUsd)}`,
      where: { budgetStop: true, 'budget.maxUsd': current.budget.maxUsd },
      set: { budgetStop: false, finishedAt: null, 'budget.maxUsd': newCapUsd, 'budget.warned': false },
    });
    if (!doc) return null;
    await Step.updateMany({ runId: doc.runId, status: 'skipped', skipReason: 'budget' }, { $set: { status: 'pending', skipReason: null, startedAt: null, finishedAt: null } });
    // The caller (a modal submission) must answer Slack within 3 s: announce and enqueue after.
    void this.continueAfterRaise(doc, newCapUsd, by).catch((error: unknown) => this.deps.logger.error(`resuming ${orchestrationId} failed: ${describe(error)}`));
    return doc;
  }

  private async continueAfterRaise(doc: OrchestrationDoc, newCapUsd: number, by: string): Promise<void> {
    await this.announcer.postInThread(doc, {
      text: `Cap raised to ${formatUsd(newCapUsd)}; continuing`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:arrow_forward: <@${by}> raised the cap to *${formatUsd(newCapUsd)}*. Continuing where the run stopped; finished steps are kept.` } }],
    });
    await this.announcer.refresh(doc._id);
    await this.advance(doc.runId!, String(doc._id));
  }

  /** Enqueues every pending step whose dependencies have all settled. Safe to call from anywhere, any number of times. */
  async advance(runId: Types.ObjectId, orchestrationId: string): Promise<void> {
    const doc = await Orchestration.findById(orchestrationId, { status: 1 }).lean();
    if (!doc || !RUNNING_STATUSES.includes(doc.status)) return;
    const steps = await Step.find({ runId }, { key: 1, status: 1, dependsOn: 1 }).lean();
    const status = new Map(steps.map((s) => [s.key, s.status]));
    for (const s of steps) {
      if (s.status !== 'pending') continue;
      if (!s.dependsOn.every((d) => SETTLED_STEP_STATUSES.includes(status.get(d) ?? 'pending'))) continue;
      // One job document per step, ever: a second enqueue (another instance, a retry) is a no-op.
      await this.agenda
        .create<StepJobData>(JOBS.step, { orchestrationId, stepId: String(s._id) })
        .unique({ 'data.stepId': String(s._id) }, { insertOnly: true })
        .save();
      await Step.updateOne({ _id: s._id, status: 'pending' }, { $set: { status: 'queued' } });
    }
  }

  /** Estimates a plan from its shape, the model's prices and the history of finished steps with this model. */
  async estimate(proposal: Proposal): Promise<Estimate> {
    const finished = await Step.find({ status: 'succeeded', model: this.deps.llm.model, kind: { $ne: 'done' } }, { kind: 1, agentId: 1, costUsd: 1, startedAt: 1, finishedAt: 1 })
      .sort({ finishedAt: -1 })
      .limit(1000)
      .lean<StepDoc[]>();
    const names = new Map((await Agent.find({ _id: { $in: [...new Set(finished.map((s) => String(s.agentId)))] } }, { name: 1 }).lean()).map((a) => [String(a._id), a.name.toLowerCase()]));
    const history: HistorySample[] = finished
      .filter((s) => s.startedAt && s.finishedAt)
      .map((s) => ({
        kind: s.kind,
        agentName: names.get(String(s.agentId)) ?? '',
        costUsd: s.costUsd,
        durationMs: new Date(s.finishedAt!).getTime() - new Date(s.startedAt!).getTime(),
      }));
    return estimate(proposal, this.deps.pricer, this.deps.config.llm.maxOutputTokens, history);
  }

  // ── Teardown, recovery, helpers ────────────────────────────────────────────────────────

  private async teardown(doc: OrchestrationDoc, skipReason: string): Promise<void> {
    const id = String(doc._id);
    for (const controller of this.inflight.get(id) ?? []) controller.abort();
    await this.agenda.cancel({ name: JOBS.step, data: { orchestrationId: id } }).catch(() => 0);
    await Step.updateMany(
      { orchestrationId: doc._id, status: { $in: ['pending', 'queued', 'running'] } },
      { $set: { status: 'skipped', skipReason } },
    );
  }

  /** After a restart: re-enqueue the work whose job may have been lost between two writes. */
  async recover(): Promise<void> {
    const open = await Orchestration.find({ status: { $in: ['planning', 'approved', 'executing', 'synthesizing'] } }, { status: 1, runId: 1 }).lean();
    for (const o of open) {
      const id = String(o._id);
      if (o.status === 'approved') await this.enqueueStart(id);
      else if (o.runId) await this.advance(o.runId, id);
      else if (o.status === 'planning') {
        const pending = await this.agenda.queryJobs({ name: JOBS.plan, data: { orchestrationId: id } });
        if (!pending.total) await this.enqueuePlan(id, null);
      }
    }
  }

  private meter(orchestrationId: Types.ObjectId | string, step?: { id: Types.ObjectId; onCost: NonNullable<MeterContext['onCost']> }): MeterContext {
    return {
      orchestrationId,
      llm: this.deps.llm,
      pricer: this.deps.pricer,
      ...(step ? { holder: `step:${String(step.id)}`, onCost: step.onCost } : { holder: 'plan' }),
    };
  }

  private track(orchestrationId: string): AbortController {
    const controller = new AbortController();
    const set = this.inflight.get(orchestrationId) ?? new Set();
    set.add(controller);
    this.inflight.set(orchestrationId, set);
    return controller;
  }

  private untrack(orchestrationId: string, controller: AbortController): void {
    const set = this.inflight.get(orchestrationId);
    set?.delete(controller);
    if (set && set.size === 0) this.inflight.delete(orchestrationId);
  }

  private async respond(responseUrl: string | null, text: string): Promise<void> {
    if (!responseUrl) return;
    await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
    }).catch((error: unknown) => this.deps.logger.warn(`could not answer via response_url: ${describe(error)}`));
  }
}


function planningFailureText(error: unknown): string {
  if (error instanceof PlanningError) {
    // The violations quote what the LLM wrote: escaped, so that it can neither ping nor break the markup.
    const list = error.violations.slice(0, 5).map((v) => `• ${safeMrkdwn(v, 300)}`).join('\n');
    return `The CEO agent's plan did not hold together, even after a repair attempt, so nothing was proposed. Try rephrasing the goal.\n${list}`;
  }
  if (error instanceof BudgetExceededError) return 'Planning would cost more than the default budget allows (ORCHESTRATE_DEFAULT_BUDGET_USD).';
  if (error instanceof LlmCallError) return `The CEO agent could not be reached: ${error.message}. Nothing was proposed; try again in a moment.`;
  return 'Planning failed unexpectedly. Nothing was proposed; try again in a moment.';
}

