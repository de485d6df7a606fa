/**
 * The live run card: the first reply in a run's thread, updated in place as the run goes. It shows
 * every step's state, agent, duration and cost, the spend against the cap and the elapsed time,
 * drawn as Slack's `plan` block of task cards, or as mrkdwn sections where a workspace refuses those.
 */
import type { ActionsBlock, KnownBlock, PlanBlock, SectionBlock, TaskCardBlock, URLSourceElement } from '@slack/types';
import type { OrchestrationId } from '../engine/plan/ids.js';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { encodeControlValue } from './actionIds.js';
import { type SlackMessage, STATUS_LABELS } from './proposal.js';
import { runControls } from './steering.js';
import { fallbackText, formatDuration, formatUsd, neutralizeMentions, plain, safeMrkdwn } from './text.js';
import { type TeamMember, teamFormedText } from './thread.js';

export type RunCardStepState = 'waiting' | 'running' | 'done' | 'failed' | 'skipped';

export interface RunCardStep {
  key: string;
  title: string;
  kind: 'research' | 'discuss' | 'people' | 'ticket' | 'synthesis';
  role: string;
  agent: string;
  state: RunCardStepState;
  durationMs: number | null;
  costUsd: number;
  /** Short status detail: the failure reason, the skip reason, or a running note. */
  note?: string | null;
  /** Sources the step retrieved (URLs with titles), when it has any. */
  sources?: { url: string; title: string }[];
}

export interface RunCardView {
  orchestrationId: OrchestrationId;
  revision: number;
  status: OrchestrationStatus;
  goal: string;
  steps: RunCardStep[];
  spentUsd: number;
  maxUsd: number;
  elapsedMs: number | null;
  /** The team, shown at the head of the card. */
  team?: { name: string; members: TeamMember[] } | null;
  /** The run waits for people after the discussion (Start the work). */
  waitingForPeople?: boolean;
  /** Someone paused the run (Resume). */
  paused?: boolean;
}

/** `plan`: one plan block of task cards. `sections`: mrkdwn, for workspaces that refuse agent blocks. */
export type RunCardStyle = 'plan' | 'sections';

/** task_card has no "skipped": a skipped step is over, so it shows as complete and its details say "skipped". */
export const TASK_STATUS: Record<RunCardStepState, TaskCardBlock['status']> = {
  waiting: 'pending',
  running: 'in_progress',
  done: 'complete',
  failed: 'error',
  skipped: 'complete',
};

export const STEP_STATE_ICONS: Record<RunCardStepState, string> = {
  waiting: ':white_circle:',
  running: ':large_blue_circle:',
  done: ':large_green_circle:',
  failed: ':red_circle:',
  skipped: ':heavy_minus_sign:',
};

/**
 * Characters shared by all steps' titles, details and notes, and (apart) by their sources: with
 * the status line, what keeps a 26-step run under the ~11k at which Slack refuses a message.
 */
const STEPS_BUDGET = 7800;
const SOURCES_BUDGET = 1500;
const SOURCES_PER_STEP = 3;
const SECTION_MAX = 3000;

export function runCardMessage(view: RunCardView, style: RunCardStyle): SlackMessage {
  const perStep = Math.min(1000, Math.max(120, Math.floor(STEPS_BUDGET / Math.max(1, view.steps.length))));
  const sources = sourceAllowance(view.steps);
  const blocks: KnownBlock[] = [
    ...(view.team ? [section(teamFormedText(view.team.name, view.team.members))] : []),
    section(statusLine(view)),
  ];
  if (style === 'plan') {
    blocks.push(planBlock(view, perStep, sources));
  } else {
    blocks.push(...stepSections(view.steps, perStep, sources));
  }
  const actions = runCardActions(view);
  if (actions) blocks.push(actions);
  const label = STATUS_LABELS[view.status].replace(/:[a-z_]+: /, '');
  const team = view.team ? `Team ${fallbackText(view.team.name, 80)} formed · ` : '';
  const text = `${team}${label}: spent ${formatUsd(view.spentUsd)} of ${formatUsd(view.maxUsd)} · ${fallbackText(view.goal, 150)}`;
  return { text, blocks };
}

/** Start the work while the run waits for people; Pause or Resume while it runs. */
function runCardActions(view: RunCardView): ActionsBlock | null {
  const running = view.status === 'approved' || view.status === 'executing' || view.status === 'synthesizing';
  if (!running) return null;
  const value = encodeControlValue({ orchestrationId: view.orchestrationId, revision: view.revision });
  return runControls(value, {
    waitingForPeople: view.waitingForPeople === true,
    paused: view.paused === true,
    running,
  });
}

function statusLine(view: RunCardView): string {
  const done = view.steps.filter((s) => s.state === 'done').length;
  const parts = [
    `*${STATUS_LABELS[view.status]}*`,
    ...(view.paused ? ['*:double_vertical_bar: paused*'] : []),
    ...(view.waitingForPeople ? ['*:raised_hand: waiting for people: reply in the thread, then Start the work*'] : []),
    `${done}/${view.steps.length} steps done`,
    `spend ${formatUsd(view.spentUsd)} of ${formatUsd(view.maxUsd)}`,
  ];
  if (view.elapsedMs !== null) parts.push(`elapsed ${formatDuration(view.elapsedMs)}`);
  return `${parts.join(' · ')}\n*Goal:* ${safeMrkdwn(view.goal, 300)}`;
}

// ---- plan style ----

function planBlock(view: RunCardView, perStep: number, sources: Map<RunCardStep, SafeSource[]>): PlanBlock {
  const used = new Set<string>();
  const tasks = view.steps.map((step, index): TaskCardBlock => {
    const title = plainSafe(step.title, Math.min(150, Math.floor(perStep * 0.4))) || `Step ${index + 1}`;
    const meta = metaParts(step).join(' · ');
    const head = stateHead(step);
    const room = perStep - title.length - meta.length - head.length - 2;
    const note = step.note && room >= 20 ? plainSafe(step.note, room) : '';
    const elements: { type: 'text'; text: string; style?: { bold: boolean } }[] = [{ type: 'text', text: meta }];
    if (head || note) elements.push({ type: 'text', text: '\n' });
    if (head) elements.push({ type: 'text', text: note ? `${head}: ` : head, style: { bold: true } });
    if (note) elements.push({ type: 'text', text: note });
    const card: TaskCardBlock = {
      type: 'task_card',
      task_id: taskId(step.key, index, used),
      title,
      status: TASK_STATUS[step.state],
      details: { type: 'rich_text', elements: [{ type: 'rich_text_section', elements }] },
    };
    const urls = sources.get(step) ?? [];
    if (urls.length) card.sources = urls.map((s): URLSourceElement => ({ type: 'url', url: s.url, text: s.title }));
    return card;
  });
  const done = view.steps.filter((s) => s.state === 'done').length;
  return { type: 'plan', title: `Steps · ${done} of ${view.steps.length} done`, tasks };
}

/** Slack's ids: letters, digits, "_" and "-", unique within the plan. */
function taskId(key: string, index: number, used: Set<string>): string {
  let id = key.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || `step_${index + 1}`;
  if (used.has(id)) id = `${id.slice(0, 56)}_${index + 1}`;
  used.add(id);
  return id;
}

/** For plain-text fields (task titles, rich_text text): one line, nothing that could mention anyone. */
function plainSafe(text: string, max: number): string {
  return plain(neutralizeMentions(text), max);
}

/** "role · agent · duration · cost", each part plain and short. */
function metaParts(step: RunCardStep, show: (text: string, max: number) => string = plainSafe): string[] {
  const parts = [show(step.role, 40), show(step.agent, 40)];
  if (step.durationMs !== null) parts.push(formatDuration(step.durationMs));
  if (step.state !== 'waiting' || step.costUsd > 0) parts.push(formatUsd(step.costUsd));
  return parts.filter(Boolean);
}

/** What the state adds to the details: "failed", "skipped", "running" (with the note), or nothing. */
function stateHead(step: RunCardStep): string {
  if (step.state === 'failed' || step.state === 'skipped') return step.state;
  if (step.state === 'running' && step.note) return 'running';
  return '';
}

// ---- sections style ----

function stepSections(steps: RunCardStep[], perStep: number, sources: Map<RunCardStep, SafeSource[]>): SectionBlock[] {
  const lines = steps.map((step, index) => {
    const title = safeMrkdwn(plain(step.title, 400), Math.min(150, Math.floor(perStep * 0.4))) || `Step ${index + 1}`;
    const meta = metaParts(step, (text, max) => safeMrkdwn(plain(text, max * 2), max)).join(' · ');
    let line = `${STEP_STATE_ICONS[step.state]} *${index + 1}. ${title}* · _${step.state}_ · ${meta}`;
    const room = perStep - title.length - meta.length - 20;
    if (step.note && room >= 20) line += `\n      ${safeMrkdwn(plain(step.note, room * 2), room)}`;
    const urls = sources.get(step) ?? [];
    if (urls.length) {
      line += `\n      Sources: ${urls.map((s) => `<${s.url}|${safeMrkdwn(s.title, 80)}>`).join(', ')}`;
    }
    return line;
  });
  const out: SectionBlock[] = [];
  let current = '';
  for (const line of lines) {
    const piece = line.slice(0, SECTION_MAX);
    if (current && current.length + 1 + piece.length > SECTION_MAX) {
      out.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${piece}` : piece;
  }
  if (current) out.push(section(current));
  return out;
}

// ---- sources, shared by both styles ----

interface SafeSource {
  url: string;
  title: string;
}

/**
 * The sources each step may show: http(s) URLs that need no escaping, at most a few per step,
 * within one budget for the whole card, first steps first.
 */
function sourceAllowance(steps: RunCardStep[]): Map<RunCardStep, SafeSource[]> {
  const out = new Map<RunCardStep, SafeSource[]>();
  let left = SOURCES_BUDGET;
  for (const step of steps) {
    const shown: SafeSource[] = [];
    for (const source of step.sources ?? []) {
      if (shown.length >= SOURCES_PER_STEP) break;
      if (!/^https?:\/\/[^\s<>|]+$/.test(source.url) || source.url.length > 400) continue;
      const title = plainSafe(source.title, 80).replace(/[<>|]/g, ' ').trim() || hostOf(source.url);
      // Counted at its escaped length, the longer of the two styles.
      const cost = source.url.length + title.length * 2 + 6;
      if (cost > left) break;
      left -= cost;
      shown.push({ url: source.url, title });
    }
    if (shown.length) out.set(step, shown);
  }
  return out;
}

function hostOf(url: string): string {
  return url.replace(/^https?:\/\//, '').split('/')[0] ?? url;
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}
