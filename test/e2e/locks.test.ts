/**
 * Job locks: a planning job whose call outlasts the lock lifetime keeps its lock (it is planned
 * once, not again by a second run of its job), and a shutdown that outlasts its wait hands the
 * running step back, so that the next instance takes it over at once rather than after the lock
 * lifetime, and the step still runs to completion once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { type RunningService, startService } from '../../src/server.js';
import {
  blocksText,
  CHANNEL,
  captureLogger,
  eventually,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness | null = null;
let second: RunningService | null = null;
afterEach(async () => {
  await second?.stop();
  second = null;
  await h?.stop();
  h = null;
});

const proposalsOf = (harness: Harness, goal: string) =>
  harness.slack
    .callsTo('chat.postMessage')
    .filter((c) => !c.args.thread_ts && blocksText(c).includes(goal) && blocksText(c).includes('orchestrate.approve'));

describe('job locks', () => {
  it('planning and its repair round, together longer than the lock lifetime, run once: the plan job keeps its lock', async () => {
    h = await startHarness({
      ORCHESTRATE_LOCK_LIFETIME_MS: '1500',
      LLM_TIMEOUT_MS: '1400',
      ORCHESTRATE_PROCESS_EVERY_MS: '250',
    });
    const harness = h;
    // Two calls of 1.2 s each: more than the lock lasts, without a renewed lock the job is taken for dead and run again.
    harness.llm.delayMs = 1200;
    const plan = scriptedResponder();
    let planCalls = 0;
    harness.llm.responder = (req) => {
      if (req.toolName !== 'propose_plan') return plan(req);
      planCalls++;
      return planCalls === 1 ? { tool: 'propose_plan', args: { goal: 'not a plan' } } : plan(req);
    };
    const goal = 'A goal whose planning takes longer than the job lock lasts';
    const { orchestrationId } = await harness.propose(goal);
    // Time for a second run of the job, had there been one, to show itself.
    await new Promise((r) => setTimeout(r, 2500));
    expect(harness.llm.requests.filter((r) => r.toolName === 'propose_plan')).toHaveLength(2);
    expect(proposalsOf(harness, goal)).toHaveLength(1);
    const doc = await Orchestration.findById(orchestrationId).lean();
    expect(doc?.status).toBe('proposed');
    expect(doc?.transitions.filter((t) => t.to === 'proposed')).toHaveLength(1);
  }, 30_000);

  it('a step still running when the shutdown wait ends is handed back: the next instance runs it at once, once', async () => {
    // Far longer than the test may take: the step can only be taken over because it was handed back.
    const lockLifetimeMs = 120_000;
    h = await startHarness({
      ORCHESTRATE_LOCK_LIFETIME_MS: String(lockLifetimeMs),
      LLM_TIMEOUT_MS: '90000',
      ORCHESTRATE_PROCESS_EVERY_MS: '250',
    });
    const harness = h;
    const { value, orchestrationId, ts } = await harness.propose('A goal whose step outlasts the shutdown');
    harness.llm.reset();
    harness.llm.delayMs = 60_000; // every call held open
    await harness.click('orchestrate.approve', value, REQUESTER, ts);
    const held = await eventually(
      () => harness.llm.requests.find((r) => r.toolName === 'state_position' && r.endedAt === null),
      10_000,
      'a position call in flight',
    );
    const role = /As (.+?), call/.exec(held.user)![1]!;
    const step = await eventually(
      () => Step.findOne({ orchestrationId, kind: 'discuss', status: 'running', title: `Position: ${role}` }).lean(),
      5000,
      'its step running',
    );

    await harness.service.engine.drain(200);
    // The call was cut, and the step left as it was (not skipped), for the next instance, with
    // its lease and its job's lock released rather than left to lapse.
    await eventually(() => held.aborted, 5000, 'the held call aborted');
    const handedBack = (await Step.findById(step._id).lean())!;
    expect(handedBack.status).toBe('running');
    expect(new Date(handedBack.leaseUntil!).getTime()).toBeLessThanOrEqual(Date.now());
    const job = await harness.service.database.connection
      .db!.collection('agendaJobs')
      .findOne({ 'data.stepId': String(step._id) });
    expect(job?.lockedAt ?? null).toBeNull();

    harness.llm.delayMs = 0;
    const logs: string[] = [];
    second = await startService(harness.config, { logger: captureLogger(logs), watchIntervalMs: 100 });
    // The embedded database has no change streams: the queue says it polls, and how often.
    expect(logs.some((l) => /no change streams .*next poll \(every 250 ms\)/.test(l))).toBe(true);
    await eventually(
      () => harness.llm.requests.find((r) => r !== held && r.toolName === 'state_position' && r.user === held.user),
      15_000,
      'the step taken over',
    );

    await eventually(
      async () => (await Orchestration.findById(orchestrationId, { status: 1 }).lean())?.status === 'completed',
      20_000,
      'the run completed by the next instance',
    );
    const done = (await Step.findById(step._id).lean())!;
    expect(done.status).toBe('succeeded');
    expect(done.attempts).toBe(2);
    const calls = harness.llm.requests.filter((r) => r.toolName === 'state_position' && r.user === held.user);
    expect(calls.filter((r) => !r.aborted)).toHaveLength(1);
    await eventually(
      () => harness.slack.threadReplies(CHANNEL, ts).some((m) => m.text.startsWith('Cost rollup')),
      10_000,
      'the closing posts',
    );
    const posts = harness.slack
      .threadReplies(CHANNEL, ts)
      .filter((m) => JSON.stringify(m).includes(`Position of ${role}`));
    expect(posts).toHaveLength(1);
  }, 60_000);
});
