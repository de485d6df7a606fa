/**
 * The execution engine over real parts: parallel DAG scheduling, the concurrency limit,
 * schema repair, hard failures, idempotent scaffolding and graceful shutdown.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeControlValue } from '../../src/blocks/actionIds.js';
import { scaffold } from '../../src/engine/crew/scaffold.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { Agent } from '../../src/models/agent.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Project } from '../../src/models/project.js';
import { Run, Step } from '../../src/models/run.js';
import { SlackPost } from '../../src/models/slackPost.js';
import { Team } from '../../src/models/team.js';
import { TicketModel } from '../../src/models/ticket.js';
import { tenantOf, withTenant } from '../../src/tenant.js';
import { sampleProposal, ticket } from '../fixtures.js';
import { CHANNEL, eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../helpers/harness.js';

/** 8 tickets in three levels: a–e independent, f after a+b, g after c+d, h after f+g. Critical path: 3 tickets. */
function eightTickets(): Proposal {
  const t = (key: string, dependsOn: string[] = []) => ({
    ...ticket('Ticket', key, dependsOn, key < 'f' ? 'analyst' : 'writer'),
    title: `Ticket ${key.toUpperCase()}`,
  });
  return sampleProposal({
    tickets: [t('a'), t('b'), t('c'), t('d'), t('e'), t('f', ['a', 'b']), t('g', ['c', 'd']), t('h', ['f', 'g'])],
    discussion: { enabled: false, prompt: '' },
    budget: { maxUsd: 5 },
  });
}

/** A, then B, C and D at once on A, then E on all three. */
function fanOut(): Proposal {
  const t = (key: string, dependsOn: string[] = []) => ticket('Fan', key, dependsOn);
  return sampleProposal({
    tickets: [t('a'), t('b', ['a']), t('c', ['a']), t('d', ['a']), t('e', ['b', 'c', 'd'])],
    discussion: { enabled: false, prompt: '' },
    budget: { maxUsd: 5 },
  });
}

const stepJobsOf = (h: Harness, orchestrationId: string) =>
  h.service.database.connection
    .db!.collection('agendaJobs')
    .find({ name: 'orchestrate.step', 'data.orchestrationId': orchestrationId })
    .toArray();
const startJobOf = (h: Harness, orchestrationId: string) =>
  h.service.database.connection
    .db!.collection('agendaJobs')
    .findOne({ name: 'orchestrate.start', 'data.orchestrationId': orchestrationId });

/**
 * Approves the plan and has one database call that `hits` step B (known once the run is scaffolded)
 * fail once, as a dropped connection would; true, once the run has completed, if it did.
 */
async function approveFailingOnceOnB(
  h: Harness,
  { value, orchestrationId, ts }: { value: string; orchestrationId: string; ts: string },
  llmDelayMs: number,
  target: { model: any; method: string; hits: (bId: string, filter: any, update: any) => boolean },
): Promise<boolean> {
  const real = target.model[target.method].bind(target.model);
  let bId: string | null = null;
  let failed = false;
  const spy = vi.spyOn(target.model, target.method).mockImplementation(((filter: any, update: any, ...rest: any[]) => {
    if (!failed && bId && target.hits(bId, filter, update)) {
      failed = true;
      throw new Error('connection reset by the database');
    }
    return real(filter, update, ...rest);
  }) as never);
  try {
    h.llm.reset();
    h.llm.delayMs = llmDelayMs;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    const b = await eventually(() => Step.findOne({ orchestrationId, key: 'ticket_b' }).lean(), 5000, 'step b');
    bId = String(b._id);
    await h.waitForEnd(orchestrationId, 'completed');
  } finally {
    spy.mockRestore();
  }
  return failed;
}

const statusOf = async (id: string) => (await Orchestration.findById(id, { status: 1 }).lean())?.status;
const ticketRequest = (h: Harness, key: string) =>
  h.llm.requests.find((r) => r.user.includes(`# Your ticket: Ticket ${key.toUpperCase()}`))!;

describe('parallel DAG', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '8' });
  });
  afterAll(async () => h?.stop());

  it('runs 8 tickets level by level: each starts once its dependencies end, and independent ones overlap', async () => {
    const script = scriptedResponder(eightTickets());
    // Every call takes 200 ms. On top of that, the five independent tickets meet at a barrier
    // (released when all five are in flight, or after 3 s): run one after another, they would
    // each wait the 3 s and the overlap below would fail. F takes a second more, which G must
    // not wait for: it depends on C and D only.
    const firstWave = new Set<string>();
    let releaseWave!: () => void;
    const waveIn = new Promise<void>((resolve) => (releaseWave = resolve));
    h.llm.responder = async (req) => {
      const key = /# Your ticket: Ticket ([A-H])/.exec(req.user)?.[1]?.toLowerCase();
      if (key && 'abcde'.includes(key)) {
        firstWave.add(key);
        if (firstWave.size === 5) releaseWave();
        await Promise.race([waveIn, new Promise((r) => setTimeout(r, 3000))]);
      }
      if (key === 'f') await new Promise((r) => setTimeout(r, 1000));
      return script(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 200;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');

    const req = Object.fromEntries('abcdefgh'.split('').map((k) => [k, ticketRequest(h, k)]));
    const deps: Record<string, string[]> = { f: ['a', 'b'], g: ['c', 'd'], h: ['f', 'g'] };
    for (const [key, before] of Object.entries(deps)) {
      for (const d of before) expect(req[key]!.startedAt).toBeGreaterThanOrEqual(req[d]!.endedAt!);
    }
    // The five independent tickets all started before any of them ended: they ran together.
    const first = ['a', 'b', 'c', 'd', 'e'].map((k) => req[k]!);
    const firstEnd = Math.min(...first.map((r) => r.endedAt!));
    expect(first.every((r) => r.startedAt < firstEnd)).toBe(true);
    expect(h.llm.maxConcurrent).toBeGreaterThanOrEqual(5);
    // G started as soon as C and D were done, while F (same level, slower) was still running;
    // H waited for both. Three waves of ticket calls, as the critical path says.
    expect(req.g!.startedAt).toBeLessThan(req.f!.endedAt!);
    expect(req.g!.endedAt!).toBeLessThan(req.f!.endedAt!);
    // The synthesis had every ticket's result.
    const synthesis = h.llm.requests.find((r) => r.toolName === 'deliver_synthesis')!;
    for (const k of 'abcdefgh') expect(synthesis.user).toContain(`Result of Ticket ${k.toUpperCase()}`);

    // A hand-off is a claim, not a job: the step a settled step unblocks is run by the same job.
    // H became ready only when F (the slower) ended, so F's job ran H, then the synthesis, then
    // the closing step, none of which has a job of its own. (F and G may: one job goes on with
    // one step, and the first wave may end together.)
    const steps = await Step.find({ orchestrationId }).lean();
    const jobs = await h.service.database.connection
      .db!.collection('agendaJobs')
      .find({ name: 'orchestrate.step', 'data.orchestrationId': orchestrationId })
      .toArray();
    const stepOf = (title: string) => steps.find((s) => s.title === title)!;
    const chain = [stepOf('Ticket H'), ...steps.filter((s) => s.kind === 'synthesis' || s.kind === 'done')];
    expect(chain).toHaveLength(3);
    expect(chain.map((s) => s.claimedBy)).toEqual(chain.map(() => stepOf('Ticket F').claimedBy));
    const jobless = new Set(chain.map((s) => String(s._id)));
    expect(jobs.filter((j) => jobless.has(j.data.stepId))).toEqual([]);
    expect(jobs.length).toBeLessThanOrEqual(7);
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true);
  });

  it('steps settling together each go on with what they unblocked: no job is stored for a step another job runs', async () => {
    const t = (key: string, dependsOn: string[] = []) => ticket('Ticket', key, dependsOn);
    // Eight tickets answered together, four pairs joining them, one joining the four.
    const tickets = [
      ...Array.from({ length: 8 }, (_, i) => t(`a${i}`)),
      ...Array.from({ length: 4 }, (_, i) => t(`b${i}`, [`a${2 * i}`, `a${2 * i + 1}`])),
      t('c', ['b0', 'b1', 'b2', 'b3']),
    ];
    h.llm.responder = scriptedResponder(
      sampleProposal({ tickets, discussion: { enabled: false, prompt: '' }, budget: { maxUsd: 5 } }),
    );
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 100;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');

    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true);
    // The start job ran the eight itself (this process has room for all of them), with no job
    // stored for any; every later step was gone on with by the job of a dependency it waited for,
    // rather than enqueued (or raced for) by a job it had nothing to do with.
    expect(await stepJobsOf(h, orchestrationId)).toEqual([]);
    const startJob = await startJobOf(h, orchestrationId);
    const firstWave = steps.filter((s) => /^ticket_a/.test(s.key));
    expect(firstWave.map((s) => s.claimedBy)).toEqual(Array(8).fill(String(startJob!._id)));
    const byKey = new Map(steps.map((s) => [s.key, s]));
    for (const x of tickets.filter((x) => x.dependsOn.length)) {
      const ranBy = byKey.get(`ticket_${x.key}`)!.claimedBy;
      expect(x.dependsOn.map((d) => byKey.get(`ticket_${d}`)!.claimedBy)).toContain(ranBy);
    }
    // Every ticket ran once, each b after its pair, c after all four.
    for (const key of tickets.map((x) => x.key))
      expect(h.llm.requests.filter((r) => r.user.includes(`# Your ticket: Ticket ${key}\n`))).toHaveLength(1);
  });
  it('builds each prompt from what it draws on: research and positions everywhere, a ticket its own dependencies only', async () => {
    const script = scriptedResponder(
      sampleProposal({ research: { enabled: true, prompt: 'Find the market size', role: 'analyst' } }),
    );
    h.llm.responder = (req) =>
      req.user.includes('# Research brief') ? { text: 'The market is 4.2 billion' } : script(req);
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 0;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');

    const userOf = (marker: string) => h.llm.requests.find((r) => r.user.includes(marker))!.user;
    const research = userOf('# Research brief');
    expect(research).not.toContain('## Research findings');
    expect(research).not.toContain('Position of');
    const position = h.llm.requests.find((r) => r.toolName === 'state_position')!.user;
    expect(position).toContain('The market is 4.2 billion');
    const competitors = userOf('# Your ticket: Map the competitors');
    expect(competitors).toContain('The market is 4.2 billion');
    expect(competitors).toContain('Position of Market analyst');
    expect(competitors).not.toContain('## Results of the tickets this one depends on');
    const draft = userOf('# Your ticket: Draft the positioning');
    expect(draft).toContain('The market is 4.2 billion');
    expect(draft).toContain('Position of Positioning writer');
    expect(draft).toContain('Result of Map the competitors');
    expect(draft).toContain('Result of Compare pricing');
    const synthesis = h.llm.requests.find((r) => r.toolName === 'deliver_synthesis')!.user;
    expect(synthesis).toContain('The market is 4.2 billion');
    // Every ticket, in the plan's order.
    const order = ['Map the competitors', 'Compare pricing', 'Draft the positioning'].map((t) =>
      synthesis.indexOf(`Result of ${t}`),
    );
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
  });
});

describe('forks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '4', ORCHESTRATE_RETRY_BASE_MS: '200' });
  });
  afterAll(async () => h?.stop());

  it('runs the steps one result unblocked together in its own job, while the process has room', async () => {
    h.llm.responder = scriptedResponder(fanOut());
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 300;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');

    const steps = await Step.find({ orchestrationId }).lean();
    // The start job ran A, then everything after it: B, C and D alongside one another, then E, the
    // synthesis, the end; no step had a job of its own.
    expect(await stepJobsOf(h, orchestrationId)).toEqual([]);
    const startJob = String((await startJobOf(h, orchestrationId))!._id);
    expect(steps.every((s) => s.claimedBy === startJob && s.attempts === 1 && s.status === 'succeeded')).toBe(true);
    const middle = ['B', 'C', 'D'].map(
      (k) => h.llm.requests.find((r) => r.user.includes(`# Your ticket: Fan ${k.toLowerCase()}`))!,
    );
    const firstEnd = Math.min(...middle.map((r) => r.endedAt!));
    expect(middle.every((r) => r.startedAt < firstEnd)).toBe(true);
  });

  it('waits for its forks before it is retried, so that no forked step is called twice', async () => {
    h.llm.responder = scriptedResponder(fanOut());
    const { value, orchestrationId, ts } = await h.propose();
    // B (which A's job goes on with) answers at once, but storing its result fails once: the job
    // must be retried, while C and D, run alongside, are still waiting for their answers.
    const script = h.llm.responder;
    h.llm.responder = async (req) => {
      if (/# Your ticket: Fan [cd]\b/.test(req.user)) await new Promise((r) => setTimeout(r, 800));
      return script(req);
    };
    const failed = await approveFailingOnceOnB(h, { value, orchestrationId, ts }, 100, {
      model: Step,
      method: 'findOneAndUpdate',
      hits: (bId, filter, update) =>
        update?.$set?.status === 'succeeded' && update?.$set?.output !== undefined && String(filter?._id) === bId,
    });
    expect(failed).toBe(true);
    for (const key of ['c', 'd'])
      expect(
        h.llm.requests.filter((r) => r.user.includes(`# Your ticket: Fan ${key}\n`)),
        key,
      ).toHaveLength(1);
    const steps = await Step.find({ orchestrationId, key: { $in: ['ticket_c', 'ticket_d'] } }).lean();
    expect(steps.map((s) => s.attempts)).toEqual([1, 1]);
  });
});

describe('a chain retried', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '2', ORCHESTRATE_RETRY_BASE_MS: '200' });
  });
  afterAll(async () => h?.stop());

  it('announces a step its job went on with, when storing that announcement failed, once the job is retried', async () => {
    const t = (key: string, dependsOn: string[]) => ticket('Link', key, dependsOn);
    h.llm.responder = scriptedResponder(
      sampleProposal({
        tickets: [t('a', []), t('b', ['a']), t('c', ['b'])],
        discussion: { enabled: false, prompt: '' },
        budget: { maxUsd: 5 },
      }),
    );
    const { value, orchestrationId, ts } = await h.propose();
    // The database fails the first attempt to store B's result post: B was run by A's job, whose
    // retry must announce it, although B is not the job's own step.
    const failed = await approveFailingOnceOnB(h, { value, orchestrationId, ts }, 300, {
      model: SlackPost,
      method: 'updateOne',
      hits: (bId, filter, update) => String(filter?.key ?? '').includes(`:step:${bId}`) && update?.$setOnInsert,
    });
    expect(failed).toBe(true);
    const steps = await Step.find({ orchestrationId, kind: 'ticket' }).lean();
    const ranBy = (key: string) => steps.find((s) => s.key === key)!.claimedBy;
    expect(ranBy('ticket_b')).toBe(ranBy('ticket_a'));
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true);
    await eventually(
      () => h.slack.threadReplies(CHANNEL, ts).some((m) => m.text.startsWith('Cost rollup')),
      10_000,
      'the closing posts',
    );
    const texts = h.slack.threadReplies(CHANNEL, ts).map((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`);
    for (const key of ['a', 'b', 'c']) expect(texts.filter((x) => x.includes(`Result of Link ${key}`))).toHaveLength(1);
    const at = (needle: string) => texts.findIndex((x) => x.includes(needle));
    expect(at('Result of Link b')).toBeGreaterThan(at('Result of Link a'));
    expect(at('Result of Link c')).toBeGreaterThan(at('Result of Link b'));
  });

  /**
   * The sample plan without a discussion, approved with `fault` in place (removed after), until it
   * completes: the thread's replies as text.
   */
  async function completedUnder(fault: () => { mockRestore(): void }) {
    h.llm.responder = scriptedResponder(
      sampleProposal({ discussion: { enabled: false, prompt: '' }, budget: { maxUsd: 5 } }),
    );
    const { value, orchestrationId, ts } = await h.propose();
    const spy = fault();
    try {
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await h.waitForEnd(orchestrationId, 'completed');
    } finally {
      spy.mockRestore();
    }
    const texts = h.slack.threadReplies(CHANNEL, ts).map((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`);
    return { orchestrationId, texts };
  }

  it('makes the closing posts once, after the deliverable, when storing them failed as the run completed', async () => {
    // The run completes with the synthesis' result; storing its closing posts fails once, and the
    // job that ran the synthesis (holding the done step) is retried.
    const real = SlackPost.updateOne.bind(SlackPost);
    let failed = false;
    const { orchestrationId, texts } = await completedUnder(() =>
      vi.spyOn(SlackPost, 'updateOne').mockImplementation(((filter: any, update: any, ...rest: any[]) => {
        if (!failed && String(filter?.key ?? '').includes(':end:') && update?.$setOnInsert) {
          failed = true;
          throw new Error('connection reset by the database');
        }
        return real(filter, update, ...rest);
      }) as never),
    );
    expect(failed).toBe(true);
    const done = await Step.findOne({ orchestrationId, kind: 'done' }).lean();
    expect(done?.status).toBe('succeeded');
    expect(texts.filter((x) => x.includes(':tada: *Completed*'))).toHaveLength(1);
    expect(texts.filter((x) => x.startsWith('Cost rollup'))).toHaveLength(1);
    const at = (needle: string) => texts.findIndex((x) => x.includes(needle));
    expect(at('We win offline')).toBeGreaterThan(-1);
    expect(at(':tada: *Completed*')).toBeGreaterThan(at('We win offline'));
  });

  /** Replaces, once, what the run's move to synthesizing runs: `replace` is given the move's own. */
  function atTheMoveToSynthesizing(replace: (exec: () => Promise<unknown>) => () => Promise<unknown>) {
    const real = Orchestration.findOneAndUpdate.bind(Orchestration);
    const move = {
      hit: false,
      fault: () =>
        vi.spyOn(Orchestration, 'findOneAndUpdate').mockImplementation(((filter: any, update: any, ...rest: any[]) => {
          const query = real(filter, update, ...rest);
          if (move.hit || update?.$set?.status !== 'synthesizing') return query;
          move.hit = true;
          query.exec = replace(query.exec.bind(query)) as never;
          return query;
        }) as never),
    };
    return move;
  }

  it('completes a run whose move to synthesizing lands after its synthesis has answered, in order', async () => {
    // The move is made alongside the synthesis' call: here it lands well after the (instant) answer.
    const move = atTheMoveToSynthesizing((exec) => () => new Promise((resolve) => setTimeout(resolve, 300)).then(exec));
    const { orchestrationId, texts } = await completedUnder(move.fault);
    expect(move.hit).toBe(true);
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.transitions.map((t) => t.to).slice(-3)).toEqual(['executing', 'synthesizing', 'completed']);
    expect(doc.deliverable?.markdown).toContain('We win offline');
    expect(texts.filter((x) => x.includes(':tada: *Completed*'))).toHaveLength(1);
  });

  it('closes the live draft of a synthesis whose run could not move to synthesizing, and completes on the retry', async () => {
    // The move fails once, after the answer and its draft have begun; the job is retried.
    const move = atTheMoveToSynthesizing(
      () => () =>
        new Promise((_, reject) => setTimeout(() => reject(new Error('connection reset by the database')), 300)),
    );
    const { orchestrationId, texts } = await completedUnder(move.fault);
    expect(move.hit).toBe(true);
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.status).toBe('completed');
    expect(texts.filter((x) => x.includes(':tada: *Completed*'))).toHaveLength(1);
    // Every draft the thread saw ends as a note, none as text left half-written.
    const starts = h.slack
      .callsTo('chat.startStream')
      .filter((c) => c.args.thread_ts === doc.messageTs && c.response?.ok);
    expect(starts.length).toBeGreaterThan(1);
    for (const start of starts) {
      const draft = h.slack.message(CHANNEL, String(start.response!.ts));
      expect(`${draft?.text}`).toMatch(/written here live|was cut off/);
    }
  });

  it('starts a step whose other dependency stored first once its last one is stored, even after that store failed once', async () => {
    const t = (key: string, dependsOn: string[]) => ticket('Join', key, dependsOn);
    const script = scriptedResponder(
      sampleProposal({
        tickets: [t('a', []), t('b', []), t('c', ['a', 'b'])],
        discussion: { enabled: false, prompt: '' },
        budget: { maxUsd: 5 },
      }),
    );
    // A is stored while B still runs here (so A leaves reading what is ready to B); B's store then fails once.
    h.llm.responder = async (req) => {
      if (req.user.includes('# Your ticket: Join b')) await new Promise((r) => setTimeout(r, 300));
      return script(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    const failed = await approveFailingOnceOnB(h, { value, orchestrationId, ts }, 100, {
      model: Step,
      method: 'findOneAndUpdate',
      hits: (bId, filter, update) => String(filter?._id) === bId && update?.$set?.status === 'succeeded',
    });
    expect(failed).toBe(true);
    const request = (key: string) => h.llm.requests.filter((r) => r.user.includes(`# Your ticket: Join ${key}`));
    expect(request('c')).toHaveLength(1);
    expect(request('c')[0]!.startedAt).toBeGreaterThanOrEqual(Math.max(...request('b').map((r) => r.endedAt!)));
    const steps = await Step.find({ orchestrationId, kind: 'ticket' }).lean();
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('books what the steps cost once, and whole, when booking it fails once after a step', async () => {
    const t = (key: string, dependsOn: string[]) => ticket('Link', key, dependsOn);
    const script = scriptedResponder(
      sampleProposal({
        tickets: [t('a', []), t('b', ['a']), t('c', ['b'])],
        discussion: { enabled: false, prompt: '' },
        budget: { maxUsd: 5 },
      }),
    );
    let bCalled = false;
    h.llm.responder = (req) => {
      if (req.user.includes('# Your ticket: Link b\n')) bCalled = true;
      return script(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    const planning = (await Orchestration.findById(orchestrationId, { budget: 1 }).lean())!.budget.spentUsd;
    // The write that books the lease's settled calls as spent, after B's call: it fails once.
    const failed = await approveFailingOnceOnB(h, { value, orchestrationId, ts }, 100, {
      model: Orchestration,
      method: 'updateOne',
      hits: (_bId, filter, update) =>
        bCalled &&
        update?.$inc?.['budget.spentUsd'] > 0 &&
        Object.keys(filter ?? {}).some((k) => k.startsWith('budget.leases.')),
    });
    expect(failed).toBe(true);
    expect(h.llm.requests.filter((r) => r.user.includes('# Your ticket: Link b\n'))).toHaveLength(1);
    const steps = await Step.find({ orchestrationId, kind: { $in: ['ticket', 'synthesis'] } }).lean();
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1 && s.costUsd > 0)).toBe(true);
    // Booked at the next try: the spend is planning plus every step, to the cent; nothing stays reserved.
    const { budget } = (await Orchestration.findById(orchestrationId, { budget: 1 }).lean())!;
    const stepsUsd = steps.reduce((sum, s) => sum + s.costUsd, 0);
    expect(budget.spentUsd).toBeCloseTo(planning + stepsUsd, 9);
    expect(budget.reservedUsd).toBeCloseTo(0, 9);
    expect(budget.leases ?? {}).toEqual({});
    expect(budget.holds).toEqual([]);
  });
});

describe('limits and failures', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '2' });
  });
  afterAll(async () => h?.stop());
  beforeEach(() => {
    h.llm.responder = scriptedResponder();
    h.llm.delayMs = 0;
  });

  it('never runs more steps at once than ORCHESTRATE_MAX_PARALLEL', async () => {
    h.llm.responder = scriptedResponder(eightTickets());
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 100;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    expect(h.llm.maxConcurrent).toBe(2);
  });

  it('leaves a step it has no room for to a job of its own, never passing ORCHESTRATE_MAX_PARALLEL', async () => {
    h.llm.responder = scriptedResponder(fanOut());
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 200;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    expect(h.llm.maxConcurrent).toBe(2);
    // The start job ran A, went on with one of B, C and D and ran one more alongside; the third
    // waited for a job of its own.
    const jobs = await stepJobsOf(h, orchestrationId);
    const steps = await Step.find({ orchestrationId }).lean();
    const keyOf = new Map(steps.map((s) => [String(s._id), s.key]));
    expect(jobs).toHaveLength(1);
    expect(['ticket_b', 'ticket_c', 'ticket_d']).toContain(keyOf.get(jobs[0]!.data.stepId));
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true);
  });

  it('starts a run approved while every slot is busy with a job for each ready step', async () => {
    h.llm.responder = scriptedResponder(eightTickets());
    const busy = await h.propose('A run that keeps both slots busy');
    const later = await h.propose('A run approved meanwhile');
    h.llm.reset();
    h.llm.delayMs = 300;
    await h.click('orchestrate.approve', busy.value, REQUESTER, busy.ts);
    // Both slots taken, and steps of the first run waiting for one.
    await eventually(() => h.llm.requests.filter((r) => r.endedAt === null).length === 2, 5000, 'two calls in flight');
    await h.click('orchestrate.approve', later.value, REQUESTER, later.ts);
    await h.waitForEnd(busy.orchestrationId, 'completed');
    await h.waitForEnd(later.orchestrationId, 'completed');
    expect(h.llm.maxConcurrent).toBe(2);
    // Its start job had no slot to run a step in: each of the five ready steps got a job of its own.
    const steps = await Step.find({ orchestrationId: later.orchestrationId }).lean();
    const firstWave = steps.filter((s) => ['a', 'b', 'c', 'd', 'e'].some((k) => s.key === `ticket_${k}`));
    const jobs = await stepJobsOf(h, later.orchestrationId);
    expect(jobs.map((j) => j.data.stepId)).toEqual(expect.arrayContaining(firstWave.map((s) => String(s._id))));
    const startJob = String((await startJobOf(h, later.orchestrationId))!._id);
    expect(steps.some((s) => s.claimedBy === startJob)).toBe(false);
    expect(steps.every((s) => s.status === 'succeeded' && s.attempts === 1)).toBe(true);
  });

  it('runs a step once even when a second job for it appears while it runs', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    h.llm.reset();
    h.llm.delayMs = 600;
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    const running = await eventually(
      () => Step.findOne({ orchestrationId, kind: 'discuss', status: 'running' }).lean(),
      10_000,
      'a running position',
    );
    // What two instances racing to enqueue could leave on a database that does not enforce the unique index.
    await h.service.engine.agenda.create('orchestrate.step', { orchestrationId, stepId: String(running._id) }).save();
    await h.waitForEnd(orchestrationId, 'completed');
    expect((await Step.findById(running._id).lean())!.attempts).toBe(1);
    const role = running.title.replace(/^Position: /, '');
    expect(
      h.llm.requests.filter((r) => r.toolName === 'state_position' && r.user.includes(`As ${role}, call`)),
    ).toHaveLength(1);
  });

  it('gives a position that breaks its schema one repair attempt', async () => {
    const good = scriptedResponder();
    let first = true;
    h.llm.responder = (req) => {
      if (req.toolName === 'state_position' && first) {
        first = false;
        return { tool: 'state_position', args: { position: '', risks: 'none' } };
      }
      return good(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    const repair = h.llm.requests.find(
      (r) => r.toolName === 'state_position' && r.user.includes('Your previous answer was rejected'),
    );
    expect(repair?.user).toMatch(/risks/);
  });

  it('fails the orchestration in words when research fails hard', async () => {
    const good = scriptedResponder(
      sampleProposal({ research: { enabled: true, prompt: 'Find the market size', role: 'analyst' } }),
    );
    h.llm.responder = (req) =>
      req.user.includes('# Research brief')
        ? { status: 401, error: { message: 'invalid api key', type: 'auth' } }
        : good(req);
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'failed');
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.statusReason).toMatch(
      /The research step "Research" failed: the LLM provider refused the request \(401\)/,
    );
    expect(doc.transitions.at(-1)).toMatchObject({ from: 'executing', to: 'failed' });
    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.filter((s) => s.kind === 'ticket').every((s) => s.status === 'skipped')).toBe(true);
    expect(
      h.llm.requests.some((r) => r.user.includes('# Your ticket:') && r.startedAt > doc.finishedAt!.getTime()),
    ).toBe(false);
  });

  it('answers a cancel on a finished run that it has already finished', async () => {
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    await h.click('orchestrate.cancel', value, REQUESTER, ts);
    await eventually(
      () => h.slack.calls.some((c) => c.method === 'response_url' && String(c.args.text).includes('already finished')),
      5000,
      'answer',
    );
    expect(await statusOf(orchestrationId)).toBe('completed');
  });

  it('scaffolds idempotently: applying an approval twice creates no duplicates', async () => {
    const { orchestrationId, value, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    const count = async () => ({
      agents: await Agent.countDocuments({ 'hiredFor.orchestrationId': orchestrationId }),
      teams: await Team.countDocuments({ orchestrationId }),
      projects: await Project.countDocuments({ orchestrationId }),
      tickets: await TicketModel.countDocuments({ orchestrationId }),
      runs: await Run.countDocuments({ orchestrationId }),
      steps: await Step.countDocuments({ orchestrationId }),
    });
    const before = await count();
    expect(before).toEqual({ agents: 2, teams: 1, projects: 1, tickets: 3, runs: 1, steps: 7 });
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    await scaffold(doc);
    await scaffold(doc);
    expect(await count()).toEqual(before);
    // A crash that cut the last round of writes short: the team, the project's tickets and some of
    // the steps were never made. A retry makes them, and everything refers to what exists.
    await Team.deleteMany({ orchestrationId });
    await TicketModel.deleteMany({ orchestrationId });
    await Step.deleteMany({ orchestrationId, kind: { $ne: 'ticket' } });
    await withTenant(tenantOf(doc), () => scaffold(doc));
    expect(await count()).toEqual(before);
    const [team, project, run] = await Promise.all([
      Team.findOne({ orchestrationId }).lean(),
      Project.findOne({ orchestrationId }).lean(),
      Run.findOne({ orchestrationId }).lean(),
    ]);
    expect([String(project!.teamId), String(run!.teamId)]).toEqual([String(team!._id), String(team!._id)]);
    expect(String(run!.projectId)).toBe(String(project!._id));
    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.every((s) => String(s.runId) === String(run!._id))).toBe(true);
    // Cut short before the hires were recorded, the team and tickets made: the retry hires them
    // with the ids the team, the tickets and the steps already name.
    await Agent.deleteMany({ 'hiredFor.orchestrationId': orchestrationId });
    await withTenant(tenantOf(doc), () => scaffold(doc));
    expect(await count()).toEqual(before);
    const hires = new Set(
      (await Agent.find({ 'hiredFor.orchestrationId': orchestrationId }).lean()).map((a) => String(a._id)),
    );
    const named = [
      ...(await Team.findOne({ orchestrationId }).lean())!.members.map((m) => String(m.agentId)),
      ...(await TicketModel.find({ orchestrationId }).lean()).map((t) => String(t.agentId)),
    ];
    expect(named.filter((agentId) => hires.has(agentId))).toHaveLength(2 + 3);
    // Hires are in the roster for later proposals.
    const later = await h.propose();
    const ask = h.llm.requests.filter((r) => r.toolName === 'propose_plan').at(-1)!;
    expect(ask.user).toMatch(/- Ada: Market analyst/);
    expect(later.orchestrationId).not.toBe(orchestrationId);
    expect(encodeControlValue({ orchestrationId: orchestrationId as OrchestrationId, revision: 1 })).toBe(value);
  });
});
