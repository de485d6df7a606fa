/**
 * The hard budget over real parts. Prices are configured so that every call's worst case is
 * exactly $10 (input is free, 10 output tokens at $1 each) and the fake LLM bills all 10.
 */
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeControlValue, InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { reserve, settle } from '../../src/engine/money/budget.js';
import { type OrchestrationId, orchestrationIdOf } from '../../src/engine/plan/ids.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { sampleProposal, TEAM_ID } from '../fixtures.js';
import {
  blocksText,
  eventually,
  findButton,
  type Harness,
  meteredEnv,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

const chain = () =>
  sampleProposal({
    tickets: [
      { key: 'a', title: 'Ticket A', role: 'analyst', description: 'First', dependsOn: [] },
      { key: 'b', title: 'Ticket B', role: 'analyst', description: 'Second', dependsOn: ['a'] },
      { key: 'c', title: 'Ticket C', role: 'writer', description: 'Third', dependsOn: ['b'] },
    ],
    discussion: { enabled: false, prompt: '' },
    // Planning costs $10, and the cap leaves room for two and a half steps of $10.
    budget: { maxUsd: 35 },
  });

/** Bills every call its full 10 output tokens. */
const billed =
  (inner: (req: RecordedRequest) => FakeReply) =>
  (req: RecordedRequest): FakeReply => {
    const reply = inner(req);
    return 'status' in reply ? reply : { ...reply, usage: { input: 40, output: 10 } };
  };

let h: Harness;
beforeAll(async () => {
  h = await startHarness(meteredEnv({ inputPerMTok: 0, defaultBudgetUsd: 20 }));
  h.llm.responder = billed(scriptedResponder(chain()));
});
afterAll(async () => h?.stop());

const doc = async (id: string) => (await Orchestration.findById(id).lean())!;
const threadOf = (ts: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);

describe('hard budget', () => {
  it('stops at the cap: spend never passes it, the rest is skipped, and the reason is plain', async () => {
    const { value, orchestrationId: o, ts } = await h.propose();
    expect((await doc(o)).budget).toMatchObject({ spentUsd: 10, maxUsd: 35 });
    h.llm.reset();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(o, 'failed');

    const after = await doc(o);
    expect(after.budgetStop).toBe(true);
    expect(after.budget.spentUsd).toBe(30); // planning + A + B
    expect(after.budget.spentUsd).toBeLessThanOrEqual(after.budget.maxUsd);
    expect(after.budget.reservedUsd).toBeCloseTo(0, 9);
    expect(after.statusReason).toMatch(
      /^Budget exceeded: \$30\.00 spent of the \$35\.00 cap, and the next call could cost up to \$10\.00/,
    );
    const steps = Object.fromEntries((await Step.find({ orchestrationId: o }).lean()).map((s) => [s.key, s]));
    expect(steps.ticket_a).toMatchObject({ status: 'succeeded', costUsd: 10 });
    expect(steps.ticket_b).toMatchObject({ status: 'succeeded', costUsd: 10 });
    expect(steps.ticket_c).toMatchObject({ status: 'skipped', skipReason: 'budget' });
    expect(steps.synthesis).toMatchObject({ status: 'skipped', skipReason: 'budget' });
    // The refused call was never made.
    expect(h.llm.requests.filter((r) => r.user.includes('# Your ticket: Ticket C'))).toEqual([]);

    await eventually(() => threadOf(ts).some((c) => blocksText(c).includes('Cost rollup')), 5000, 'closing posts');
    const thread = threadOf(ts).map((c) => blocksText(c));
    expect(thread.filter((t) => t.includes('of the budget is spent'))).toHaveLength(1); // 80% warning, once
    const ended = threadOf(ts).find((c) => blocksText(c).includes(':x: *Failed*'))!;
    expect(blocksText(ended)).toContain('Budget exceeded');
    expect(findButton(ended, 'run.raise_cap')).toBeDefined();
    expect(
      findButton(
        h.slack
          .callsTo('chat.update')
          .filter((c) => c.args.ts === ts)
          .at(-1)!,
        'run.raise_cap',
      ),
    ).toBeDefined();
    // The rollup adds up to the spend.
    expect(thread.find((t) => t.includes('Cost rollup'))).toContain('Cost rollup*: $30.00 in all');
  });

  it('"Raise cap and continue" finishes the same run without re-running completed steps', async () => {
    const { value, orchestrationId: o, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(o, 'failed');
    h.llm.reset();

    const raise = encodeControlValue({ orchestrationId: o as OrchestrationId, revision: 1 });
    await h.click('run.raise_cap', raise, 'U_STRANGER', ts);
    await eventually(
      () =>
        h.slack.calls.some(
          (c) =>
            c.method === 'response_url' &&
            String(c.args._responseId).includes('U_STRANGER') &&
            String(c.args.text).includes('Only <@'),
        ),
      5000,
      'refusal',
    );
    await h.click('run.raise_cap', raise, REQUESTER, ts);
    await h.slack.waitFor((c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.raiseCap);
    const submit = (v: string) =>
      h.submit(ViewIds.raiseCap, raise, { [InputIds.budget.block]: { [InputIds.budget.action]: { value: v } } });
    expect((await submit('20')).json.errors[InputIds.budget.block]).toMatch(/above the current one/);
    expect((await submit('500')).json.errors[InputIds.budget.block]).toMatch(/at most \$100\.00/);
    expect((await submit('60')).text).toBe('');

    await h.waitForEnd(o, 'completed');
    const after = await doc(o);
    expect(after.budget).toMatchObject({ maxUsd: 60, spentUsd: 50 });
    expect(after.transitions.map((t) => t.to)).toEqual([
      'proposed',
      'approved',
      'executing',
      'failed',
      'executing',
      'synthesizing',
      'completed',
    ]);
    // Only C and the synthesis ran after the raise; A and B were reused.
    expect(h.llm.requests.map((r) => r.toolName ?? /# Your ticket: (.+)/.exec(r.user)?.[1])).toEqual([
      'Ticket C',
      'deliver_synthesis',
    ]);
    const synthesis = h.llm.requests[1]!;
    expect(synthesis.user).toContain('Result of Ticket A');
    expect(synthesis.user).toContain('Result of Ticket B');
    await eventually(() => threadOf(ts).some((c) => blocksText(c).includes('We win offline')), 5000, 'deliverable');
    expect(threadOf(ts).filter((c) => blocksText(c).includes('Result of Ticket A'))).toHaveLength(1);
    // A second submit is refused: the run is no longer waiting.
    expect((await submit('70')).json.errors[InputIds.budget.block]).toMatch(/no longer waiting/);
  });
});

describe('a server that reports no usage', () => {
  it('is booked at the worst case, never at zero, so the cap still holds', async () => {
    const inner = billed(scriptedResponder(chain()));
    h.llm.responder = (req) => {
      const reply = inner(req);
      return req.user.includes('# Your ticket: Ticket A') && !('status' in reply)
        ? { ...reply, usage: { input: 0, output: 0 } }
        : reply;
    };
    const { value, orchestrationId: o, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(o, 'failed');
    const a = (await Step.findOne({ orchestrationId: o, key: 'ticket_a' }).lean())!;
    expect(a).toMatchObject({ status: 'succeeded', costUsd: 10 });
    h.llm.responder = billed(scriptedResponder(chain()));
  });
});

/** An orchestration with nothing spent, straight in the database: what the budget functions act on. */
const bareOrchestration = (goal: string, status: 'executing' | 'cancelled', maxUsd: number) =>
  Orchestration.create({
    slackTeamId: TEAM_ID,
    requesterId: 'U1',
    channelId: 'C1',
    goal,
    status,
    budget: { maxUsd, spentUsd: 0, reservedUsd: 0, warned: false },
  });

describe('reservations', () => {
  it('parallel reservations racing for the last dollars never exceed the cap', async () => {
    const o = await bareOrchestration('race', 'executing', 5.5);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => reserve(orchestrationIdOf(o), 1)));
    expect(outcomes.filter((x) => x.ok)).toHaveLength(5);
    expect(outcomes.filter((x) => !x.ok).every((x) => !x.ok && x.reason === 'budget')).toBe(true);
    let b = (await doc(String(o._id))).budget;
    expect(b.reservedUsd + b.spentUsd).toBeLessThanOrEqual(5.5);
    // Settling below the reservation frees room for exactly what it released; a hold settles once.
    const [h1, h2] = outcomes.flatMap((x) => (x.ok ? [x.holdId] : []));
    const settled = await Promise.all([
      settle(orchestrationIdOf(o), h1!, 1, 0.25),
      settle(orchestrationIdOf(o), h2!, 1, 0.25),
      settle(orchestrationIdOf(o), h1!, 1, 0.25),
    ]);
    expect(settled.filter(Boolean)).toHaveLength(2);
    const second = await Promise.all(Array.from({ length: 10 }, () => reserve(orchestrationIdOf(o), 1)));
    expect(second.filter((x) => x.ok)).toHaveLength(2);
    b = (await doc(String(o._id))).budget;
    expect(b.spentUsd).toBe(0.5);
    expect(b.reservedUsd).toBe(5);
    expect(b.reservedUsd + b.spentUsd).toBeLessThanOrEqual(5.5);
    expect(b.holds).toHaveLength(5);
    expect(mongoose.connection.readyState).toBe(1);
  });

  it('books a wave of reservations and settles made together in two writes each, to the cent', async () => {
    const o = await bareOrchestration('wave', 'executing', 10);
    const id = orchestrationIdOf(o);
    const writes = vi.spyOn(Orchestration, 'updateOne');
    try {
      const reserved = await Promise.all(Array.from({ length: 8 }, (_, i) => reserve(id, 1, `step:${i}`)));
      expect(reserved.every((r) => r.ok)).toBe(true);
      expect(writes).toHaveBeenCalledTimes(2);
      let b = (await doc(String(o._id))).budget;
      expect([b.reservedUsd, b.holds?.length]).toEqual([8, 8]);
      expect(new Set(b.holds?.map((h) => h.holder)).size).toBe(8);
      writes.mockClear();
      const holdIds = reserved.flatMap((r) => (r.ok ? [r.holdId] : []));
      const settled = await Promise.all(holdIds.map((holdId) => settle(id, holdId, 1, 0.125)));
      expect(settled).toEqual(Array(8).fill(true));
      expect(writes).toHaveBeenCalledTimes(2);
      b = (await doc(String(o._id))).budget;
      expect([b.spentUsd, b.reservedUsd, b.holds?.length]).toEqual([1, 0, 0]);
      // Settled already: a second settle of each books nothing.
      expect(await Promise.all(holdIds.map((holdId) => settle(id, holdId, 1, 0.125)))).toEqual(Array(8).fill(false));
      expect((await doc(String(o._id))).budget.spentUsd).toBe(1);
    } finally {
      writes.mockRestore();
    }
  });

  it('refuses a run after cancel: a closed orchestration reserves nothing', async () => {
    const o = await bareOrchestration('closed', 'cancelled', 5);
    expect(await reserve(orchestrationIdOf(o), 1)).toEqual({ ok: false, reason: 'closed' });
  });
});

describe('prices', () => {
  it('refuses to start with a model that has no known price, saying how to add one', () => {
    const env = {
      SLACK_SIGNING_SECRET: 's',
      SLACK_BOT_TOKEN: 'xoxb-1',
      OPENAI_API_KEY: 'k',
      LLM_MODEL: 'my-local-llama',
    };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      'Configuration error: LLM_MODEL names my-local-llama, which has no known price; add it to ORCHESTRATE_PRICES, e.g. {"my-local-llama":{"inputPerMTok":1,"outputPerMTok":2}} (USD per million tokens), so that budgets can be enforced. See README.md → Configuration.',
    );
  });

  it('shows the estimate next to the cap, in red when the worst case is over it', async () => {
    h.llm.responder = billed(scriptedResponder(sampleProposal({ budget: { maxUsd: 35 } })));
    const { ts } = await h.propose();
    const posted = h.slack.callsTo('chat.postMessage').find((c) => c.response?.ts === ts)!;
    const text = blocksText(posted);
    expect(text).toContain('*Estimate:* 6 LLM calls · worst case $60.00 at one attempt each');
    expect(text).toContain(':red_circle: *Over the cap');
    h.llm.responder = billed(scriptedResponder(chain()));
  });
});
