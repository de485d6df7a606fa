/**
 * The roster's blocks: a page within Block Kit's limits at the longest texts, Edit and Retire only
 * for approvers (Retire behind a confirm), paging, escaping, the Edit modal, and the Home tab with
 * the roster below the runs.
 */
import { describe, expect, it } from 'vitest';
import { AgentControlIds, AgentIds } from '../../src/blocks/agentIds.js';
import {
  decodeAgentControl,
  decodeAgentFormMeta,
  decodePage,
  editAgentModal,
  encodeAgentControl,
  encodeAgentFormMeta,
  ROSTER_PAGE_SIZE,
  type RosterAgentView,
  type RosterPageView,
  rosterBlocks,
  rosterMessage,
} from '../../src/blocks/agents.js';
import { type HomeRun, homeView } from '../../src/blocks/home.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { blocksError, viewError } from '../fakes/slackRules.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const idOf = (n: number) => n.toString(16).padStart(24, 'a');
const LONG = 'Ping <!channel> & <@U999> about the market, then *write* '.repeat(50);

const agent = (n: number, overrides: Partial<RosterAgentView> = {}): RosterAgentView => ({
  agentId: idOf(n),
  version: 2,
  name: `Ada ${n} `.padEnd(80, 'x'),
  title: 'Principal market analyst & pricing lead '.repeat(3).slice(0, 120),
  persona: LONG.slice(0, 2000),
  skills: Array.from({ length: 12 }, (_, i) => `skill ${i} `.padEnd(80, 'y')),
  hired: n % 2 === 0,
  record: {
    models: ['gpt-4o-mini', 'claude-sonnet-4-5', 'a-very-long-model-name-'.repeat(4), 'another'],
    tools: Array.from({ length: 9 }, (_, i) => `files__read_file_${i}`),
    runsDone: 12,
    spentUsd: 3.4567,
  },
  ...overrides,
});

const page = (overrides: Partial<RosterPageView> = {}): RosterPageView => ({
  agents: Array.from({ length: ROSTER_PAGE_SIZE }, (_, i) => agent(i + 1)),
  page: 1,
  pageCount: 40,
  total: 317,
  canManage: true,
  notice: ':white_check_mark: Saved *Ada*.',
  ...overrides,
});

const buttons = (blocks: any[]) =>
  blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])).filter((e: any) => e.type === 'button');

describe('rosterMessage', () => {
  it('fits a message at the longest texts, for an approver of a roster of hundreds', () => {
    const message = rosterMessage(page());
    expect(blockKitViolations(message)).toEqual([]);
    expect(blocksError(message.blocks, new Set())).toBeNull();
    expect(message.text).toBe('The roster: 317 agents.');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('Agents 7–12 of 317');
    expect(text).toContain('…and 305 more agents.');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U999>');
  });

  it('still fits when every text is made of characters that escaping makes five times longer', () => {
    const amp = (n: number) => '&'.repeat(n);
    const agents = Array.from({ length: ROSTER_PAGE_SIZE }, (_, i) =>
      agent(i + 1, {
        name: amp(80),
        title: amp(120),
        persona: amp(2000),
        skills: Array.from({ length: 12 }, () => amp(80)),
        record: { models: Array(5).fill(amp(80)), tools: Array(9).fill(amp(80)), runsDone: 1200, spentUsd: 12_345.678 },
      }),
    );
    expect(blockKitViolations(rosterMessage(page({ agents, notice: 'x'.repeat(2000) })))).toEqual([]);
  });

  it('gives approvers Edit and Retire on each agent, Retire behind a confirm; others get neither', () => {
    const managed = buttons(rosterBlocks(page()));
    const edits = managed.filter((b: any) => b.action_id === AgentControlIds.edit);
    const retires = managed.filter((b: any) => b.action_id === AgentControlIds.retire);
    expect(edits).toHaveLength(ROSTER_PAGE_SIZE);
    expect(retires).toHaveLength(ROSTER_PAGE_SIZE);
    expect(retires[0].confirm.title.text).toBe('Retire this agent?');
    expect(retires[0].confirm.text.text).toMatch(/will never be proposed again/);
    expect(decodeAgentControl(edits[0].value)).toEqual({ agentId: idOf(1), version: 2, page: 1 });

    const readOnly = rosterBlocks(page({ canManage: false }));
    expect(buttons(readOnly).map((b: any) => b.action_id)).toEqual([
      AgentControlIds.previousPage,
      AgentControlIds.nextPage,
    ]);
    expect(JSON.stringify(readOnly)).toContain('Only approvers (ORCHESTRATE_APPROVERS) can edit or retire them.');
  });

  it('shows persona, skills and what the agent did: runs, spend, models and tools', () => {
    const blocks = rosterBlocks(
      page({
        agents: [
          agent(1, {
            name: 'Grace',
            title: 'Analyst',
            persona: 'Maps markets.',
            skills: ['research', 'pricing'],
            record: { models: ['gpt-4o-mini'], tools: ['web_search'], runsDone: 1, spentUsd: 0.25 },
          }),
          agent(2, { name: 'Linus', record: { models: [], tools: [], runsDone: 0, spentUsd: 0 } }),
        ],
        page: 0,
        pageCount: 1,
        total: 2,
      }),
    );
    const text = JSON.stringify(blocks);
    expect(text).toContain('*Grace* · Analyst');
    expect(text).toContain('Maps markets.');
    expect(text).toContain('*Skills:* research, pricing');
    expect(text).toContain('1 run done · $0.25 spent · models: gpt-4o-mini · tools: web_search');
    expect(text).toContain('_No runs yet._');
    expect(text).not.toContain('more agent');
    expect(
      buttons(blocks).some((b: any) => [AgentControlIds.previousPage, AgentControlIds.nextPage].includes(b.action_id)),
    ).toBe(false);
  });

  it('says how agents come to be when there are none', () => {
    const blocks = rosterBlocks(page({ agents: [], total: 0, page: 0, pageCount: 1, notice: null }));
    expect(JSON.stringify(blocks)).toContain('No agents yet');
    expect(buttons(blocks)).toEqual([]);
  });

  it('pages forward and back with values that decode to the page', () => {
    const [previous, next] = buttons(rosterBlocks(page({ canManage: false })));
    expect(decodePage(previous.value)).toBe(0);
    expect(decodePage(next.value)).toBe(2);
    expect(decodePage('{"page":-1}')).toBeNull();
    expect(decodePage('nonsense')).toBeNull();
  });
});

describe('agent controls and the Edit modal', () => {
  it('decodes only what the roster draws', () => {
    const control = { agentId: idOf(7), version: 0, page: 3 };
    expect(decodeAgentControl(encodeAgentControl(control))).toEqual(control);
    expect(decodeAgentControl('{"agentId":"nope","version":0,"page":0}')).toBeNull();
    expect(decodeAgentControl('{"agentId":"aaaaaaaaaaaaaaaaaaaaaaa7","version":-1,"page":0}')).toBeNull();
    expect(decodeAgentControl(undefined)).toBeNull();
    const meta = { ...control, onHome: false, responseUrl: 'https://hooks.slack.com/actions/T1/2/3' };
    expect(decodeAgentFormMeta(encodeAgentFormMeta(meta))).toEqual(meta);
    expect(decodeAgentFormMeta(encodeAgentFormMeta({ ...meta, responseUrl: 'javascript:alert(1)' }))).toEqual({
      ...control,
      onHome: false,
    });
  });

  it('opens with the agent as it is, within a modal’s limits', () => {
    const a = agent(1);
    const meta = { agentId: a.agentId, version: a.version, page: 0, onHome: true };
    const view = editAgentModal(a, meta);
    expect(viewError(view, 'modal')).toBeNull();
    expect(view.callback_id).toBe(AgentControlIds.editModal);
    expect(decodeAgentFormMeta(view.private_metadata)).toEqual(meta);
    const input = (block: string) => view.blocks.find((b: any) => b.block_id === block) as any;
    expect(input(AgentControlIds.titleBlock).element.initial_value).toBe(a.title);
    expect(input(AgentControlIds.personaBlock).element.initial_value).toBe(a.persona);
    expect(input(AgentControlIds.skillsBlock).element.initial_value).toBe(a.skills.join(', '));
    expect(input(AgentControlIds.skillsBlock).optional).toBe(true);
  });

  it('keeps every id in the table the app counts among the ids it answers', () => {
    expect(Object.values(AgentIds)).toEqual(expect.arrayContaining(Object.values(AgentControlIds)));
    expect(new Set(Object.values(AgentIds)).size).toBe(Object.values(AgentIds).length);
  });
});

describe('the Home tab with the roster', () => {
  const run = (n: number): HomeRun => ({
    orchestrationId: idOf(n) as OrchestrationId,
    revision: 1,
    goal: LONG,
    status: 'executing',
    spentUsd: 1,
    maxUsd: 5,
    createdAt: new Date(),
    channelId: 'C0123456789',
    teamId: 'T0123456789',
  });

  it('draws a page of the roster below 20 runs, within the Home tab’s 100 blocks', () => {
    const view = homeView({
      runs: Array.from({ length: 25 }, (_, i) => run(i + 1)),
      total: 40,
      now: new Date(),
      roster: page(),
    });
    expect(viewError(view, 'home')).toBeNull();
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    for (const v of blockKitViolations({ text: '', blocks: view.blocks })) {
      expect(v).toMatch(/blocks \(max 50\)|characters of block text/);
    }
    const text = JSON.stringify(view.blocks);
    expect(text.indexOf('Your orchestrations')).toBeLessThan(text.indexOf('"Agents"'));
    // The runs' Details buttons are the only accessories: the roster's buttons sit in rows of their own.
    expect(view.blocks.filter((b: any) => b.accessory)).toHaveLength(20);
  });
});
