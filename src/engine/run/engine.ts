/**
 * The engine's facade: the few things the rest of the app asks of it (start and drain the
 * queue, enqueue planning or a run, cancel, raise the cap, redraw, answer a person). It wires the
 * job handlers to the queue; the work itself lives in the job, scheduler and lifecycle modules.
 */
import type { WebClient } from '@slack/web-api';
import type { Agenda } from 'agenda';
import type { Db } from 'mongodb';
import type { SlackMessage } from '../../blocks/proposal.js';
import type { Config } from '../../config.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { OrchestrationDoc } from '../../models/orchestration.js';
import type { ChatLlm } from '../llm/client.js';
import { historyEstimator } from '../money/history.js';
import { BudgetLeases } from '../money/lease.js';
import type { ModelRegistry } from '../money/models.js';
import type { Pricer } from '../money/pricing.js';
import type { OrchestrationId } from '../plan/ids.js';
import { Announcer } from '../slack/announcer.js';
import { allSchedules, registerSchedule, type ScheduleJobData } from '../templates/schedules.js';
import type { ToolCatalog } from '../tools/catalog.js';
import type { EngineContext } from './context.js';
import { Inflight } from './inflight.js';
import { cancel, cancelAllInWorkspace, gaveUp, raiseCapAndContinue } from './lifecycle.js';
import { pauseRun, resumeRun, startTheWork } from './peopleGate.js';
import { runPlanJob, runReplanJob } from './planJob.js';
import { answerQuestion, type Question } from './question.js';
import {
  JOBS,
  JOBS_COLLECTION,
  JobQueue,
  type PlanJobData,
  type ReplanJobData,
  type StartJobData,
  type StepJobData,
} from './queue.js';
import { requestRerun, settleOutdated } from './rerun.js';
import { purgeFinished } from './retention.js';
import { acceptResult, editResult, type ReviewTarget, reworkResult } from './review.js';
import { runScheduleJob } from './scheduleJob.js';
import { recover } from './scheduler.js';
import { runStartJob } from './startJob.js';
import { runStepJob } from './stepJob.js';
import { renewStepLease } from './stepLease.js';
import { StepSlots } from './stepSlots.js';
import { loadOrchestration } from './transition.js';

export interface EngineDeps {
  config: Config;
  db: Db;
  llm: ChatLlm;
  pricer: Pricer;
  models: ModelRegistry;
  tools: ToolCatalog;
  /** The client jobs call Slack with: its retry window is bounded well inside the job lock. */
  slack: WebClient;
  /** The client the outbox posts with: no retries of its own, 429s handed back (it paces and retries itself). */
  postClient: WebClient;
  logger: Logger;
  /** How often a running step checks whether its orchestration was cancelled elsewhere. */
  watchIntervalMs?: number;
}

/** The recovery sweep runs every this many polls: it queries every open orchestration. */
const RECOVERY_BEATS = 6;

/**
 * Planning jobs at once per process. Planning waits on one LLM call at a time and costs this
 * process little, so a burst of requests is planned together rather than two by two.
 */
const PLANNING_CONCURRENCY = 10;
/**
 * Start jobs at once beyond those running steps: a start job runs the first ready step itself
 * (and others alongside) while a step slot is free, for as long as its chain goes on; the others
 * only write and enqueue, and end.
 */
const START_CONCURRENCY = 4;

export class Engine {
  private readonly ctx: EngineContext;
  private sweeper: NodeJS.Timeout | undefined;
  private recovery: NodeJS.Timeout | undefined;

  constructor(deps: EngineDeps) {
    const queue = new JobQueue(deps.db, deps.config.engine, deps.logger);
    const estimator = historyEstimator(deps.models, deps.config.llm.maxOutputTokens, deps.config.tools);
    const announcer = new Announcer({
      slack: deps.slack,
      postClient: deps.postClient,
      logger: deps.logger,
      planningModel: deps.llm.model,
      estimator,
      retryBaseMs: deps.config.engine.retryBaseMs,
      pacing: deps.config.slackPacing,
      lockLifetimeMs: deps.config.engine.lockLifetimeMs,
      approvers: deps.config.approvers,
    });
    this.ctx = {
      config: deps.config,
      llm: deps.llm,
      pricer: deps.pricer,
      models: deps.models,
      tools: deps.tools,
      logger: deps.logger,
      queue,
      announcer,
      // What a step's calls cost is booked at a quiet moment: the next request does not wait for it.
      leases: new BudgetLeases({ quiet: () => announcer.foreground.quiet(), warn: (line) => deps.logger.warn(line) }),
      inflight: new Inflight(),
      stepSlots: new StepSlots(deps.config.engine.maxParallel),
      watchIntervalMs: deps.watchIntervalMs ?? 1000,
    };
    const ctx = this.ctx;
    queue.define<PlanJobData>(JOBS.plan, (job) => runPlanJob(ctx, job), PLANNING_CONCURRENCY);
    queue.define<ReplanJobData>(JOBS.replan, (job) => runReplanJob(ctx, job), PLANNING_CONCURRENCY);
    queue.define<StartJobData>(
      JOBS.start,
      (job) => runStartJob(ctx, job),
      deps.config.engine.maxParallel + START_CONCURRENCY,
      (job) => renewStepLease(ctx, job),
    );
    queue.define<StepJobData>(
      JOBS.step,
      (job) => runStepJob(ctx, job),
      deps.config.engine.maxParallel,
      (job) => renewStepLease(ctx, job),
    );
    queue.onGaveUp((job, error) => gaveUp(ctx, job, error));
    queue.define<ScheduleJobData>(JOBS.schedule, (job) => runScheduleJob(ctx, job), 2);
    const days = deps.config.retentionDays;
    if (days !== null) {
      queue.define(
        JOBS.retention,
        async () => {
          const purged = await purgeFinished(deps.db, JOBS_COLLECTION, days);
          if (purged.orchestrations)
            deps.logger.info(
              `retention: deleted ${purged.orchestrations} finished orchestration(s) older than ${days} days`,
            );
        },
        1,
      );
    }
  }

  /** The job queue itself, for operators' tools (the dashboard) and tests. */
  get agenda(): Agenda {
    return this.ctx.queue.agenda;
  }

  async startProcessing(): Promise<void> {
    await this.ctx.queue.start();
    if (this.ctx.config.retentionDays !== null) await this.ctx.queue.every(JOBS.retention, '1 day');
    // Every recurring goal has its job (a no-op for those already there).
    for (const schedule of await allSchedules()) await registerSchedule(this.agenda, schedule);
    await recover(this.ctx);
    await this.ctx.announcer.resume();
    // Posts and redraws stored by other instances, or left by a dead one, are picked up on this beat.
    this.sweeper = setInterval(() => {
      this.ctx.announcer.resume().catch(() => undefined);
    }, this.ctx.config.engine.processEveryMs);
    // And continuously, not only at start, every open orchestration without a live job gets one: a
    // write that succeeded while its enqueue failed (an approval, a raised cap, a new request) goes on.
    this.recovery = setInterval(() => {
      recover(this.ctx).catch((error: unknown) =>
        this.ctx.logger.warn(`recovery sweep failed: ${describeError(error)}`),
      );
    }, RECOVERY_BEATS * this.ctx.config.engine.processEveryMs);
  }

  /** Stops taking jobs and waits for the running ones to finish (SIGTERM): by default, as long as one LLM call may take. */
  async drain(timeoutMs = this.ctx.config.llm.timeoutMs + 30_000): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.recovery);
    await this.ctx.queue.drain(timeoutMs, (id) => this.ctx.inflight.abortAll(id as OrchestrationId));
    await this.ctx.leases.closeAll();
    this.ctx.announcer.stop();
  }

  enqueuePlan(id: OrchestrationId, responseUrl: string | null): Promise<void> {
    return this.ctx.queue.ensurePlan(id, responseUrl);
  }

  /** "Ask again": the CEO agent plans the same goal with the user's note; the result becomes the next revision. */
  enqueueReplan(data: ReplanJobData): Promise<void> {
    return this.ctx.queue.now<ReplanJobData>(JOBS.replan, data);
  }

  /** Starts (or resumes) a run: scaffolding, the team post, then every step that is ready. */
  enqueueStart(id: OrchestrationId): Promise<void> {
    // From here until its first steps' requests leave, the run's start is its critical path.
    this.ctx.announcer.foreground.hold(`run:${id}`);
    return this.ctx.queue.ensureStart(id);
  }

  /** Ends an open orchestration as cancelled and tears down its work. Returns null when it was already closed. */
  cancel(id: OrchestrationId, by: string): Promise<OrchestrationDoc | null> {
    return cancel(this.ctx, id, by);
  }

  /** The app left the workspace in scope: its open orchestrations end as cancelled with `reason`, silently. */
  cancelAllInWorkspace(reason: string): Promise<number> {
    return cancelAllInWorkspace(this.ctx, reason);
  }

  raiseCapAndContinue(id: OrchestrationId, newCapUsd: number, by: string): Promise<OrchestrationDoc | null> {
    return raiseCapAndContinue(this.ctx, id, newCapUsd, by);
  }

  /** Redraws the proposal message from the stored state; never throws. */
  redraw(id: OrchestrationId): Promise<void> {
    return this.ctx.announcer.refresh(id);
  }

  /** A note only the person behind `responseUrl` sees; false when it could not be sent. */
  respond(responseUrl: string | null, text: string): Promise<boolean> {
    return this.ctx.announcer.respond(responseUrl, text);
  }

  /** People steering a run: the pause after the discussion, Pause / Resume, and gated results. Each is false when stale. */
  get steering() {
    const ctx = this.ctx;
    return {
      startTheWork: (id: OrchestrationId, by: string) => startTheWork(ctx, id, by),
      pause: (id: OrchestrationId, by: string) => pauseRun(ctx, id, by),
      resume: (id: OrchestrationId, by: string) => resumeRun(ctx, id, by),
      accept: (target: ReviewTarget) => acceptResult(ctx, target),
      rework: (target: ReviewTarget, feedback: string) => reworkResult(ctx, target, feedback),
      edit: (target: ReviewTarget, text: string) => editResult(ctx, target, text),
      /** Tells one person something in the run's channel or thread, only they see it. */
      tellInThread: (channel: string, user: string, threadTs: string, text: string) =>
        ctx.announcer.client.chat.postEphemeral({ channel, user, thread_ts: threadTs, text }).then(() => undefined),
      acknowledge: (channel: string, ts: string) =>
        ctx.announcer.client.reactions.add({ channel, timestamp: ts, name: 'eyes' }).then(() => undefined),
    };
  }

  /** What people do with a finished run: re-run a step, settle what a re-run left out of date, post in its thread. */
  get afterRun() {
    const ctx = this.ctx;
    return {
      rerun: (id: OrchestrationId, stepId: string, by: string, feedback: string | null) =>
        requestRerun(ctx, id, stepId, by, feedback),
      settleOutdated: (id: OrchestrationId, by: string, choice: 'rerun' | 'keep') =>
        settleOutdated(ctx, id, by, choice),
      announce: async (id: OrchestrationId, key: string, message: SlackMessage) => {
        const doc = await loadOrchestration(id);
        if (doc?.messageTs) await ctx.announcer.post(doc, [{ key: `${id}:${key}`, message }]);
      },
      answer: (question: Question) => answerQuestion(ctx, question),
    };
  }
}
