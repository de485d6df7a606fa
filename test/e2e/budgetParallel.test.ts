/**
 * The hard budget with steps in parallel. Reservations are worst cases, far above what calls
 * usually cost: a step that finds no room because of other calls in flight waits for them to
 * settle, and the run stops only when a call could not fit even with nothing in flight. Then
 * the calls still in flight are cut off.
 *
 * Prices: output $1 a token (10 at most, so $10), input $0.003 a token, so a prompt's size moves
 * its worst case by a few dollars.
 */
import { Types } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { sampleProposal } from '../fixtures.js';
import {
  blocksText,
  eventually,
  type Harness,
  meteredEnv,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness(meteredEnv({ inputPerMTok: 3000, defaultBudgetUsd: 40 }));
});
afterAll(async () => h?.stop());
beforeEach(() => {
  h.llm.delayMs = 0;
});

const doc = async (id: string) => (await Orchestration.findById(id).lean())!;
const threadOf = (ts: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
/** Bills 40 input tokens and `output` output tokens per call, and makes calls whose ticket title is in `slow` take 1.5 s. */
const billed =
  (inner: (req: RecordedRequest) => FakeReply, output: (req: RecordedRequest) => number, slow: string[] = []) =>
  async (req: RecordedRequest): Promise<FakeReply> => {
    if (slow.some((title) => req.user.includes(`# Your ticket: ${title}`)))
      await new Promise((r) => setTimeout(r, 1500));
    const reply = inner(req);
    return 'status' in reply ? reply : { ...reply, usage: { input: 40, output: output(req) } };
  };
const ticket = (key: string, title: string, dependsOn: string[] = [], description = `Do ${key}`) => ({
  key,
  title,
  role: 'analyst',
  description,
  dependsOn,
});

describe('hard budget with parallel steps', () => {
  it('waits for parallel reservations to settle rather than stopping early: every step runs within the cap', async () => {
    // Three tickets at once: two worst cases fit beside planning, the third only once one settles.
    const plan = sampleProposal({
      tickets: [ticket('x', 'Parallel X'), ticket('y', 'Parallel Y'), ticket('z', 'Parallel Z')],
      discussion: { enabled: false, prompt: '' },
      budget: { maxUsd: 40 },
    });
    // Tickets bill 4 of their 10 possible output tokens; planning and synthesis bill all 10.
    h.llm.responder = billed(scriptedResponder(plan), (req) => (req.user.includes('# Your ticket:') ? 4 : 10), [
      'Parallel X',
      'Parallel Y',
    ]);
    const { value, orchestrationId: o, ts } = await h.propose();
    h.llm.reset();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(o, 'completed', 30_000);

    const after = await doc(o);
    expect(after.budget.spentUsd).toBeLessThanOrEqual(after.budget.maxUsd);
    const steps = await Step.find({ orchestrationId: o, kind: 'ticket' }).sort({ order: 1 }).lean();
    expect(steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // The three are enqueued together, in no set order: whichever asked last asked only once one
    // of the other two had settled. It waited for room instead of failing the run.
    const [first, second, last] = ['X', 'Y', 'Z']
      .map((t) => h.llm.requests.find((r) => r.user.includes(`# Your ticket: Parallel ${t}`))!)
      .sort((a, b) => a.startedAt - b.startedAt);
    expect(last!.startedAt).toBeGreaterThanOrEqual(Math.min(first!.endedAt!, second!.endedAt!));
    expect(threadOf(ts).some((c) => blocksText(c).includes('We win offline'))).toBe(true);
  });

  it('never waits for room that a dead process holds: its hold is booked as spent, and the run stops, resumably, if it must', async () => {
    const plan = sampleProposal({
      tickets: [ticket('x', 'Lone X')],
      discussion: { enabled: false, prompt: '' },
      budget: { maxUsd: 40 },
    });
    h.llm.responder = billed(scriptedResponder(plan), () => 10);
    const { value, orchestrationId: o, ts } = await h.propose();
    // What a step of a process killed mid-call leaves: a hold whose step is not running under a live lease.
    const left = {
      id: 'left-by-a-dead-process',
      holder: `step:${new Types.ObjectId().toHexString()}`,
      usd: 20,
      at: new Date(),
    };
    await Orchestration.updateOne({ _id: o }, { $push: { 'budget.holds': left }, $inc: { 'budget.reservedUsd': 20 } });
    h.llm.reset();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    const after = await h.waitForEnd(o, 'failed', 30_000);
    expect(after.budget.holds).toEqual([]);
    expect(after.budget.reservedUsd).toBeCloseTo(0, 9);
    expect(after.budgetStop).toBe(true);
    expect(after.budget.spentUsd).toBeLessThanOrEqual(after.budget.maxUsd);
    expect(h.llm.requests.some((r) => r.user.includes('# Your ticket: Lone X'))).toBe(false);
  });

  it('stops when a call could never fit, cutting off the calls in flight and keeping their worst case as spent', async () => {
    // Q is quick, X slow; B waits for Q, and its long brief makes its worst case too big for what is left.
    const plan = sampleProposal({
      tickets: [
        ticket('q', 'Quick Q'),
        ticket('x', 'Slow X'),
        ticket('b', 'Big B', ['q'], 'Write it all down. '.repeat(200).slice(0, 4000)),
      ],
      discussion: { enabled: false, prompt: '' },
      budget: { maxUsd: 38 },
    });
    h.llm.responder = billed(scriptedResponder(plan), () => 10, ['Slow X']);
    const { value, orchestrationId: o, ts } = await h.propose();
    h.llm.reset();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(o, 'failed', 30_000);
    await eventually(() => h.llm.requests.every((r) => r.endedAt !== null), 5000, 'calls to end');
    await eventually(async () => (await doc(o)).budget.reservedUsd < 1e-9, 5000, 'settled');

    const after = await doc(o);
    expect(after.budgetStop).toBe(true);
    expect(after.statusReason).toMatch(/^Budget exceeded: /);
    expect(after.budget.spentUsd).toBeLessThanOrEqual(after.budget.maxUsd);
    // B's call was never made; X, in flight, was cut off.
    expect(h.llm.requests.some((r) => r.user.includes('# Your ticket: Big B'))).toBe(false);
    expect(h.llm.requests.find((r) => r.user.includes('# Your ticket: Slow X'))!.aborted).toBe(true);
    const steps = Object.fromEntries((await Step.find({ orchestrationId: o }).lean()).map((s) => [s.key, s]));
    expect(steps.ticket_q).toMatchObject({ status: 'succeeded' });
    expect(steps.ticket_x).toMatchObject({ status: 'skipped', skipReason: 'budget', model: 'metered-model' });
    expect(steps.ticket_b).toMatchObject({ status: 'skipped', skipReason: 'budget', costUsd: 0 });
    expect(steps.ticket_x!.costUsd).toBeGreaterThan(10); // its worst case, input included

    // The rollup's per-step, per-role and per-model figures add up to the spend.
    await eventually(() => threadOf(ts).some((c) => blocksText(c).includes('Cost rollup')), 5000, 'rollup');
    const table = JSON.parse(blocksText(threadOf(ts).find((c) => blocksText(c).includes('Cost rollup'))!))
      .map((b: any) => b.text?.text ?? '')
      .join('\n');
    const usd = (n: number) => `$${n.toFixed(2)}`;
    const planning = after.budget.spentUsd - steps.ticket_q!.costUsd - steps.ticket_x!.costUsd;
    expect(table).toContain(`Cost rollup*: ${usd(after.budget.spentUsd)} in all`);
    expect(table).toMatch(new RegExp(`Planning \\(CEO agent\\)\\s.*\\${usd(planning)}`));
    expect(table).toMatch(
      new RegExp(
        `Per role\\n\\s+Market analyst\\s+\\${usd(steps.ticket_q!.costUsd + steps.ticket_x!.costUsd)}\\s+2 steps`,
      ),
    );
    expect(table).toMatch(new RegExp(`Per model\\n\\s+metered-model\\s+\\${usd(after.budget.spentUsd)}\\s+3 steps`));
  });
});
