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
import { Announcer, describe, isTransientSlackError, SlackUnavailableError, viewOf } from './announce.js';
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
  /** The Ask again click's response_url: how its outcome reaches the clicker. */
  responseUrl?: string | null;
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
    // A process locks no more jobs than it runs (lockLimit), so a SIGTERM or a crash never strands
    // jobs that were locked here but not started.
    // Eight retries, up to a minute apart: about four minutes of an outage ridden out (with the
    // default ORCHESTRATE_RETRY_BASE_MS), on top of each Slack call's own retries.
    const retry = { backoff: exponential({ delay: engine.retryBaseMs, maxDelay: 60_000, maxRetries: 8, jitter: 0.2 }), lockLifetime: engine.lockLifetimeMs };
    const limit = (n: number) => ({ concurrency: n, lockLimit: n, ...retry });
    this.agenda.define<PlanJobData>(JOBS.plan, (job) => this.plan(job), limit(2));
    this.agenda.define<ReplanJobData>(JOBS.replan, (job) => this.replan(job), limit(2));
    this.agenda.define<StartJobData>(JOBS.start, (job) => this.start(job), limit(2));
    this.agenda.define<StepJobData>(JOBS.step, (job) => this.step(job), limit(engine.maxParallel));
    this.agenda.on('error', (error) => deps.logger.error(`job queue error: ${describe(error)}`));
    this.agenda.on('retry exhausted', (error: Error, job: Job) => {
      this.gaveUp(job, error).catch((e: unknown) => deps.logger.error(`could not close ${job.attrs.name} after its retries: ${describe(e)}`));
    });
  }

  async startProcessing(): Promise<void> {
    // Where the database enforces it, a second job for one step cannot even be stored. (The
    // embedded database does not enforce unique indexes; the step's lease covers that case.)
    await this.deps.db
      .collection('agendaJobs')
      .createIndex({ name: 1, 'data.stepId': 1 }, { unique: true, name: 'one_job_per_step', partialFilterExpression: { 'data.stepId': { $exists: true } } })
      .catch((error: unknown) => this.deps.logger.warn(`could not create the one-job-per-step index: ${describe(error)}`));
    await this.agenda.start();
    await this.recover();
  }

  /** Stops taking jobs and waits for the running ones to finish (SIGTERM): by default, as long as one LLM call may take. */
  async drain(timeoutMs = this.deps.config.llm.timeoutMs + 30_000): Promise<void> {
    await this.agenda.drain(timeoutMs).catch(() => undefined);
    await this.agenda.stop().catch(() => undefined);
  }

  // ── Entry points for the Slack handlers ────────────────────────────────────────────────

  async enqueuePlan(orchestrationId: string, responseUrl: string | null, note: string | null = null): Promise<void> {
    await this.ensureJob<PlanJobData>(JOBS.plan, { orchestrationId, responseUrl, note }, { 'data.orchestrationId': orchestrationId }, { orchestrationId });
  }

  /** "Ask again": the CEO agent plans the same goal with the user's note; the result becomes the next revision. */
  async enqueueReplan(orchestrationId: string, revision: number, by: string, note: string | null, responseUrl: string | null = null): Promise<void> {
    await this.agenda.now<ReplanJobData>(JOBS.replan, { orchestrationId, revision, by, note, responseUrl });
  }

  /** Tells the clicker through their response_url, or failing that with an ephemeral message. */
  private async tell(channelId: string, user: string, responseUrl: string | null | undefined, text: string): Promise<void> {
    if (await this.announcer.respond(responseUrl ?? null, text)) return;
    await this.announcer.ephemeral(channelId, user, text);
  }

  /** Starts (or resumes) a run: scaffolding, the team post, then every step that is ready. */
  async enqueueStart(orchestrationId: string): Promise<void> {
    await this.ensureJob<StartJobData>(JOBS.start, { orchestrationId }, { 'data.orchestrationId': orchestrationId }, { orchestrationId });
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

  /** Ends a running orchestration as failed, with a reason for the user. Returns false when it had already ended. */
  async fail(orchestrationId: string | Types.ObjectId, reason: string, skipReason = 'the run failed'): Promise<boolean> {
    const doc = await transition(orchestrationId, [...RUNNING_STATUSES, 'planning', 'proposed'], 'failed', {
      reason,
      set: { budgetStop: skipReason === 'budget' },
    });
    if (!doc) return false;
    await this.teardown(doc, skipReason);
    await this.announcer.refresh(orchestrationId);
    await this.announcer.announceEnd(doc, null);
    return true;
  }

  /**
   * A job failed on every retry (the database or Slack down for minutes, or a bug). What blocks
   * the run ends it in words, rather than leave it hanging; what only failed to announce a
   * settled step (its thread post) lets the run go on without that post. What was done is kept.
   */
  private async gaveUp(job: Job, error: Error): Promise<void> {
    const data = job.attrs.data as { orchestrationId?: string; stepId?: string; responseUrl?: string | null; by?: string };
    if (!data?.orchestrationId) return;
    const id = data.orchestrationId;
    this.deps.logger.error(`${job.attrs.name} for ${id} gave up after its retries: ${describe(error)}`);
    const reason = `Orchestrate could not go on after several attempts (${describe(error)}). What was done is kept.`;
    if (job.attrs.name === JOBS.replan) {
      const doc = await Orchestration.findById(id, { channelId: 1 }).lean();
      if (doc && data.by) await this.tell(doc.channelId, data.by, data.responseUrl, `:warning: Asking again failed: ${reason} The current plan is unchanged.`);
      return;
    }
    const doc = await Orchestration.findById(id, { status: 1, runId: 1 }).lean();
    const step = data.stepId ? await Step.findById(data.stepId, { status: 1, runId: 1, key: 1 }).lean() : null;
    const onlyAnnouncing = (job.attrs.name === JOBS.step && step && SETTLED_STEP_STATUSES.includes(step.status)) || (job.attrs.name === JOBS.start && doc?.status === 'executing');
    if (onlyAnnouncing && doc?.runId) {
      this.deps.logger.error(`going on without a thread post for ${id}${step ? ` (step ${step.key})` : ''}`);
      await this.announcer.refresh(id);
      await this.advance(doc.runId, id);
      return;
    }
    const ended = await this.fail(id, reason);
    if (ended && job.attrs.name === JOBS.plan) await this.announcer.respond(data.responseUrl ?? null, `:warning: ${reason} Nothing was proposed; try again in a moment.`);
  }

  // ── Jobs ───────────────────────────────────────────────────────────────────────────────

  private async plan(job: Job<PlanJobData>): Promise<void> {
    const { orchestrationId, responseUrl, note } = job.attrs.data;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc) return;
    const { logger } = this.deps;

    if (doc.status === 'planning') {
      await releaseHolds(orchestrationId, 'plan', this.deps.llm.model); // a planning call cut off by a crash
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
        await this.announcer.respond(responseUrl, `:warning: ${message}`);
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
      if (isTransientSlackError(error)) throw new SlackUnavailableError(`Slack is unavailable: ${describe(error)}`);
      const code = describe(error);
      const reason =
        code === 'channel_not_found' || code === 'not_in_channel' || code === 'is_archived'
          ? `I can't post in this channel (${code}). Invite me with \`/invite @Orchestrate\`, or run /orchestrate in a public channel.`
          : `Slack refused the proposal message (${code}).`;
      await transition(orchestrationId, 'proposed', 'failed', { reason });
      await this.announcer.respond(responseUrl, `:warning: ${reason}`);
    }
  }

  private draft(doc: OrchestrationDoc, note: string | null, signal: AbortSignal, holder = 'plan') {
    const { config } = this.deps;
    return rosterAgents().then((roster) =>
      planProposal({ ...this.meter(doc._id), holder }, {
        goal: doc.goal,
        roster: roster.map((a) => ({ name: a.name, title: a.title, skills: a.skills })),
        defaultBudgetUsd: doc.proposal?.budget.maxUsd ?? doc.budget.maxUsd,
        maxBudgetUsd: config.budget.maxUsd,
        maxTokens: config.llm.planMaxOutputTokens,
        note,
        signal,
      }),
    );
  }

  private async replan(job: Job<ReplanJobData>): Promise<void> {
    const { orchestrationId, revision, by, note, responseUrl } = job.attrs.data;
    // This job holds its reservation under its own name, so that a retry after a crash books what
    // the cut-off call may have cost (whatever has become of the plan since), and no other's hold.
    const holder = `replan:${String(job.attrs._id)}`;
    await releaseHolds(orchestrationId, holder, this.deps.llm.model);
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc || doc.status !== 'proposed' || doc.revision !== revision) return;
    const controller = this.track(orchestrationId);
    let proposal;
    try {
      proposal = (await this.draft(doc, note, controller.signal, holder)).proposal;
    } catch (error) {
      const now = await Orchestration.findById(orchestrationId, { status: 1 }).lean();
      // Cancelled (or approved) while the CEO agent thought: the user knows, and needs no warning.
      if (now?.status !== 'proposed') return;
      await this.tell(doc.channelId, by, responseUrl, `:warning: ${planningFailureText(error)} The current plan (revision ${revision}) is unchanged.`);
      return;
    } finally {
      this.untrack(orchestrationId, controller);
    }
    const roster = (await rosterAgents()).map((a) => a.name);
    // The plan is the CEO agent's to redo; the cap stays what the reviewers last set.
    const outcome = await revise(orchestrationId, revision, by, note ? `asked again: ${note}` : 'asked again', (current) => ({ ...proposal, budget: current.budget }), roster);
    if (outcome.ok) await this.announcer.refresh(orchestrationId);
    else await this.tell(doc.channelId, by, responseUrl, `The new plan was set aside: ${safeMrkdwn(outcome.message, 2500)}`);
  }

  private async start(job: Job<StartJobData>): Promise<void> {
    const { orchestrationId } = job.attrs.data;
    const doc = await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>();
    if (!doc || !(doc.status === 'approved' || doc.status === 'executing')) return;
    let scaffolding;
    try {
      scaffolding = await scaffold(doc);
    } catch (error) {
      if (!(error instanceof ScaffoldError)) throw error;
      await this.fail(orchestrationId, `Could not set up the run: ${error.message}.`);
      return;
    }
    const { run } = scaffolding;
    const moved = await transition(orchestrationId, 'approved', 'executing', {
      reason: 'scaffolding created',
      set: { runId: run._id, startedAt: new Date() },
    });
    // Not moved: a retry of this job after the move (go on), or a cancel meanwhile (say nothing more).
    if (!moved && (await Orchestration.findById(orchestrationId, { status: 1 }).lean())?.status !== 'executing') return;
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
    const { lockLifetimeMs } = this.deps.config.engine;
    const claimant = String(job.attrs._id);
    // Keep the job's lock, and this job's lease on its step, for as long as the handler runs (the
    // LLM call, then the posts and the redraw): neither a long call nor a slow Slack makes the job
    // look dead, and no second job for the same step can claim it meanwhile.
    const keepLock = setInterval(() => {
      void job.touch().catch(() => undefined);
      void Step.updateOne({ _id: job.attrs.data.stepId, claimedBy: claimant, status: 'running' }, { $set: { leaseUntil: new Date(Date.now() + lockLifetimeMs) } }).catch(() => undefined);
    }, Math.max(500, lockLifetimeMs / 3));
    try {
      const retryAt = await this.runStep(job.attrs.data, claimant);
      if (retryAt) job.schedule(retryAt);
    } catch (error) {
      // Agenda retries the job with backoff; it resumes from the stored step and never redoes a call.
      this.deps.logger.warn(`step job ${job.attrs.data.stepId} will be retried: ${describe(error)}`);
      throw error;
    } finally {
      clearInterval(keepLock);
    }
  }

  /** Runs the step, or says when to look again (another job holds it under a lease that may lapse). */
  private async runStep({ orchestrationId, stepId }: StepJobData, claimant: string): Promise<Date | void> {
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
      const skipReason = doc?.budgetStop ? 'budget' : (doc?.status ?? 'closed');
      await Step.updateOne({ _id: step._id, status: { $nin: SETTLED_STEP_STATUSES } }, { $set: { status: 'skipped', skipReason } });
      return;
    }
    // The claim: a step not yet started, or one this very job started before a crash (its lock was
    // taken over), or one whose claimant stopped renewing its lease. Another live job keeps it.
    const now = new Date();
    const claimed = await Step.findOneAndUpdate(
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
        $set: { status: 'running', startedAt: step.startedAt ?? now, claimedBy: claimant, leaseUntil: new Date(now.getTime() + this.deps.config.engine.lockLifetimeMs) },
        $inc: { attempts: 1 },
      },
      { returnDocument: 'after' },
    ).lean<StepDoc>();
    if (!claimed) {
      // Held by another job. Should that job be dead but never taken over (its document replaced,
      // say), this one must still run the step once the lease lapses: look again then.
      const held = await Step.findById(step._id, { status: 1, leaseUntil: 1 }).lean();
      return held?.status === 'running' && held.leaseUntil ? new Date(new Date(held.leaseUntil).getTime() + 1000) : undefined;
    }
    // A crash interrupted this step's call: the provider may have billed it, so its worst case stays spent.
    await releaseHolds(doc._id, `step:${String(claimed._id)}`, this.deps.llm.model);

    if (claimed.kind === 'done') return this.finish(doc, claimed);
    if (claimed.kind === 'synthesis') {
      const tickets = await Step.find({ runId: claimed.runId, kind: 'ticket' }, { status: 1 }).lean();
      if (tickets.length && tickets.every((t) => t.status !== 'succeeded')) {
        await Step.updateOne({ _id: claimed._id }, { $set: { status: 'skipped', skipReason: 'every sub-ticket failed' } });
        await this.fail(orchestrationId, 'Every sub-ticket failed, so there is nothing to synthesize.');
        return;
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
    // Every call (retries and repairs included) is booked on its step as soon as it is settled,
    // with the model that was billed, so that the rollup adds up per step, role and model even
    // when the process dies mid-step.
    const onCost = async (usd: number, usage: TokenUsage | null) => {
      await Step.updateOne(
        { _id: claimed._id },
        {
          $inc: { costUsd: usd, 'tokens.input': usage?.input ?? 0, 'tokens.output': usage?.output ?? 0, 'tokens.cached': usage?.cacheRead ?? 0 },
          $set: { model: this.deps.llm.model },
        },
      );
    };
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
    // What follows (posts, redraw, enqueueing) may throw on infrastructure trouble; the job is
    // then retried and resumes from the stored step.
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
      const now = await Orchestration.findById(doc._id, { status: 1, budgetStop: 1 }).lean();
      await Step.updateOne({ _id: step._id, status: 'running' }, { $set: { status: 'skipped', skipReason: now?.budgetStop ? 'budget' : 'stopped', finishedAt: new Date() } });
      // Only a closed orchestration aborts calls; should one still be running, never leave it hanging.
      if (now && RUNNING_STATUSES.includes(now.status)) await this.advance(step.runId, String(doc._id));
      return;
    }
    // Anything but the LLM's own failure (the database not answering while the prompt was put
    // together, say) is worth another go of the whole job: this job still holds the step.
    if (!(error instanceof StepFailure || error instanceof LlmCallError)) throw error;
    const reason = error.message;
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
    // All while the run is still "failed, waiting for a higher cap", so that nothing can enqueue
    // meanwhile and a crash half-way leaves a second raise to finish the job: the skipped steps
    // back to pending (every step skipped in a budget stop was skipped for the budget, whatever
    // reason the race between teardown and the aborted calls left on it), and any job a racing
    // advance() saved after the teardown removed, lest it make the new enqueue a no-op.
    const skipped = await Step.find({ runId: current.runId, status: 'skipped' }, { _id: 1 }).lean();
    for (const s of skipped) await this.agenda.cancel({ name: JOBS.step, data: { stepId: String(s._id) } });
    await Step.updateMany(
      { runId: current.runId, status: 'skipped' },
      { $set: { status: 'pending', skipReason: null, startedAt: null, finishedAt: null, claimedBy: null, leaseUntil: null } },
    );
    const doc = await transition(orchestrationId, 'failed', 'executing', {
      by,
      reason: `cap raised to ${formatUsd(newCapUsd)}`,
      where: { budgetStop: true, 'budget.maxUsd': current.budget.maxUsd },
      set: { budgetStop: false, finishedAt: null, 'budget.maxUsd': newCapUsd, 'budget.warned': false },
    });
    if (!doc) return null;
    // The start job resumes a run as well as it starts one (everything it does is idempotent), and
    // it is retried if the database blinks: one quick write here, so the modal is answered in time.
    await this.enqueueStart(orchestrationId);
    void this.announceRaise(doc, newCapUsd, by).catch((error: unknown) => this.deps.logger.warn(`could not announce the raised cap of ${orchestrationId}: ${describe(error)}`));
    return doc;
  }

  private async announceRaise(doc: OrchestrationDoc, newCapUsd: number, by: string): Promise<void> {
    await this.announcer.postInThread(doc, {
      text: `Cap raised to ${formatUsd(newCapUsd)}; continuing`,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:arrow_forward: <@${by}> raised the cap to *${formatUsd(newCapUsd)}*. Continuing where the run stopped; finished steps are kept.` } }],
    });
    await this.announcer.refresh(doc._id);
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
      await this.ensureStepJob(orchestrationId, String(s._id));
      await Step.updateOne({ _id: s._id, status: 'pending' }, { $set: { status: 'queued' } });
    }
  }

  /**
   * One live job per step: a second enqueue (another instance, a retry) is a no-op, and should
   * two instances race, the step's lease still lets only one of them run it.
   */
  private ensureStepJob(orchestrationId: string, stepId: string): Promise<void> {
    return this.ensureJob<StepJobData>(JOBS.step, { orchestrationId, stepId }, { 'data.stepId': stepId }, { stepId });
  }

  /** Stores the job unless a live one (due, or running) exists; a job that ended or gave up is replaced. */
  private async ensureJob<T extends object>(name: string, data: T, unique: Record<string, string>, match: Record<string, string>): Promise<void> {
    const save = async () => {
      try {
        return await this.agenda.create<T>(name, data).unique(unique, { insertOnly: true }).save();
      } catch (error) {
        // Another instance stored it first (the unique index said so): that job will do the work.
        if ((error as { code?: number }).code !== 11000) throw error;
        return null;
      }
    };
    const job = await save();
    // Due: just stored, or an existing job waiting to run. Otherwise it may be running, or dead.
    if (!job || job.attrs.nextRunAt) return;
    const { jobs } = await this.agenda.queryJobs({ name, data: match });
    if (jobs.some((j) => j.lockedAt || j.nextRunAt)) return;
    await this.agenda.cancel({ name, data: match });
    await save();
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
      else if (o.runId) {
        // Steps whose job was lost between two writes, or gave up, get a new one; then what is ready runs.
        const started = await Step.find({ runId: o.runId, status: { $in: ['queued', 'running'] } }, { _id: 1 }).lean();
        for (const s of started) await this.ensureStepJob(id, String(s._id));
        await this.advance(o.runId, id);
      } else if (o.status === 'planning') {
        await this.enqueuePlan(id, null); // a no-op while its job is alive
      }
    }
  }

  private meter(orchestrationId: Types.ObjectId | string, step?: { id: Types.ObjectId; onCost: NonNullable<MeterContext['onCost']> }): MeterContext {
    const { llm, engine } = this.deps.config;
    return {
      orchestrationId,
      // A dead process's step hold is known stale once its lease lapses (one lock lifetime): wait
      // longer than that. A planning hold older than a call can take was left behind.
      room: { maxWaitMs: 2 * engine.lockLifetimeMs + llm.timeoutMs, staleAfterMs: llm.timeoutMs + 60_000 },
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

