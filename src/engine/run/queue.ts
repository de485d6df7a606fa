/**
 * The job queue: Agenda on MongoDB, its job names and data, the retry policy, and "one live job"
 * de-duplication. Every handler resumes from stored state, so a retried or duplicated job never
 * redoes finished work.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda, exponential, type Job } from 'agenda';
import type { Db } from 'mongodb';
import type { Config } from '../../config.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Orchestration } from '../../models/orchestration.js';
import { currentTenant, type Tenant, tenantOf, withTenant } from '../../tenant.js';
import type { OrchestrationId } from '../plan/ids.js';
import { notificationChannelFor } from './notifications.js';
import { type Renew, RunningJobs } from './runningJobs.js';

export const JOBS = {
  plan: 'orchestrate.plan',
  replan: 'orchestrate.replan',
  start: 'orchestrate.start',
  step: 'orchestrate.step',
  retention: 'orchestrate.retention',
  schedule: 'orchestrate.schedule',
} as const;
export type JobName = (typeof JOBS)[keyof typeof JOBS];

export interface PlanJobData {
  orchestrationId: OrchestrationId;
  responseUrl: string | null;
}
export interface ReplanJobData {
  orchestrationId: OrchestrationId;
  revision: number;
  by: string;
  note: string | null;
  /** The Ask again click's response_url: how its outcome reaches the clicker. */
  responseUrl?: string | null;
}
export interface StartJobData {
  orchestrationId: OrchestrationId;
}
export interface StepJobData {
  orchestrationId: OrchestrationId;
  stepId: string;
}
export type AnyJobData = Partial<PlanJobData & ReplanJobData & StepJobData> & TenantJobData;

/** Every job is stored with the workspace it was enqueued for, and runs as it (src/tenant.ts). */
export interface TenantJobData {
  tenant?: Tenant | null;
}

/**
 * The workspace a job works for: the one it was stored with, else (a job stored before tenancy,
 * or by a sweep across workspaces) its orchestration's; null for the jobs that serve every workspace.
 */
export async function tenantOfJob(data: AnyJobData | undefined): Promise<Tenant | null> {
  if (data?.tenant) return data.tenant;
  if (!data?.orchestrationId) return null;
  // A query runs when awaited, so the await belongs inside the scope.
  const doc = await withTenant(
    null,
    async () => await Orchestration.findById(data.orchestrationId, { slackTeamId: 1, slackEnterpriseId: 1 }).lean(),
  );
  return doc ? tenantOf(doc) : null;
}

/** Runs `work` as the job's workspace. */
export async function asJobTenant<T>(data: AnyJobData | undefined, work: () => Promise<T>): Promise<T> {
  return withTenant(await tenantOfJob(data), work);
}

/** Job data stamped with the workspace in scope, unless it names one already. */
function stamped<T extends object>(data: T): T & TenantJobData {
  return 'tenant' in data ? (data as T & TenantJobData) : { ...data, tenant: currentTenant() };
}

export const JOBS_COLLECTION = 'agendaJobs';

export class JobQueue {
  readonly agenda: Agenda;
  private readonly running: RunningJobs;
  /** The jobs of every kind that may run at once: Agenda's overall cap never binds before a kind's own. */
  private slots = 0;
  private stopping = false;

  constructor(
    private readonly db: Db,
    private readonly engine: Config['engine'],
    private readonly logger: Logger,
  ) {
    this.agenda = new Agenda({
      backend: new MongoBackend({ mongo: db, collection: JOBS_COLLECTION }),
      processEvery: engine.processEveryMs,
      defaultLockLifetime: engine.lockLifetimeMs,
    });
    this.running = new RunningJobs(db.collection(JOBS_COLLECTION), engine.lockLifetimeMs, logger);
    this.agenda.on('error', (error) => {
      // A job handed back at shutdown is later declared expired by Agenda: expected, and no one's concern.
      if (!this.running.handingBack) logger.error(`job queue error: ${describeError(error)}`);
    });
  }

  /** True from the start of a shutdown: no job starts new work in this process any more. */
  get draining(): boolean {
    return this.stopping;
  }

  /** True once a shutdown has stopped waiting for the running jobs: their aborted calls mean "hand the work back". */
  get handingBack(): boolean {
    return this.running.handingBack;
  }

  /**
   * A job only throws on infrastructure trouble (the database or Slack unreachable): it is retried
   * with backoff, eight times up to a minute apart (about four minutes of an outage with the
   * default ORCHESTRATE_RETRY_BASE_MS), on top of each Slack call's own retries. A process locks no
   * more jobs than it runs (lockLimit), so a SIGTERM or a crash never strands jobs locked but not started.
   * Every job's lock (and what `renew` adds: a step's lease) is kept alive while its handler runs,
   * however long its calls take, so that no second instance takes it for dead.
   */
  define<T extends object>(
    name: JobName,
    handler: (job: Job<T>) => Promise<void>,
    concurrency: number,
    renew?: Renew,
  ): void {
    const backoff = exponential({ delay: this.engine.retryBaseMs, maxDelay: 60_000, maxRetries: 8, jitter: 0.2 });
    this.slots += concurrency;
    const run = (job: Job<T>) =>
      asJobTenant(job.attrs.data as AnyJobData, () =>
        this.running.run(job as Job<AnyJobData>, () => handler(job), renew),
      );
    this.agenda.define<T>(name, run, {
      concurrency,
      lockLimit: concurrency,
      backoff,
      lockLifetime: this.engine.lockLifetimeMs,
    });
  }

  /** Called when a job failed on every retry. */
  onGaveUp(handler: (job: Job, error: Error) => Promise<void>): void {
    this.agenda.on('retry exhausted', (error: Error, job: Job) => {
      asJobTenant(job.attrs.data as AnyJobData, () => handler(job, error)).catch((e: unknown) =>
        this.logger.error(`could not close ${job.attrs.name} after its retries: ${describeError(e)}`),
      );
    });
  }

  async start(): Promise<void> {
    // Where the database enforces it, a second job for one step cannot even be stored. (The
    // embedded database does not enforce unique indexes; the step's lease covers that case.)
    await this.db
      .collection(JOBS_COLLECTION)
      .createIndex(
        { name: 1, 'data.stepId': 1 },
        { unique: true, name: 'one_job_per_step', partialFilterExpression: { 'data.stepId': { $exists: true } } },
      )
      .catch((error: unknown) =>
        this.logger.warn(`could not create the one-job-per-step index: ${describeError(error)}`),
      );
    const channel = await notificationChannelFor(this.db, JOBS_COLLECTION, this.engine.processEveryMs, this.logger);
    this.agenda.notifyVia(channel);
    this.agenda.maxConcurrency(this.slots);
    // A job beyond its kind's lock limit is not locked when stored: look again as soon as a slot
    // frees, not on the next poll. (Agenda lets go of a finished job within the same turn of the
    // event loop as 'complete', so the slot is free by then.)
    this.agenda.on('complete', (job) => {
      if ('attrs' in job) setImmediate(() => channel.wake(job.attrs.name));
    });
    await this.agenda.start();
  }

  /**
   * Stops taking jobs (those locked but not started are unlocked) and waits up to `timeoutMs` for
   * the running ones to finish. Those still running then are handed back: `abort` cuts their
   * calls (per orchestration), and their locks and leases are released for the next instance.
   */
  async drain(timeoutMs: number, abort: (orchestrationId: string) => void = () => {}): Promise<void> {
    this.stopping = true;
    await this.agenda.stop().catch(() => undefined);
    if (await this.running.idle(timeoutMs)) return;
    await this.running.handBack(abort);
  }

  /** A job that runs every `interval` ("1 day"): one for the whole deployment, whatever the instances. */
  async every(name: JobName, interval: string): Promise<void> {
    await this.agenda.every(interval, name, {});
  }

  async now<T extends object>(name: JobName, data: T): Promise<void> {
    await this.agenda.now<T>(name, stamped(data));
  }

  ensurePlan(orchestrationId: OrchestrationId, responseUrl: string | null): Promise<void> {
    return this.ensure<PlanJobData>(JOBS.plan, { orchestrationId, responseUrl }, { orchestrationId });
  }

  ensureStart(orchestrationId: OrchestrationId): Promise<void> {
    return this.ensure<StartJobData>(JOBS.start, { orchestrationId }, { orchestrationId });
  }

  /**
   * One live job per step: a second enqueue (another instance, a retry) is a no-op, and should
   * two instances race, the step's lease still lets only one of them run it.
   */
  ensureStep(orchestrationId: OrchestrationId, stepId: string): Promise<void> {
    return this.ensure<StepJobData>(JOBS.step, { orchestrationId, stepId }, { stepId });
  }

  /** Whether a start or step job of the orchestration is due or running: it goes on with what its steps unblock. */
  async hasLiveJob(orchestrationId: OrchestrationId): Promise<boolean> {
    const { jobs } = await this.agenda.queryJobs({ names: [JOBS.start, JOBS.step], data: { orchestrationId } });
    return jobs.some((j) => j.lockedAt || j.nextRunAt);
  }

  /** Removes the step jobs of an orchestration, or of one step. */
  async cancelSteps(match: { orchestrationId: OrchestrationId } | { stepId: string }): Promise<void> {
    await this.agenda.cancel({ name: JOBS.step, data: match }).catch(() => 0);
  }

  /** Stores the job unless a live one (due, or running) exists; a job that ended or gave up is replaced. */
  private async ensure<T extends object>(name: JobName, data: T, match: Record<string, string>): Promise<void> {
    const unique = Object.fromEntries(Object.entries(match).map(([k, v]) => [`data.${k}`, v]));
    const save = async () => {
      try {
        return await this.agenda.create<T>(name, stamped(data)).unique(unique, { insertOnly: true }).save();
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
}
