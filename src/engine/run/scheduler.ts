/**
 * DAG scheduling: a step is enqueued the moment its last dependency settles, so independent
 * steps run at once (up to ORCHESTRATE_MAX_PARALLEL per process); after a restart, work whose
 * job may have been lost between two writes gets a new one.
 */
import type { Types } from 'mongoose';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { Step, type StepDoc } from '../../models/run.js';
import { tenantOf, withTenant } from '../../tenant.js';
import type { AgentPersona } from '../llm/prompts.js';
import type { OrchestrationId } from '../plan/ids.js';
import { orchestrationIdOf } from '../plan/ids.js';
import { RUNNING_STATUSES, SETTLED_STEP_STATUSES } from '../plan/status.js';
import type { EngineContext } from './context.js';
import { applyRerun } from './rerun.js';
import { afterTurn, readRunState } from './sharedReads.js';

/** A step the job that settled its dependency runs next itself, rather than through a job of its own. */
export type Continuation = Pick<
  StepDoc,
  '_id' | 'key' | 'kind' | 'runId' | 'agentId' | 'dependsOn' | 'status' | 'startedAt'
> & {
  /** Claimed by the job in the write that made it (the start's first wave), with its orchestration as then stored. */
  claimedWith?: OrchestrationDoc;
  /** Its agent, as the write that made the step recorded it: the prompt does not read it back. */
  agent?: AgentPersona;
};

/** What advance() would read, when its caller has just written it (the start): the run's state and its steps. */
export interface KnownRun {
  doc: Pick<OrchestrationDoc, '_id' | 'status' | 'paused'>;
  steps: Array<Continuation & Pick<StepDoc, 'review' | 'outdated' | 'claimedBy'>>;
}

/**
 * What advance() waits for before it enqueues: a promise, or a function making it, `awaited` when
 * a step's start waits for it (others to enqueue, or the job ends with it), so that it must not
 * wait for a quiet moment itself: its posts may, when only the chain's later posts wait for them.
 */
export type Stored = Promise<unknown> | ((awaited: boolean) => Promise<unknown>);

/** The step job calling advance, and what it may do with what is ready (see advance). */
export interface ChainLink {
  claimant: string;
  settled?: string;
  /** The job is re-run (a retry, a crash): the steps it was running are resumed. */
  resume?: boolean;
  defer?: (work: Promise<unknown>) => void;
  /** Runs the step alongside this job's chain, in a slot of its own; false when there is none. */
  fork?: (step: Continuation) => boolean;
}

/**
 * Enqueues every pending step whose dependencies have all settled, all at once, so that they
 * start together. Safe to call from anywhere, any number of times. `after`: what must be stored
 * before anything is enqueued (a settled step's thread posts); the reads do not wait for it.
 * Given as a function, in a chain it is made once the reads have answered (they go first), and
 * told whether anything waits for it (see Stored).
 *
 * `chain`: the step job calling, which runs one ready step itself rather than enqueue it (a
 * hand-off is then a claim, not a job stored, locked and read back), or resumes the step it
 * claimed before its retry or crash; returned for that job to run. With `settled`, the step that
 * job just settled, only what that step unblocked is enqueued or run: a step made ready by another
 * step is that step's job's to start (whichever of a step's dependencies settles last sees it
 * ready), so that jobs settling together do not all race for the same one. With `defer`, the
 * job starts its next step at once: `after` and the enqueueing of the others go to `defer`, for the
 * job to await before its next step posts anything, and before it ends. With `fork`, the job runs
 * other ready steps alongside while this process has room (see stepSlots.ts); the rest are enqueued.
 */
export async function advance(
  ctx: EngineContext,
  runId: Types.ObjectId,
  orchestrationId: OrchestrationId,
  after?: Stored,
  chain?: ChainLink,
  known?: KnownRun,
): Promise<Continuation | null> {
  const defer = chain?.defer;
  // Without a chain to defer it to, it is made at once, and stored alongside the reads.
  const late = defer && typeof after === 'function' ? after : null;
  let stored: Promise<unknown> | undefined = late ? undefined : typeof after === 'function' ? after(true) : after;
  if (defer && stored) defer(stored);
  let awaited = true;
  let picked: Picked | null;
  try {
    picked = await pickReady(ctx, runId, orchestrationId, defer ? undefined : stored, chain, known);
    if (picked) awaited = !picked.next || picked.others.length > 0 || picked.handedOn.length > 0;
  } finally {
    if (late) {
      stored = late(awaited);
      defer!(stored);
    }
  }
  if (!picked) return null;
  const { next, others, handedOn } = picked;
  const enqueued = (async () => {
    await stored;
    await Promise.all([
      ...others.map(async (s) => {
        await ctx.queue.ensureStep(orchestrationId, String(s._id));
        await Step.updateOne({ _id: s._id, status: 'pending' }, { $set: { status: 'queued' } });
      }),
      ...handedOn.map(async (s) => {
        // Unclaimed too: this job's lease renewal would otherwise hold it.
        await Step.updateOne(
          { _id: s._id, status: 'running', claimedBy: chain!.claimant },
          { $set: { leaseUntil: new Date(0), claimedBy: null } },
        );
        await ctx.queue.ensureStep(orchestrationId, String(s._id));
      }),
    ]);
  })();
  if (defer && next) defer(enqueued);
  else await enqueued;
  return next ?? null;
}

interface Picked {
  next: Continuation | undefined;
  others: Continuation[];
  handedOn: Continuation[];
}

/** A run's steps, as advance() decides on them: steps settling together share one read (see afterTurn). */
const readSteps = afterTurn((runId) =>
  Step.find({ runId }, 'key kind runId agentId status startedAt dependsOn review outdated claimedBy')
    .lean<KnownRun['steps']>()
    .exec(),
);

/** What advance() decides on: the run's state and its steps. */
async function readRun(
  runId: Types.ObjectId,
  orchestrationId: OrchestrationId,
): Promise<{ doc: KnownRun['doc'] | null; steps: KnownRun['steps'] }> {
  const [doc, steps] = await Promise.all([readRunState(orchestrationId), readSteps(String(runId))]);
  return { doc, steps };
}

/** What is ready, and who runs it: the chain, a fork, or a job of its own (see advance). */
async function pickReady(
  ctx: EngineContext,
  runId: Types.ObjectId,
  orchestrationId: OrchestrationId,
  stored: Promise<unknown> | undefined,
  chain?: ChainLink,
  known?: KnownRun,
): Promise<Picked | null> {
  const [run] = await Promise.all([known ?? readRun(runId, orchestrationId), stored]);
  const { doc, steps } = run;
  if (!doc || !RUNNING_STATUSES.includes(doc.status)) return null;
  // The steps a re-run job was running when it stopped (its chain's, and its forks'): resumed, even
  // in a paused run (a step once started goes on), or handed on should this process be shutting down.
  const mine = chain?.resume
    ? steps.filter((s) => s.status === 'running' && s.claimedBy === chain.claimant && s.kind !== 'people')
    : [];
  // A paused run starts nothing new; Resume advances it again.
  if (doc.paused && !mine.length) return null;
  // A result awaiting people's review, or out of date after a re-run, is not there yet for what builds on it.
  const settled = new Set(
    steps
      .filter((s) => SETTLED_STEP_STATUSES.includes(s.status) && s.review?.state !== 'awaiting' && !s.outdated)
      .map((s) => s.key),
  );
  const unblocked = chain?.settled;
  const ready = steps.filter(
    (s) =>
      !doc.paused &&
      s.status === 'pending' &&
      s.dependsOn.every((d) => settled.has(d)) &&
      (unblocked === undefined || s.dependsOn.includes(unblocked)),
  );
  // A shutting-down process starts no chain of its own: what is ready is left to the next instance's jobs.
  const continuing = chain && !ctx.queue.draining ? chain : null;
  // A people step waits for people under a job of its own, scheduled for when it starts by itself.
  const runnable = ready.filter((s) => s.kind !== 'people');
  const next = continuing ? (mine[0] ?? runnable[0]) : undefined;
  const alongside = continuing ? [...mine, ...runnable].filter((s) => s !== next) : [];
  const forked = new Set(alongside.filter((s) => continuing?.fork?.(s)));
  // A step this job held but cannot run any more: let go (lease and claim) for a job of its own.
  const handedOn = mine.filter((s) => s !== next && !forked.has(s));
  const others = ready.filter((s) => s !== next && !forked.has(s));
  // Until its request leaves, a step's start is the run's critical path.
  for (const s of [...(next ? [next] : []), ...forked, ...others, ...handedOn])
    ctx.announcer.foreground.hold(`start:${String(s._id)}`);
  return { next, others, handedOn };
}

/** At start and on a slow beat: re-enqueue the work whose job may have been lost between two writes. */
export async function recover(ctx: EngineContext): Promise<void> {
  // A re-run a crash left half-applied is finished first (applying it again is harmless).
  const rerunning = await Orchestration.find({ rerun: { $ne: null } }).lean<OrchestrationDoc[]>();
  for (const o of rerunning) if (o.rerun) await withTenant(tenantOf(o), () => applyRerun(ctx, o, o.rerun!));
  const open = await Orchestration.find(
    { status: { $in: ['planning', 'approved', 'executing', 'synthesizing'] } },
    { status: 1, runId: 1, responseUrl: 1, slackTeamId: 1, slackEnterpriseId: 1 },
  ).lean();
  // The sweep serves every workspace; each orchestration is recovered as its own.
  for (const o of open) await withTenant(tenantOf(o), () => recoverOne(ctx, o));
}

async function recoverOne(
  ctx: EngineContext,
  o: Pick<OrchestrationDoc, '_id' | 'status' | 'runId' | 'responseUrl'>,
): Promise<void> {
  const id = orchestrationIdOf(o);
  if (o.status === 'approved') await ctx.queue.ensureStart(id);
  else if (o.runId) {
    // Steps whose job was lost between two writes, or gave up, get a new one; then what is ready runs.
    // A running step under a live lease has a live holder (a job continuing a chain holds no job of
    // its own): only a lapsed lease means a job was lost.
    const started = await Step.find(
      {
        runId: o.runId,
        $or: [
          { status: 'queued' },
          { status: 'running', $or: [{ leaseUntil: null }, { leaseUntil: { $lt: new Date() } }] },
        ],
      },
      { _id: 1 },
    ).lean();
    for (const s of started) await ctx.queue.ensureStep(id, String(s._id));
    // A live job goes on with what its steps unblock, in the thread's order (a result's posts before
    // what builds on it): the sweep starts what is ready only in a run no job serves any more.
    if (!started.length && !(await ctx.queue.hasLiveJob(id))) await advance(ctx, o.runId, id);
  } else if (o.status === 'planning') {
    await ctx.queue.ensurePlan(id, o.responseUrl ?? null); // a no-op while its job is alive
  }
}
