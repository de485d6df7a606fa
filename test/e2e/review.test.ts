/**
 * Reviewing a proposal in Slack over signed HTTP: swap, drop, budget, toggles, ask again,
 * stale revisions, rights, and races between approval and edits.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeControlValue, InputIds, ViewIds } from '../../src/blocks/actionIds.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { Agent } from '../../src/models/agent.js';
import { Orchestration } from '../../src/models/orchestration.js';
import { Run, Step } from '../../src/models/run.js';
import { TEAM_ID } from '../fixtures.js';
import {
  blocksText,
  eventually,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ ORCHESTRATE_MAX_BUDGET_USD: '5' });
  await Agent.create({
    slackTeamId: TEAM_ID,
    name: 'Grace',
    title: 'Principal analyst',
    persona: 'Grace has mapped markets for twenty years.',
    skills: ['research'],
    origin: 'roster',
    hiredFor: null,
  });
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  h.llm.responder = scriptedResponder();
  h.llm.delayMs = 0;
});

const doc = async (id: string) => (await Orchestration.findById(id).lean())!;
const value = (o: string, r: number, k?: string) =>
  encodeControlValue({ orchestrationId: o as OrchestrationId, revision: r, ...(k ? { target: k } : {}) });
const meta = value;
const ephemerals = (userId: string) =>
  h.slack.calls
    .filter((c) => c.method === 'response_url' && String(c.args._responseId).includes(userId))
    .map((c) => String(c.args.text));
const lastUpdateOf = (ts: string) =>
  h.slack
    .callsTo('chat.update')
    .filter((c) => c.args.ts === ts)
    .at(-1);
const approveAndFinish = async (o: string, r: number, ts: string) => {
  await h.click('orchestrate.approve', value(o, r), REQUESTER, ts);
  await eventually(async () => ['completed', 'failed'].includes((await doc(o)).status), 20_000, 'run end');
  await h.waitForEnd(o, (await doc(o)).status as 'completed' | 'failed');
};

describe('Swap role', () => {
  it('opens a modal listing the roster, and swapping to an existing agent redraws the plan and is what runs', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.swap_role', value(o, 1, 'analyst'), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    expect(JSON.stringify(modal.args.view)).toContain('Grace: Principal analyst');
    expect(modal.args.view.private_metadata).toBe(meta(o, 1, 'analyst'));

    const res = await h.submit(ViewIds.swapRole, meta(o, 1, 'analyst'), {
      [InputIds.rosterAgent.block]: {
        [InputIds.rosterAgent.action]: { type: 'static_select', selected_option: { value: 'Grace' } },
      },
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const after = await doc(o);
    expect(after.revision).toBe(2);
    expect(after.proposal!.roles[0]).toMatchObject({ key: 'analyst', existingAgent: 'Grace', hire: null });
    expect(after.history.map((r) => [r.revision, r.change])).toEqual([
      [1, 'proposed by the CEO agent'],
      [2, 'role analyst → roster agent Grace'],
    ]);
    await eventually(() => blocksText(lastUpdateOf(ts)).includes('_existing agent_: *Grace*'), 5000, 'redraw');
    expect(blocksText(lastUpdateOf(ts))).toContain('revision 2');

    await approveAndFinish(o, 2, ts);
    const grace = (await Agent.findOne({ name: 'Grace', origin: 'roster' }).lean())!;
    const steps = await Step.find({ orchestrationId: o, roleKey: 'analyst' }).lean();
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => String(s.agentId) === String(grace._id))).toBe(true);
    expect(await Agent.countDocuments({ 'hiredFor.orchestrationId': after._id })).toBe(1); // only the writer was hired
  });

  it('swaps a roster agent back to a new hire, through the select\'s own "new hire" option', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    const pick = (v: string) => ({
      [InputIds.rosterAgent.block]: {
        [InputIds.rosterAgent.action]: { type: 'static_select', selected_option: { value: v } },
      },
    });
    await h.submit(ViewIds.swapRole, meta(o, 1, 'analyst'), pick('Grace'));
    expect((await doc(o)).revision).toBe(2);

    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.swap_role', value(o, 2, 'analyst'), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    const select = modal.args.view.blocks.find((b: any) => b.block_id === InputIds.rosterAgent.block);
    expect(select.element.initial_option.value).toBe('Grace');
    const hireOption = select.element.options[0];
    expect(hireOption.text.text).toBe('A new hire (describe below)');

    const res = await h.submit(ViewIds.swapRole, meta(o, 2, 'analyst'), {
      ...pick(hireOption.value),
      [InputIds.hireName.block]: { [InputIds.hireName.action]: { type: 'plain_text_input', value: 'Mia' } },
      [InputIds.hirePersona.block]: {
        [InputIds.hirePersona.action]: { type: 'plain_text_input', value: 'A pricing specialist.' },
      },
      [InputIds.hireSkills.block]: {
        [InputIds.hireSkills.action]: { type: 'plain_text_input', value: 'pricing, surveys' },
      },
    });
    expect(res.text).toBe('');
    const after = await doc(o);
    expect(after.revision).toBe(3);
    expect(after.proposal!.roles[0]).toMatchObject({
      key: 'analyst',
      existingAgent: null,
      hire: { name: 'Mia', persona: 'A pricing specialist.', skills: ['pricing', 'surveys'] },
    });
    await eventually(() => blocksText(lastUpdateOf(ts)).includes('_new hire_: *Mia*'), 5000, 'redraw');
  });

  it('shows errors in the modal for an incomplete hire and changes nothing', async () => {
    const { orchestrationId: o } = await h.propose();
    const res = await h.submit(ViewIds.swapRole, meta(o, 1, 'writer'), {
      [InputIds.hireName.block]: { [InputIds.hireName.action]: { type: 'plain_text_input', value: '' } },
      [InputIds.hirePersona.block]: { [InputIds.hirePersona.action]: { type: 'plain_text_input', value: '' } },
    });
    expect(res.json).toMatchObject({ response_action: 'errors' });
    expect(res.json.errors[InputIds.hireName.block]).toMatch(/name/);
    expect(res.json.errors[InputIds.hirePersona.block]).toMatch(/Describe/);
    // A skill too long is shown under the skills, not under the name.
    const skill = await h.submit(ViewIds.swapRole, meta(o, 1, 'writer'), {
      [InputIds.hireName.block]: { [InputIds.hireName.action]: { type: 'plain_text_input', value: 'Mia' } },
      [InputIds.hirePersona.block]: {
        [InputIds.hirePersona.action]: { type: 'plain_text_input', value: 'A pricing specialist.' },
      },
      [InputIds.hireSkills.block]: {
        [InputIds.hireSkills.action]: { type: 'plain_text_input', value: `pricing, ${'x'.repeat(90)}` },
      },
    });
    expect(Object.keys(skill.json.errors)).toEqual([InputIds.hireSkills.block]);
    expect(skill.json.errors[InputIds.hireSkills.block]).toMatch(/Each skill at most 80 characters/);
    expect((await doc(o)).revision).toBe(1);
  });
});

describe('Drop ticket', () => {
  it('drops a ticket with dependents: edges removed, same message edited, no LLM call, never mentioned again', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    const posts = h.slack.callsTo('chat.postMessage').length;
    const asked = h.llm.requests.length;
    await h.click('proposal.drop_ticket', value(o, 1, 'competitors'), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 2, 5000, 'revision 2');
    const p = (await doc(o)).proposal!;
    expect(p.tickets.map((t) => t.key)).toEqual(['pricing', 'draft']);
    expect(p.tickets.find((t) => t.key === 'draft')!.dependsOn).toEqual(['pricing']);
    expect(h.llm.requests.length).toBe(asked);
    await eventually(
      () => lastUpdateOf(ts) && !blocksText(lastUpdateOf(ts)).includes('Map the competitors'),
      5000,
      'redraw',
    );
    expect(h.slack.callsTo('chat.postMessage').length).toBe(posts); // edited in place, not re-posted

    h.llm.reset();
    await approveAndFinish(o, 2, ts);
    expect((await doc(o)).status).toBe('completed');
    expect(h.llm.requests.length).toBeGreaterThan(0);
    expect(h.llm.requests.some((r) => r.user.includes('Map the competitors'))).toBe(false);
    expect(await Step.countDocuments({ orchestrationId: o, key: 'ticket_competitors' })).toBe(0);
  });

  it('refuses to drop the last ticket, with an explanation', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.drop_ticket', value(o, 1, 'competitors'), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 2, 5000, 'r2');
    await h.click('proposal.drop_ticket', value(o, 2, 'pricing'), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 3, 5000, 'r3');
    await h.click('proposal.drop_ticket', value(o, 3, 'draft'), REQUESTER, ts);
    await eventually(() => ephemerals(REQUESTER).some((t) => t.includes('last ticket')), 5000, 'refusal');
    expect((await doc(o)).revision).toBe(3);
    expect((await doc(o)).proposal!.tickets).toHaveLength(1);
  });
});

describe('Tighten the budget', () => {
  it('rejects bad values in the modal and stores a good one as a new revision', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.set_budget', value(o, 1), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.setBudget,
    );
    expect(JSON.stringify(modal.args.view)).toContain('1.50');
    const submit = (v: string) =>
      h.submit(ViewIds.setBudget, meta(o, 1), {
        [InputIds.budget.block]: { [InputIds.budget.action]: { type: 'plain_text_input', value: v } },
      });
    for (const [bad, message] of [
      ['abc', /positive amount/],
      ['0', /positive amount/],
      ['-3', /positive amount/],
      ['6', /at most \$5\.00/],
    ] as const) {
      const res = await submit(bad);
      expect(res.json?.response_action).toBe('errors');
      expect(res.json.errors[InputIds.budget.block]).toMatch(message);
    }
    expect((await doc(o)).revision).toBe(1);
    const ok = await submit('$0.75');
    expect(ok.text).toBe('');
    const after = await doc(o);
    expect(after.revision).toBe(2);
    expect(after.proposal!.budget.maxUsd).toBe(0.75);
    expect(after.budget.maxUsd).toBe(0.75);
    await eventually(() => blocksText(lastUpdateOf(ts)).includes('$0.75 max'), 5000, 'redraw');
  });
});

describe('Toggles and Ask again', () => {
  it('turns discussion off: no positions are asked for after approval', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.toggle_discussion', value(o, 1), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 2, 5000, 'r2');
    expect((await doc(o)).proposal!.discussion.enabled).toBe(false);
    await eventually(() => blocksText(lastUpdateOf(ts)).includes('*Discussion:* off'), 5000, 'redraw');
    h.llm.reset();
    await approveAndFinish(o, 2, ts);
    expect(h.llm.requests.filter((r) => r.toolName === 'state_position')).toEqual([]);
  });

  it('turns research on: it runs first and feeds the tickets', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.toggle_research', value(o, 1), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 2, 5000, 'r2');
    h.llm.reset();
    await approveAndFinish(o, 2, ts);
    const first = h.llm.requests[0]!;
    expect(first.user).toContain('# Research brief');
    expect(h.llm.requests.find((r) => r.user.includes('# Your ticket: Compare pricing'))!.user).toContain(
      'Research findings',
    );
  });

  it('asks the CEO agent again with a note; the answer becomes the next revision', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    // A cap the reviewers set survives asking again: the CEO agent redoes the plan, not the budget.
    await h.submit(ViewIds.setBudget, meta(o, 1), {
      [InputIds.budget.block]: { [InputIds.budget.action]: { type: 'plain_text_input', value: '0.75' } },
    });
    h.llm.reset();
    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.ask_again', value(o, 2), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) =>
        c.method === 'views.open' &&
        c.args.view.callback_id === ViewIds.askAgain &&
        h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    const res = await h.submit(ViewIds.askAgain, modal.args.view.private_metadata, {
      [InputIds.note.block]: { [InputIds.note.action]: { type: 'plain_text_input', value: 'Fewer tickets please' } },
    });
    expect(res.text).toBe('');
    // The clicker hears at once that it is under way, through their click's response_url.
    await eventually(
      () => ephemerals(REQUESTER).some((t) => t.includes('Asking the CEO agent again')),
      5000,
      'the note',
    );
    await eventually(async () => (await doc(o)).revision === 3, 10_000, 'replanned');
    const ask = h.llm.requests.find((r) => r.toolName === 'propose_plan')!;
    expect(ask.user).toContain('Note from the requester: Fewer tickets please');
    expect((await doc(o)).history.at(-1)!.change).toBe('asked again: Fewer tickets please');
    expect((await doc(o)).proposal!.budget.maxUsd).toBe(0.75);
    expect((await doc(o)).budget.maxUsd).toBe(0.75);
  });

  it('tells the clicker when asking again fails, through their response_url, and keeps the plan', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    h.llm.responder = (req) =>
      req.toolName === 'propose_plan' ? { status: 401, error: { message: 'bad key' } } : scriptedResponder()(req);
    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.ask_again', value(o, 1), REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) =>
        c.method === 'views.open' &&
        c.args.view.callback_id === ViewIds.askAgain &&
        h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    const ephemeralsBefore = h.slack.callsTo('chat.postEphemeral').length;
    await h.submit(ViewIds.askAgain, modal.args.view.private_metadata, {});
    await eventually(
      () =>
        ephemerals(REQUESTER).some((t) => t.includes('could not be reached') && t.includes('revision 1) is unchanged')),
      10_000,
      'the failure',
    );
    // Not through chat.postEphemeral, which fails in public channels the bot has not joined.
    expect(h.slack.callsTo('chat.postEphemeral').length).toBe(ephemeralsBefore);
    expect((await doc(o)).revision).toBe(1);
  });
});

describe('Revisions and rights', () => {
  it('answers a click on an older revision with the current one and changes nothing', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.toggle_research', value(o, 1), REQUESTER, ts);
    await eventually(async () => (await doc(o)).revision === 2, 5000, 'r2');
    await h.click('proposal.drop_ticket', value(o, 1, 'pricing'), REQUESTER, ts);
    await h.click('orchestrate.approve', value(o, 1), REQUESTER, ts);
    await eventually(
      () =>
        ephemerals(REQUESTER).filter((t) => t.includes('you clicked revision 1, and the current one is revision 2'))
          .length >= 2,
      5000,
      'stale answers',
    );
    // The answer shows the current plan: research is now on, and every ticket is still there.
    const answer = h.slack.calls
      .filter((c) => c.method === 'response_url' && String(c.args.text).includes('you clicked revision 1'))
      .at(-1)!;
    expect(blocksText(answer)).toContain('Research on');
    expect(blocksText(answer)).toContain('Last change: toggled research by <@U_REQUESTER>');
    expect(blocksText(answer)).toContain('Compare pricing');
    const after = await doc(o);
    expect(after.revision).toBe(2);
    expect(after.status).toBe('proposed');
    expect(after.proposal!.tickets).toHaveLength(3);
  });

  it('refuses edits from anyone but the requester and approvers, in buttons and modals', async () => {
    const { orchestrationId: o, ts } = await h.propose();
    await h.click('proposal.drop_ticket', value(o, 1, 'pricing'), 'U_STRANGER', ts);
    await h.click('proposal.set_budget', value(o, 1), 'U_STRANGER', ts);
    await eventually(
      () => ephemerals('U_STRANGER').filter((t) => t.includes('Only <@U_REQUESTER>')).length >= 2,
      5000,
      'refusals',
    );
    const res = await h.submit(
      ViewIds.setBudget,
      meta(o, 1),
      { [InputIds.budget.block]: { [InputIds.budget.action]: { value: '0.5' } } },
      'U_STRANGER',
    );
    expect(res.json?.response_action).toBe('errors');
    // The bot itself can never approve.
    await h.click('orchestrate.approve', value(o, 1), 'UBOT', ts);
    await eventually(() => ephemerals('UBOT').some((t) => t.includes('cannot act on its own')), 5000, 'bot refusal');
    const after = await doc(o);
    expect(after.revision).toBe(1);
    expect(after.status).toBe('proposed');
  });
});

describe('Races', () => {
  it('approve racing cancel leaves one consistent outcome: one pipeline or none', async () => {
    for (let i = 0; i < 4; i++) {
      const { orchestrationId: o, ts } = await h.propose();
      await Promise.all([
        h.click('orchestrate.approve', value(o, 1), REQUESTER, ts),
        h.click('orchestrate.cancel', value(o, 1), REQUESTER, ts),
      ]);
      await eventually(
        async () => (await doc(o)).status === 'cancelled' || (await doc(o)).status === 'completed',
        20_000,
        'settled',
      );
      await new Promise((r) => setTimeout(r, 300));
      const after = await doc(o);
      const runs = await Run.countDocuments({ orchestrationId: o });
      expect(runs).toBeLessThanOrEqual(1);
      if (!after.approvedBy) expect(runs).toBe(0); // cancel won: nothing was ever scaffolded
      const ended = after.transitions.filter((t) => ['cancelled', 'completed'].includes(t.to));
      expect(ended).toHaveLength(1);
    }
  });

  it('approve racing drop: either the original plan runs whole, or the edit wins and nothing runs', async () => {
    for (let i = 0; i < 4; i++) {
      const { orchestrationId: o, ts } = await h.propose();
      await Promise.all([
        h.click('proposal.drop_ticket', value(o, 1, 'pricing'), REQUESTER, ts),
        h.click('orchestrate.approve', value(o, 1), REQUESTER, ts),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      const after = await doc(o);
      if (after.approvedBy) {
        expect(after.revision).toBe(1);
        expect(after.proposal!.tickets).toHaveLength(3);
        await h.waitForEnd(o, 'completed');
        expect(await Step.countDocuments({ orchestrationId: o, kind: 'ticket' })).toBe(3);
      } else {
        expect(after.revision).toBe(2);
        expect(after.status).toBe('proposed');
        expect(await Run.countDocuments({ orchestrationId: o })).toBe(0);
      }
    }
  });
});
