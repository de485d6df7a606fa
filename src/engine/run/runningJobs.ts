/**
 * The jobs this process is running. Every job's Agenda lock is kept alive while its handler runs
 * (and whatever else the job holds, a step's lease), so no long call makes it look dead; and
 * should a shutdown outlast its wait, the jobs still running are handed back: their calls
 * aborted, their locks and leases released, so that the next instance takes them over at once
 * rather than after a lock lifetime.
 */
import type { Job } from 'agenda';
import { type Collection, ObjectId } from 'mongodb';
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Step } from '../../models/run.js';
import type { AnyJobData } from './queue.js';

/** Renews what a job holds besides its lock (a step's lease); best effort, like the lock's renewal. */
export type Renew = (job: Job<AnyJobData>) => Promise<unknown>;

interface Running {
  job: Job<AnyJobData>;
  timer: NodeJS.Timeout;
  /** Resolves once the handler has returned or thrown. */
  ended: Promise<void>;
}

/** How long handlers get to unwind once their calls are aborted, before their jobs are handed back anyway. */
const UNWIND_MS = 2000;

export class RunningJobs {
  private readonly running = new Map<string, Running>();
  /** Jobs handed back to the database: this process never writes their job document again. */
  private readonly handedBack = new Set<string>();
  private stopping = false;

  constructor(
    private readonly jobs: Collection,
    private readonly lockLifetimeMs: number,
    private readonly logger: Logger,
  ) {}

  /** True once a shutdown has given up waiting: an aborted call then means "hand the work back", not "stopped". */
  get handingBack(): boolean {
    return this.stopping;
  }

  /**
   * Runs the handler with the job's lock renewed every third of its lifetime. A job handed back
   * never settles: Agenda would otherwise store it as finished, or failed, over the release.
   */
  async run(job: Job<AnyJobData>, handler: () => Promise<void>, renew?: Renew): Promise<void> {
    const id = String(job.attrs._id);
    const timer = setInterval(
      () => {
        void job.touch().catch(() => undefined);
        if (renew) void renew(job).catch(() => undefined);
      },
      Math.max(100, Math.floor(this.lockLifetimeMs / 3)),
    );
    let ended = () => {};
    this.running.set(id, { job, timer, ended: new Promise<void>((resolve) => (ended = resolve)) });
    let failure: { error: unknown } | null = null;
    try {
      await handler();
    } catch (error) {
      failure = { error };
    } finally {
      clearInterval(timer);
    }
    // A handler that gave up because of the shutdown leaves its job to be handed back.
    const handBack = this.handedBack.has(id) || (this.stopping && failure !== null);
    if (!handBack) this.running.delete(id);
    ended();
    if (handBack) return new Promise<never>(() => {});
    if (failure) throw failure.error;
  }

  /** Resolves true once no handler is running, false if `timeoutMs` passes first. */
  async idle(timeoutMs: number): Promise<boolean> {
    const all = Promise.all([...this.running.values()].map((r) => r.ended)).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The shutdown wait is over: aborts the calls of the jobs still running (`abort`, per
   * orchestration), gives their handlers a moment to unwind, then releases their locks (due at
   * once) and their steps' leases.
   */
  async handBack(abort: (orchestrationId: string) => void): Promise<void> {
    if (!this.running.size) return;
    this.stopping = true;
    for (const { job } of this.running.values()) {
      if (job.attrs.data?.orchestrationId) abort(job.attrs.data.orchestrationId);
    }
    await this.idle(UNWIND_MS);
    const left = [...this.running.entries()];
    if (!left.length) return;
    for (const [id, r] of left) {
      this.handedBack.add(id);
      clearInterval(r.timer);
    }
    const now = new Date();
    const jobIds = left.map(([id]) => new ObjectId(id));
    try {
      await this.jobs.updateMany({ _id: { $in: jobIds } }, { $set: { lockedAt: null, nextRunAt: now } });
      await Step.updateMany(
        // Its own step, and the chain it was continuing.
        { status: 'running', claimedBy: { $in: left.map(([id]) => id) } },
        { $set: { leaseUntil: now } },
      );
      this.logger.warn(
        `shutting down: handed back ${left.length} running job(s) (${left.map(([, r]) => r.job.attrs.name).join(', ')}) for the next instance`,
      );
    } catch (error) {
      this.logger.error(
        `could not hand back the running jobs; they are taken over once their locks lapse: ${describeError(error)}`,
      );
    }
  }
}
