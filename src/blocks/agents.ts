/**
 * The roster in Slack, drawn from plain data: one page of agents (persona, skills, and what each
 * did: models, tools, runs, spend), Edit and Retire for approvers, paging, and the Edit modal. The
 * same blocks serve the ephemeral answer to `/orchestrate agents` and the Home tab.
 */
import type { ActionsBlock, Button, KnownBlock, ModalView } from '@slack/types';
import { AgentControlIds } from './agentIds.js';
import { formatUsd, plain, safeMrkdwn } from './text.js';

/**
 * Agents drawn per page: each takes a section and, for approvers, a row of buttons, and the page
 * must stay under Slack's 50 blocks and about 11k characters of a message at the longest texts.
 */
export const ROSTER_PAGE_SIZE = 6;

export const AGENT_LIMITS = { title: 120, persona: 2000, skills: 12, skill: 80 } as const;

export interface AgentRecordView {
  models: string[];
  tools: string[];
  runsDone: number;
  spentUsd: number;
}

export interface RosterAgentView {
  agentId: string;
  /** The version the buttons are drawn for: a click on an older one changes nothing. */
  version: number;
  name: string;
  title: string;
  persona: string;
  skills: string[];
  hired: boolean;
  record: AgentRecordView;
}

export interface RosterPageView {
  agents: RosterAgentView[];
  /** 0-based, within 0…pageCount-1. */
  page: number;
  pageCount: number;
  total: number;
  /** Approvers get Edit and Retire on each agent. */
  canManage: boolean;
  /** What just happened (an edit saved, a click that came too late), shown above the agents. */
  notice?: string | null;
}

/** What an agent's buttons carry: which agent, the version they were drawn for, and the page to redraw. */
export interface AgentControl {
  agentId: string;
  version: number;
  page: number;
}

/** What the Edit modal carries: its agent, and where to redraw the roster once saved. */
export interface AgentFormMeta extends AgentControl {
  onHome: boolean;
  responseUrl?: string;
}

const OBJECT_ID = /^[a-f0-9]{24}$/;
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;

export function encodeAgentControl(control: AgentControl): string {
  return JSON.stringify(control);
}

function parseObject(raw: string | undefined): Record<string, unknown> | null {
  if (!raw) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function decodeAgentControl(raw: string | undefined): AgentControl | null {
  const v = parseObject(raw);
  if (!v || typeof v.agentId !== 'string' || !OBJECT_ID.test(v.agentId)) return null;
  if (!isCount(v.version) || !isCount(v.page)) return null;
  return { agentId: v.agentId, version: v.version, page: v.page };
}

export function encodeAgentFormMeta(meta: AgentFormMeta): string {
  return JSON.stringify(meta);
}

export function decodeAgentFormMeta(raw: string | undefined): AgentFormMeta | null {
  const control = decodeAgentControl(raw);
  const v = parseObject(raw);
  if (!control || !v) return null;
  const url = v.responseUrl;
  const validUrl = typeof url === 'string' && /^https?:\/\//.test(url) && url.length <= 1000;
  return { ...control, onHome: v.onHome === true, ...(validUrl ? { responseUrl: url } : {}) };
}

/** The page a paging button leads to, or null when the value is not one of ours. */
export function decodePage(raw: string | undefined): number | null {
  const page = parseObject(raw)?.page;
  return isCount(page) ? page : null;
}

const plainText = (text: string) => ({ type: 'plain_text' as const, text });
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** A short list, capped, saying how many more it left out. */
function listText(items: readonly string[], max: number): string {
  const shown = items.slice(0, max).map((i) => safeMrkdwn(plain(i, 40), 50));
  const more = items.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function recordText(record: AgentRecordView): string {
  if (record.runsDone === 0 && record.spentUsd === 0 && record.models.length === 0) return '_No runs yet._';
  const runs = `${record.runsDone} run${record.runsDone === 1 ? '' : 's'} done`;
  const models = record.models.length ? ` · models: ${listText(record.models, 2)}` : '';
  const tools = ` · tools: ${record.tools.length ? listText(record.tools, 4) : 'none'}`;
  return `${runs} · ${formatUsd(record.spentUsd)} spent${models}${tools}`;
}

function agentText(agent: RosterAgentView): string {
  const head = `*${safeMrkdwn(plain(agent.name, 80), 120)}* · ${safeMrkdwn(plain(agent.title, 120), 180)}`;
  const origin = agent.hired ? ' · _hired for a plan_' : '';
  const skills = agent.skills.length ? listText(agent.skills, 5) : '_none listed_';
  return [
    `${head}${origin}`,
    safeMrkdwn(plain(agent.persona, 300), 300),
    `*Skills:* ${skills}`,
    `*Work:* ${recordText(agent.record)}`,
  ].join('\n');
}

function agentButtons(agent: RosterAgentView, page: number): ActionsBlock {
  const value = encodeAgentControl({ agentId: agent.agentId, version: agent.version, page });
  const name = plain(agent.name, 60);
  return {
    type: 'actions',
    elements: [
      { type: 'button', action_id: AgentControlIds.edit, text: plainText('Edit'), value },
      {
        type: 'button',
        action_id: AgentControlIds.retire,
        text: plainText('Retire'),
        style: 'danger',
        value,
        confirm: {
          title: plainText('Retire this agent?'),
          text: plainText(
            `${name} will never be proposed again and leaves Swap role's choices. Runs that used ${name} keep its name.`,
          ),
          confirm: plainText('Retire'),
          deny: plainText('Keep'),
          style: 'danger',
        },
      },
    ],
  };
}

function pageButtons(view: RosterPageView): ActionsBlock | null {
  const buttons: Button[] = [];
  if (view.page > 0) {
    buttons.push({
      type: 'button',
      action_id: AgentControlIds.previousPage,
      text: plainText('Previous'),
      value: JSON.stringify({ page: view.page - 1 }),
    });
  }
  if (view.page < view.pageCount - 1) {
    buttons.push({
      type: 'button',
      action_id: AgentControlIds.nextPage,
      text: plainText('Next'),
      value: JSON.stringify({ page: view.page + 1 }),
    });
  }
  return buttons.length ? { type: 'actions', elements: buttons } : null;
}

/** The roster's blocks: the heading, the page's agents, and how to reach the rest. */
export function rosterBlocks(view: RosterPageView): KnownBlock[] {
  const blocks: KnownBlock[] = [{ type: 'header', text: plainText('Agents') }];
  if (view.notice) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: view.notice.slice(0, 500) } });
  if (view.total === 0) {
    blocks.push(context('No agents yet: the CEO agent hires them as plans are approved, and they join the roster.'));
    return blocks;
  }
  const first = view.page * ROSTER_PAGE_SIZE + 1;
  const last = first + view.agents.length - 1;
  const range = view.pageCount > 1 ? `${first}–${last} of ${view.total}` : `${view.total}`;
  const who = view.canManage
    ? 'As an approver you can edit or retire them.'
    : 'Only approvers (ORCHESTRATE_APPROVERS) can edit or retire them.';
  blocks.push(context(`Agents ${range}, by name. ${who}`), { type: 'divider' });
  for (const agent of view.agents.slice(0, ROSTER_PAGE_SIZE)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: agentText(agent) } });
    if (view.canManage) blocks.push(agentButtons(agent, view.page));
  }
  const more = view.total - last;
  const paging = pageButtons(view);
  if (more > 0) blocks.push(context(`…and ${more} more agent${more === 1 ? '' : 's'}.`));
  if (paging) blocks.push(paging);
  return blocks;
}

/** The roster as an ephemeral message. */
export function rosterMessage(view: RosterPageView): { text: string; blocks: KnownBlock[] } {
  return { text: `The roster: ${view.total} agent${view.total === 1 ? '' : 's'}.`, blocks: rosterBlocks(view) };
}

export interface EditableAgent {
  name: string;
  title: string;
  persona: string;
  skills: string[];
}

/** The Edit modal: title, persona and skills. The name stays, since plans and runs name agents by it. */
export function editAgentModal(agent: EditableAgent, meta: AgentFormMeta): ModalView {
  const input = (block: string, action: string, label: string, value: string, max: number, multiline = false) => ({
    type: 'input' as const,
    block_id: block,
    label: plainText(label),
    element: {
      type: 'plain_text_input' as const,
      action_id: action,
      max_length: max,
      multiline,
      ...(value ? { initial_value: value.slice(0, max) } : {}),
    },
  });
  const ids = AgentControlIds;
  return {
    type: 'modal',
    callback_id: ids.editModal,
    private_metadata: encodeAgentFormMeta(meta),
    title: plainText('Edit agent'),
    submit: plainText('Save'),
    close: plainText('Cancel'),
    blocks: [
      context(
        `*${safeMrkdwn(plain(agent.name, 80), 120)}*: the name stays, since plans and past runs refer to it. ` +
          'Plans made from now on see the new title, persona and skills.',
      ),
      input(ids.titleBlock, ids.titleInput, 'Title', agent.title, AGENT_LIMITS.title),
      input(ids.personaBlock, ids.personaInput, 'Persona', agent.persona, AGENT_LIMITS.persona, true),
      {
        ...input(ids.skillsBlock, ids.skillsInput, 'Skills (comma-separated)', agent.skills.join(', '), 1000),
        optional: true,
      },
    ],
  };
}
