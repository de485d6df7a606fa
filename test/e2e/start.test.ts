/**
 * The start of a run (startJob.ts): the first attempt makes the scaffolding without looking for an
 * earlier one and claims the first wave as it makes it. What people do in the moment it takes (a
 * Cancel, a Pause) still holds, and a retry after a setup cut off part-way makes what is missing,
 * once.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../src/models/agent.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Project } from '../../src/models/project.js';
import { Run, Step } from '../../src/models/run.js';
import { Team } from '../../src/models/team.js';
import { TicketModel } from '../../src/models/ticket.js';
import { sampleProposal, TEAM_ID } from '../fixtures.js';
import { eventually, type Harness, REQUESTER, scriptedResponder, startHarness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ ORCHESTRATE_MAX_PARALLEL: '8' });
});
afterAll(() => h.stop());

/**
 * Runs `meanwhile` once, just before the run's steps are written (after the rest of the setup was
 * read or made); should it throw, that write is lost.
 */
function beforeStepsAreWritten(meanwhile: () => Promise<unknown>) {
  const real = Step.insertMany.bind(Step);
  let done = false;
  return vi.spyOn(Step, 'insertMany').mockImplementation((async (...args: Parameters<typeof real>) => {
    if (!done) {
      done = true;
      await meanwhile();
    }
    return real(...args);
  }) as never);
}

const ticketCalls = (harness: Harness) => harness.llm.requests.filter((r) => r.user.includes('# Your ticket:'));
const control = (orchestrationId: string) => JSON.stringify({ orchestrationId, revision: 1 });

describe('the start of a run', () => {
  it('calls every agent once, the first wave claimed as it was made', async () => {
    h.llm.reset();
    const { value, orchestrationId, ts } = await h.propose('A goal started at once');
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    const steps = await Step.find({ orchestrationId }).lean();
    const tickets = steps.filter((s) => s.kind === 'ticket');
    expect(tickets.length).toBeGreaterThan(0);
    // One claim each: a second claim of a first-wave step would count two attempts.
    expect(steps.filter((s) => s.kind !== 'people').map((s) => [s.key, s.status, s.attempts])).toEqual(
      steps.filter((s) => s.kind !== 'people').map((s) => [s.key, 'succeeded', 1]),
    );
    expect(ticketCalls(h)).toHaveLength(tickets.length);
    expect((await Orchestration.findById(orchestrationId).lean())!.startAttempts).toBe(1);
  });

  it('a Cancel clicked while the run is set up: no agent is called, and every step shows skipped', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal cancelled as it starts');
    h.llm.reset();
    const spy = beforeStepsAreWritten(async () => {
      await h.click('orchestrate.cancel', value, REQUESTER, ts);
      await h.waitForEnd(orchestrationId, 'cancelled');
    });
    try {
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await h.waitForEnd(orchestrationId, 'cancelled');
      await eventually(
        async () => (await Step.countDocuments({ orchestrationId })) > 0,
        5000,
        'the steps written after the cancel',
      );
      await eventually(
        async () => (await Step.find({ orchestrationId }).lean()).every((s) => s.status === 'skipped'),
        5000,
        'every step skipped',
      );
    } finally {
      spy.mockRestore();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(h.llm.requests).toHaveLength(0);
    expect((await Step.find({ orchestrationId }).lean()).map((s) => s.skipReason)).toEqual(
      expect.arrayContaining(['cancelled']),
    );
  });

  it('a Pause clicked while the run is set up: nothing starts until Resume, then each agent is called once', async () => {
    const { value, orchestrationId, ts } = await h.propose('A goal paused as it starts');
    h.llm.reset();
    const spy = beforeStepsAreWritten(async () => {
      await h.click('run.pause', control(orchestrationId), REQUESTER, ts);
      await eventually(
        async () => Boolean((await Orchestration.findById(orchestrationId, { paused: 1 }).lean())?.paused),
        5000,
        'the pause stored',
      );
    });
    try {
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await eventually(
        async () => (await Orchestration.findById(orchestrationId, { status: 1 }).lean())?.status === 'executing',
        5000,
        'the run set up',
      );
    } finally {
      spy.mockRestore();
    }
    await new Promise((r) => setTimeout(r, 700));
    // Not even the first wave (the positions of the discussion round) was called.
    expect(h.llm.requests).toHaveLength(0);
    const waiting = await Step.find({ orchestrationId, kind: { $ne: 'done' } }).lean();
    expect(waiting.map((s) => [s.key, s.status, s.claimedBy])).toEqual(waiting.map((s) => [s.key, 'pending', null]));
    await h.click('run.resume', control(orchestrationId), REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    // Each called once, on one claim.
    expect(h.llm.requests).toHaveLength(waiting.length);
    const steps = await Step.find({ orchestrationId, kind: { $ne: 'done' } }).lean();
    expect(steps.map((s) => s.attempts)).toEqual(steps.map(() => 1));
  });

  it('a setup cut off part-way is finished by the retry: nothing made twice, every agent called once', async () => {
    h.llm.reset();
    const { value, orchestrationId, ts } = await h.propose('A goal whose setup is cut off');
    // The steps' write is lost, as a dropped connection would lose it: the job fails and is retried.
    let cut = false;
    const spy = beforeStepsAreWritten(async () => {
      cut = true;
      throw new Error('connection reset by the database');
    });
    try {
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await h.waitForEnd(orchestrationId, 'completed', 30_000);
    } finally {
      spy.mockRestore();
    }
    expect(cut).toBe(true);
    const doc = (await Orchestration.findById(orchestrationId).lean())!;
    expect(doc.startAttempts).toBe(2);
    const hires = doc.proposal!.roles.filter((r) => r.hire).length;
    const counts = await Promise.all([
      Agent.countDocuments({ 'hiredFor.orchestrationId': orchestrationId }),
      Team.countDocuments({ orchestrationId }),
      Project.countDocuments({ orchestrationId }),
      Run.countDocuments({ orchestrationId }),
      TicketModel.countDocuments({ orchestrationId }),
    ]);
    expect(counts).toEqual([hires, 1, 1, 1, doc.proposal!.tickets.length]);
    const steps = await Step.find({ orchestrationId }).lean();
    expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
    expect(ticketCalls(h)).toHaveLength(doc.proposal!.tickets.length);
  });

  it('speaks to the first wave as the agents were recorded, a roster agent under its own title, without reading them back', async () => {
    await Agent.create({
      slackTeamId: TEAM_ID,
      name: 'Grace',
      title: 'Principal researcher',
      persona: 'Grace has mapped markets for twenty years.',
      skills: ['research'],
      origin: 'roster',
    });
    const base = sampleProposal();
    // No research or discussion: the tickets that depend on nothing are the first wave.
    const proposal = sampleProposal({
      roles: base.roles.map((r) => (r.key === 'analyst' ? { ...r, existingAgent: 'Grace', hire: null } : r)),
      research: { enabled: false, prompt: '', role: null },
      discussion: { enabled: false, prompt: '' },
    });
    h.llm.responder = scriptedResponder(proposal);
    const firstWave = proposal.tickets.filter((t) => t.dependsOn.length === 0);
    // Each read of an agent, with how many requests had reached the LLM by then.
    const readsAt: number[] = [];
    const findById = Agent.findById.bind(Agent);
    const spy = vi.spyOn(Agent, 'findById').mockImplementation(((...args: Parameters<typeof findById>) => {
      readsAt.push(h.llm.requests.length);
      return findById(...args);
    }) as never);
    try {
      const { value, orchestrationId, ts } = await h.propose('A goal for a known analyst');
      h.llm.reset();
      await h.click('orchestrate.approve', value, REQUESTER, ts);
      await h.waitForEnd(orchestrationId, 'completed');
    } finally {
      spy.mockRestore();
      h.llm.responder = scriptedResponder();
    }
    const system = (key: string) => {
      const title = proposal.tickets.find((t) => t.key === key)!.title;
      return h.llm.requests.find((r) => r.user.includes(`# Your ticket: ${title}`))!.system;
    };
    expect(firstWave.length).toBeGreaterThan(0);
    for (const ticket of firstWave) {
      expect(ticket.role).toBe('analyst');
      expect(system(ticket.key)).toContain(
        'You are Grace, Principal researcher. Grace has mapped markets for twenty years.',
      );
    }
    expect(readsAt.every((n) => n >= firstWave.length)).toBe(true);
  });
});
