/**
 * The roster use cases on their own (usecases/agents.ts): who may edit and retire, the Edit form's
 * checks, and clicks or forms drawn before someone else's change, which change nothing and say so.
 */

import { describe, expect, it } from 'vitest';
import { AgentControlIds } from '../../../src/blocks/agentIds.js';
import { decodeAgentControl, encodeAgentControl } from '../../../src/blocks/agents.js';
import { NOT_AN_APPROVER, UNKNOWN_BUTTON } from '../../../src/blocks/replies.js';
import {
  type AgentClick,
  type AgentForm,
  editAgentModalFor,
  retireAgentByClick,
  rosterReply,
  submitAgentEdit,
} from '../../../src/engine/usecases/agents.js';
import { Agent } from '../../../src/models/agent.js';
import { TEAM_ID } from '../../fixtures.js';
import { APPROVER, BOT, makeServices, REQUESTER, useDatabase } from './support.js';

useDatabase();

async function grace() {
  const agent = await Agent.create({
    slackTeamId: TEAM_ID,
    name: 'Grace',
    title: 'Principal analyst',
    persona: 'Grace maps markets.',
    skills: ['research', 'pricing'],
    origin: 'roster',
  });
  return String(agent._id);
}

const click = (agentId: string, version: number, userId = APPROVER, page = 0): AgentClick => ({
  control: decodeAgentControl(encodeAgentControl({ agentId, version, page })),
  userId,
  botUserId: BOT,
  onHome: false,
  responseUrl: 'https://hooks.slack.test/actions/1',
});

const form = (agentId: string, version: number, overrides: Partial<AgentForm> = {}): AgentForm => ({
  meta: { agentId, version, page: 0, onHome: false, responseUrl: 'https://hooks.slack.test/actions/1' },
  userId: APPROVER,
  botUserId: BOT,
  title: 'Chief analyst',
  persona: 'Grace maps markets and prices.',
  skills: ' research, pricing ,, surveys, research ',
  ...overrides,
});

describe('rosterReply', () => {
  it('draws Edit and Retire for approvers only, never for the bot', async () => {
    await grace();
    const { services } = makeServices();
    const ids = async (userId: string) =>
      JSON.stringify((await rosterReply(services, { userId, botUserId: BOT })).blocks).includes(AgentControlIds.retire);
    expect(await ids(APPROVER)).toBe(true);
    expect(await ids(REQUESTER)).toBe(false);
    expect(await ids(BOT)).toBe(false);
  });
});

describe('Edit', () => {
  it('opens the modal for an approver, with the agent as it is', async () => {
    const id = await grace();
    const { services } = makeServices();
    const outcome = await editAgentModalFor(services, click(id, 0));
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(JSON.stringify(outcome.view.blocks)).toContain('Principal analyst');
    expect(JSON.parse(outcome.view.private_metadata!)).toMatchObject({ agentId: id, version: 0, page: 0 });
  });

  it('refuses anyone else, and a value it did not draw', async () => {
    const id = await grace();
    const { services } = makeServices();
    expect(await editAgentModalFor(services, click(id, 0, REQUESTER))).toEqual({
      kind: 'refused',
      text: NOT_AN_APPROVER,
    });
    expect(await editAgentModalFor(services, { ...click(id, 0), control: null })).toEqual({
      kind: 'refused',
      text: UNKNOWN_BUTTON,
    });
  });

  it('saves title, persona and skills (trimmed, without repeats) and bumps the version', async () => {
    const id = await grace();
    const { services } = makeServices();
    const outcome = await submitAgentEdit(services, form(id, 0));
    expect(outcome).toMatchObject({ kind: 'redraw', page: 0, onHome: false });
    expect(outcome.kind === 'redraw' && outcome.notice).toContain('Saved *Grace*');
    expect(await Agent.findById(id).lean()).toMatchObject({
      title: 'Chief analyst',
      persona: 'Grace maps markets and prices.',
      skills: ['research', 'pricing', 'surveys'],
      version: 1,
      editedBy: APPROVER,
    });
  });

  it('shows each error next to its field and saves nothing', async () => {
    const id = await grace();
    const { services } = makeServices();
    const outcome = await submitAgentEdit(
      services,
      form(id, 0, {
        title: ' ',
        persona: 'p'.repeat(2001),
        skills: Array.from({ length: 13 }, (_, i) => `s${i}`).join(','),
      }),
    );
    expect(outcome.kind).toBe('errors');
    if (outcome.kind !== 'errors') return;
    expect(outcome.errors[AgentControlIds.titleBlock]).toMatch(/title/);
    expect(outcome.errors[AgentControlIds.personaBlock]).toMatch(/At most 2,000 characters; this is 2001/);
    expect(outcome.errors[AgentControlIds.skillsBlock]).toMatch(/At most 12 skills/);
    expect((await Agent.findById(id).lean())?.title).toBe('Principal analyst');
  });

  it('refuses a form from someone not an approver, or one that is not ours', async () => {
    const id = await grace();
    const { services } = makeServices();
    const refused = await submitAgentEdit(services, form(id, 0, { userId: REQUESTER }));
    expect(refused).toMatchObject({
      kind: 'errors',
      errors: { [AgentControlIds.titleBlock]: expect.stringMatching(/Only approvers/) },
    });
    expect(await submitAgentEdit(services, form(id, 0, { meta: null }))).toMatchObject({ kind: 'errors' });
    expect((await Agent.findById(id).lean())?.version ?? 0).toBe(0);
  });

  it('changes nothing from a form opened before someone else’s edit, and says so in the form', async () => {
    const id = await grace();
    const { services } = makeServices();
    await submitAgentEdit(services, form(id, 0));
    const late = await submitAgentEdit(services, form(id, 0, { title: 'Late title' }));
    expect(late).toMatchObject({
      kind: 'errors',
      errors: {
        [AgentControlIds.titleBlock]: expect.stringMatching(/changed by someone else while this form was open/),
      },
    });
    expect((await Agent.findById(id).lean())?.title).toBe('Chief analyst');
    // A click on the roster drawn before the edit: the roster is drawn again, saying why.
    const stale = await editAgentModalFor(services, click(id, 0));
    expect(stale).toMatchObject({
      kind: 'redraw',
      notice: expect.stringMatching(/was changed meanwhile by <@UAPPROVER1>/),
    });
  });
});

describe('Retire', () => {
  it('retires once; a second click says it was already retired, and a late Edit form saves nothing', async () => {
    const id = await grace();
    const { services } = makeServices();
    const first = await retireAgentByClick(services, click(id, 0, APPROVER, 2));
    expect(first).toMatchObject({ kind: 'redraw', page: 2, notice: expect.stringContaining('Retired *Grace*') });
    const again = await retireAgentByClick(services, click(id, 0));
    expect(again).toMatchObject({ kind: 'redraw', notice: expect.stringMatching(/already retired by <@UAPPROVER1>/) });
    const late = await submitAgentEdit(services, form(id, 0));
    expect(late).toMatchObject({
      kind: 'errors',
      errors: { [AgentControlIds.titleBlock]: expect.stringMatching(/retired meanwhile/) },
    });
    expect(await Agent.findById(id).lean()).toMatchObject({ title: 'Principal analyst', retiredBy: APPROVER });
  });

  it('refuses anyone not an approver, and changes nothing', async () => {
    const id = await grace();
    const { services } = makeServices();
    expect(await retireAgentByClick(services, click(id, 0, REQUESTER))).toEqual({
      kind: 'refused',
      text: NOT_AN_APPROVER,
    });
    expect(await retireAgentByClick(services, click(id, 0, BOT))).toEqual({ kind: 'refused', text: NOT_AN_APPROVER });
    expect((await Agent.findById(id).lean())?.retiredAt ?? null).toBeNull();
  });
});
