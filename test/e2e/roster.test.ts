/**
 * The roster in Slack over signed HTTP: `/orchestrate agents` (what each agent is and did), Edit
 * and Retire by an approver and the refusal for anyone else, clicks that come too late, paging,
 * the Home tab's roster, and a retired agent left out of the next plan.
 */

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeControlValue } from '../../src/blocks/actionIds.js';
import { AgentControlIds } from '../../src/blocks/agentIds.js';
import { decodeAgentControl } from '../../src/blocks/agents.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { Agent } from '../../src/models/agent.js';
import type { SlackCall } from '../fakes/fakeSlack.js';
import { TEAM_ID } from '../fixtures.js';
import { blockKitViolations } from '../helpers/blockLimits.js';
import {
  APPROVER,
  eventually,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';
import { openHomeTab, sendInteraction } from '../helpers/signedRequests.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  h.llm.responder = scriptedResponder();
  await Agent.deleteMany({});
});

const seedAgent = (name: string, title: string, skills: string[] = ['research']) =>
  Agent.create({
    slackTeamId: TEAM_ID,
    name,
    title,
    persona: `${name} has done this for years.`,
    skills,
    origin: 'roster',
  });

const since = (mark: number) => (c: SlackCall) => h.slack.calls.indexOf(c) >= mark;
const shown = (call: SlackCall) => `${call.args.text}\n${JSON.stringify(call.args.blocks ?? [])}`;

/** `/orchestrate agents`, and the private answer that follows its empty ack. */
async function agents(userId: string): Promise<SlackCall> {
  const mark = h.slack.calls.length;
  const res = await h.command('agents', userId);
  expect(res.status).toBe(200);
  expect(res.text).toBe('');
  const answer = await h.slack.waitFor((c) => c.method === 'response_url' && since(mark)(c));
  expect(answer.args.response_type).toBe('ephemeral');
  expect(blockKitViolations({ text: answer.args.text, blocks: answer.args.blocks })).toEqual([]);
  return answer;
}

function buttonsOf(call: SlackCall | Record<string, any>, actionId: string): any[] {
  const blocks = ('args' in call ? call.args.blocks : call.blocks) as any[];
  return blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])).filter((e: any) => e.action_id === actionId);
}

/** The button of `actionId` drawn for the agent named `name`. */
function buttonFor(call: SlackCall | Record<string, any>, actionId: string, agentId: string): any {
  return buttonsOf(call, actionId).find((b) => decodeAgentControl(b.value)?.agentId === agentId);
}

/** Clicks a roster button under the ephemeral answer; returns what came back through the click's response_url. */
async function click(actionId: string, value: string, userId: string): Promise<SlackCall> {
  const mark = h.slack.calls.length;
  const res = await h.click(actionId, value, userId);
  expect(res.status).toBe(200);
  return h.slack.waitFor(
    (c) =>
      c.method === 'response_url' && String(c.args._responseId) === `click-${userId}-${actionId}` && since(mark)(c),
  );
}

describe('/orchestrate agents', () => {
  it('shows every agent with persona and skills; Edit and Retire only for approvers', async () => {
    await seedAgent('Grace', 'Principal analyst', ['market research', 'pricing']);
    await seedAgent('Linus', 'Systems engineer', ['infrastructure']);
    const seen = await agents(REQUESTER);
    expect(shown(seen)).toContain('*Grace* · Principal analyst');
    expect(shown(seen)).toContain('Grace has done this for years.');
    expect(shown(seen)).toContain('*Skills:* market research, pricing');
    expect(shown(seen)).toContain('*Linus* · Systems engineer');
    expect(shown(seen)).toContain('_No runs yet._');
    expect(shown(seen)).toContain('Only approvers (ORCHESTRATE_APPROVERS) can edit or retire them.');
    expect(buttonsOf(seen, AgentControlIds.edit)).toEqual([]);

    const managed = await agents(APPROVER);
    expect(buttonsOf(managed, AgentControlIds.edit)).toHaveLength(2);
    const retire = buttonsOf(managed, AgentControlIds.retire)[0];
    expect(retire.confirm.text.text).toContain('will never be proposed again');
  });

  it('shows what the hires of a finished run did: runs, spend and model', async () => {
    const { value, ts, orchestrationId } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed');
    const text = shown(await agents(REQUESTER));
    expect(text).toContain('*Ada* · Market analyst · _hired for a plan_');
    expect(text).toMatch(/\*Ada\*[^"]*1 run done · \$\d+\.\d+ spent · models: gpt-4o-mini · tools: none/);
    expect(text).toContain('*Wren* · Positioning writer');

    // Retired, Ada leaves the roster, and the run it worked in still shows its name.
    const retire = buttonsOf(await agents(APPROVER), AgentControlIds.retire).find((b) =>
      String(b.confirm.text.text).startsWith('Ada '),
    );
    expect(shown(await click(AgentControlIds.retire, retire.value, APPROVER))).not.toContain('*Ada* ·');
    const mark = h.slack.calls.length;
    const detail = encodeControlValue({ orchestrationId: orchestrationId as OrchestrationId, revision: 1 });
    await h.click('home.open_run_detail', detail, REQUESTER);
    const modal = await h.slack.waitFor((c) => c.method === 'views.open' && since(mark)(c));
    expect(JSON.stringify(modal.args.view.blocks)).toContain('*Agent*\\nAda');
  });

  it('pages through a long roster', async () => {
    for (let i = 0; i < 14; i++) await seedAgent(`Agent ${String(i).padStart(2, '0')}`, 'Generalist');
    const first = await agents(REQUESTER);
    expect(shown(first)).toContain('Agents 1–6 of 14');
    const next = buttonsOf(first, AgentControlIds.nextPage)[0];
    const second = await click(AgentControlIds.nextPage, next.value, REQUESTER);
    expect(second.args.replace_original).toBe(true);
    expect(shown(second)).toContain('Agents 7–12 of 14');
    expect(shown(second)).toContain('*Agent 06*');
    expect(shown(second)).not.toContain('*Agent 00*');
  });
});

describe('Edit', () => {
  it('opens a modal for an approver; saving redraws the roster with the new title, persona and skills', async () => {
    const grace = await seedAgent('Grace', 'Principal analyst');
    const roster = await agents(APPROVER);
    const edit = buttonFor(roster, AgentControlIds.edit, String(grace._id));
    const mark = h.slack.calls.length;
    await h.click(AgentControlIds.edit, edit.value, APPROVER);
    const opened = await h.slack.waitFor((c) => c.method === 'views.open' && since(mark)(c));
    expect(opened.response?.ok).toBe(true);
    const modal = opened.args.view;
    expect(modal.callback_id).toBe(AgentControlIds.editModal);
    expect(JSON.stringify(modal.blocks)).toContain('Principal analyst');

    const ids = AgentControlIds;
    const field = (value: string) => ({ type: 'plain_text_input', value });
    const submitted = h.slack.calls.length;
    const res = await h.submit(
      ids.editModal,
      modal.private_metadata,
      {
        [ids.titleBlock]: { [ids.titleInput]: field('Chief market analyst') },
        [ids.personaBlock]: { [ids.personaInput]: field('Grace maps markets and prices them.') },
        [ids.skillsBlock]: { [ids.skillsInput]: field('pricing, surveys') },
      },
      APPROVER,
    );
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const redrawn = await h.slack.waitFor(
      (c) =>
        c.method === 'response_url' &&
        String(c.args._responseId) === `click-${APPROVER}-${ids.edit}` &&
        since(submitted)(c),
    );
    expect(redrawn.args.replace_original).toBe(true);
    expect(shown(redrawn)).toContain('Saved *Grace*');
    expect(shown(redrawn)).toContain('*Grace* · Chief market analyst');
    expect(shown(redrawn)).toContain('*Skills:* pricing, surveys');
    expect(await Agent.findById(grace._id).lean()).toMatchObject({ title: 'Chief market analyst', editedBy: APPROVER });

    // The Edit button drawn before the save is now behind: it changes nothing and says so.
    const stale = await click(AgentControlIds.edit, edit.value, APPROVER);
    expect(shown(stale)).toContain('was changed meanwhile by <@UAPPROVER1>');
    expect(shown(stale)).toContain('Chief market analyst');
  });

  it('refuses anyone but an approver, at the button and at the form', async () => {
    const grace = await seedAgent('Grace', 'Principal analyst');
    const edit = buttonFor(await agents(APPROVER), AgentControlIds.edit, String(grace._id));
    const refused = await click(AgentControlIds.edit, edit.value, REQUESTER);
    expect(refused.args.text).toContain('Only approvers (ORCHESTRATE_APPROVERS) can edit or retire agents.');
    expect(refused.args.replace_original).toBe(false);
    const meta = JSON.stringify({ ...decodeAgentControl(edit.value), onHome: false });
    const ids = AgentControlIds;
    const form = await h.submit(
      ids.editModal,
      meta,
      {
        [ids.titleBlock]: { [ids.titleInput]: { type: 'plain_text_input', value: 'Intern' } },
        [ids.personaBlock]: { [ids.personaInput]: { type: 'plain_text_input', value: 'Nobody.' } },
      },
      REQUESTER,
    );
    expect(form.json).toMatchObject({ response_action: 'errors' });
    expect(form.json.errors[ids.titleBlock]).toMatch(/Only approvers/);
    expect((await Agent.findById(grace._id).lean())?.title).toBe('Principal analyst');
  });
});

describe('Retire', () => {
  it('retires for an approver: gone from the roster, from Swap role and from the next planning prompt', async () => {
    const grace = await seedAgent('Grace', 'Principal analyst');
    await seedAgent('Linus', 'Systems engineer');
    const retire = buttonFor(await agents(APPROVER), AgentControlIds.retire, String(grace._id));
    const refused = await click(AgentControlIds.retire, retire.value, REQUESTER);
    expect(refused.args.text).toContain('Only approvers');
    expect((await Agent.findById(grace._id).lean())?.retiredAt).toBeNull();

    const redrawn = await click(AgentControlIds.retire, retire.value, APPROVER);
    expect(redrawn.args.replace_original).toBe(true);
    expect(shown(redrawn)).toContain('Retired *Grace*: it will not be proposed again.');
    expect(shown(redrawn)).not.toContain('*Grace* · Principal analyst');
    expect(shown(redrawn)).toContain('*Linus* · Systems engineer');
    const again = await click(AgentControlIds.retire, retire.value, APPROVER);
    expect(shown(again)).toContain('*Grace* was already retired by <@UAPPROVER1>. Nothing was changed.');

    const { orchestrationId, ts } = await h.propose('Research the market for standing desks and write a buying guide');
    const prompt = h.llm.requests.filter((r) => r.toolName === 'propose_plan').at(-1)!.user;
    expect(prompt).toContain('- Linus: Systems engineer');
    expect(prompt).not.toContain('Grace');
    const mark = h.slack.calls.length;
    const swap = encodeControlValue({
      orchestrationId: orchestrationId as OrchestrationId,
      revision: 1,
      target: 'analyst',
    });
    await h.click('proposal.swap_role', swap, REQUESTER, ts);
    const modal = await h.slack.waitFor((c) => c.method === 'views.open' && since(mark)(c));
    expect(JSON.stringify(modal.args.view)).toContain('Linus: Systems engineer');
    expect(JSON.stringify(modal.args.view)).not.toContain('Grace');
  });
});

describe('the Home tab', () => {
  const openHome = (user: string) => openHomeTab(h.url, SIGNING_SECRET, user);
  /** A click on the Home tab: no channel, no response_url, as Slack sends it. */
  const homeClick = (userId: string, actionId: string, value: string) =>
    sendInteraction(h.url, SIGNING_SECRET, {
      type: 'block_actions',
      user: { id: userId, username: userId.toLowerCase(), team_id: 'T1' },
      api_app_id: 'A1',
      token: 'x',
      container: { type: 'view', view_id: 'VHOME' },
      trigger_id: randomBytes(6).toString('hex'),
      team: { id: 'T1', domain: 'fake' },
      view: { id: 'VHOME', type: 'home', blocks: [], private_metadata: '', callback_id: '', hash: 'h' },
      actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: `${Date.now() / 1000}` }],
    });
  const publishedTo = (user: string) => h.slack.callsTo('views.publish').filter((c) => c.args.user_id === user).length;

  it('shows the roster below the runs, with Edit and Retire for an approver, and retires from there', async () => {
    const grace = await seedAgent('Grace', 'Principal analyst');
    await seedAgent('Linus', 'Systems engineer');
    // An earlier test's run may have published this person's Home already: wait for this opening's.
    const shown = publishedTo(REQUESTER);
    await openHome(REQUESTER);
    await eventually(() => publishedTo(REQUESTER) > shown, 5000, 'the Home tab');
    const theirs = h.slack.homeView(REQUESTER)!;
    expect(JSON.stringify(theirs.blocks)).toContain('*Grace* · Principal analyst');
    expect(buttonsOf(theirs, AgentControlIds.retire)).toEqual([]);

    const before = publishedTo(APPROVER);
    await openHome(APPROVER);
    await eventually(() => publishedTo(APPROVER) > before, 5000, 'the approver’s Home tab');
    const retire = buttonFor(h.slack.homeView(APPROVER)!, AgentControlIds.retire, String(grace._id));
    expect(retire).toBeDefined();

    // Someone else's click on the Home tab is refused in a small modal, since there is no response_url.
    const opened = h.slack.callsTo('views.open').length;
    await homeClick(REQUESTER, AgentControlIds.retire, retire.value);
    const notice = await h.slack.waitFor(
      (c) => c.method === 'views.open' && h.slack.callsTo('views.open').indexOf(c) >= opened,
    );
    expect(JSON.stringify(notice.args.view)).toContain('Only approvers');

    const published = publishedTo(APPROVER);
    await homeClick(APPROVER, AgentControlIds.retire, retire.value);
    await eventually(() => publishedTo(APPROVER) > published, 5000, 'the Home tab republished');
    const home = JSON.stringify(h.slack.homeView(APPROVER)!.blocks);
    expect(home).toContain('Retired *Grace*');
    expect(home).not.toContain('*Grace* · Principal analyst');
    expect(home).toContain('*Linus* · Systems engineer');
    expect((await Agent.findById(grace._id).lean())?.retiredBy).toBe(APPROVER);
  });
});
