/**
 * The App Home tab (a person's recent orchestrations, then the roster) and a run's detail modal
 * (each step's role, agent, status, timing, tokens and cost, the total and the rating), drawn from
 * plain data.
 */
import type { HomeView, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import type { OrchestrationId } from '../engine/plan/ids.js';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { ActionIds, encodeControlValue, ViewIds } from './actionIds.js';
import { type RosterPageView, rosterBlocks } from './agents.js';
import { STATUS_LABELS } from './proposal.js';
import { type ScheduleLine, scheduleBlocks } from './schedules.js';
import { type TemplateLine, templateBlock } from './templates.js';
import { formatDuration, formatUsd, plain, safeMrkdwn } from './text.js';

/** The Home tab lists at most this many runs (Slack allows 100 blocks; each run takes two). */
export const HOME_RUN_LIMIT = 20;
/** Steps drawn one section each in the detail modal; more are counted, not drawn (100 blocks). */
const DETAIL_STEP_LIMIT = 80;

/** Where a run was asked for: its channel and workspace. */
export interface RunPlace {
  channelId: string;
  teamId: string | null;
}

export interface HomeRun extends RunPlace {
  orchestrationId: OrchestrationId;
  revision: number;
  goal: string;
  status: OrchestrationStatus;
  spentUsd: number;
  maxUsd: number;
  createdAt: Date;
}

export interface HomeViewData {
  /** Newest first; only the first HOME_RUN_LIMIT are drawn. */
  runs: HomeRun[];
  /** How many orchestrations the person has in all. */
  total: number;
  now: Date;
  /** One page of the roster, drawn below the runs; left out when absent. */
  roster?: RosterPageView;
  /** The saved plans of the person's workspaces, drawn between the runs and the roster. */
  templates?: TemplateLine[];
  /** Their recurring goals, below the saved plans. */
  schedules?: ScheduleLine[];
}

export interface RunDetailStep {
  title: string;
  /** The role's title, or null for steps no role runs (the closing step). */
  role: string | null;
  agent: string | null;
  status: string;
  startedAt: Date | null;
  /** From start to finish, or null while it has not finished. */
  durationMs: number | null;
  tokens: { input: number; output: number; cached: number };
  costUsd: number;
}

export interface RunDetailData extends RunPlace {
  orchestrationId: OrchestrationId;
  revision: number;
  goal: string;
  status: OrchestrationStatus;
  steps: RunDetailStep[];
  /** Everything spent on the orchestration, planning included. */
  totalUsd: number;
  maxUsd: number;
  feedback: { rating: 'positive' | 'negative'; by: string } | null;
}

const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });
const section = (text: string): SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/**
 * A link to the channel the run lives in: Slack's documented `app_redirect` URL (channel and,
 * when known, team), which works in every client without an API call. It opens the channel;
 * Slack documents no redirect parameter for a message.
 */
export function channelLink(place: RunPlace): string {
  const team = place.teamId ? `&team=${encodeURIComponent(place.teamId)}` : '';
  return `https://slack.com/app_redirect?channel=${encodeURIComponent(place.channelId)}${team}`;
}

/** "just now", "5m ago", "3h ago", "12d ago": how long before `now`. */
export function age(then: Date, now: Date): string {
  const minutes = Math.floor((now.getTime() - then.getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ago`;
  return `${Math.floor(hours / 24)}d ago`;
}

function detailButton(run: { orchestrationId: OrchestrationId; revision: number }) {
  return {
    type: 'button' as const,
    action_id: ActionIds.openRunDetail,
    text: plainText('Details'),
    value: encodeControlValue({ orchestrationId: run.orchestrationId, revision: run.revision }),
  };
}

function placeText(place: RunPlace): string {
  return `in <#${place.channelId}> (<${channelLink(place)}|open the channel>)`;
}

export function homeView(view: HomeViewData): HomeView {
  const blocks: KnownBlock[] = [{ type: 'header', text: plainText('Your orchestrations') }, ...runBlocks(view)];
  if (view.templates?.length) {
    const shown = view.templates.slice(0, 5);
    blocks.push({ type: 'divider' }, { type: 'header', text: plainText('Saved plans') }, ...shown.map(templateBlock));
    if (view.templates.length > shown.length)
      blocks.push(context(`…and ${view.templates.length - shown.length} more.`));
  }
  if (view.schedules?.length) {
    const shown = view.schedules.slice(0, 5);
    blocks.push({ type: 'header', text: plainText('Recurring goals') }, ...shown.flatMap(scheduleBlocks));
  }
  if (view.roster) blocks.push({ type: 'divider' }, ...rosterBlocks(view.roster));
  return { type: 'home', blocks };
}

function runBlocks(view: HomeViewData): KnownBlock[] {
  if (view.runs.length === 0) {
    return [
      section(
        'You have no orchestrations yet.\nStart one in any channel the app is in: `/orchestrate &lt;goal&gt;`, ' +
          'for example `/orchestrate Compare the three cheapest CRM tools for a 10-person team`. ' +
          'A plan comes back for you to review, then the team runs it and posts the deliverable in the thread.',
      ),
    ];
  }
  const shown = view.runs.slice(0, HOME_RUN_LIMIT);
  const blocks: KnownBlock[] = [context(`Your ${shown.length} most recent, newest first.`), { type: 'divider' }];
  for (const run of shown) {
    const text =
      `*${STATUS_LABELS[run.status]}*\n${safeMrkdwn(plain(run.goal, 2000), 600)}\n` +
      `Spend ${formatUsd(run.spentUsd)} of ${formatUsd(run.maxUsd)} · ${age(run.createdAt, view.now)} · ${placeText(run)}`;
    blocks.push({ ...section(text), accessory: detailButton(run) });
  }
  const more = Math.max(0, view.total - shown.length);
  if (more > 0) blocks.push(context(`…and ${more} older orchestration${more === 1 ? '' : 's'} not shown.`));
  return blocks;
}

function feedbackText(feedback: RunDetailData['feedback']): string {
  if (!feedback) return 'No rating yet';
  return `${feedback.rating === 'positive' ? ':+1:' : ':-1:'} by <@${feedback.by}>`;
}

function tokensText(t: RunDetailStep['tokens']): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return `${n(t.input)} in · ${n(t.output)} out${t.cached ? ` · ${n(t.cached)} cached` : ''}`;
}

/** A start time every reader sees in their own time zone, with a UTC fallback. */
function startText(at: Date | null): string {
  if (!at) return 'not started';
  const seconds = Math.floor(at.getTime() / 1000);
  const fallback = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${seconds}^{date_short_pretty} {time}|${fallback}>`;
}

function stepSection(step: RunDetailStep, index: number): SectionBlock {
  const field = (label: string, value: string) => ({ type: 'mrkdwn' as const, text: `*${label}*\n${value}` });
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: `*${index + 1}. ${safeMrkdwn(plain(step.title, 1000), 300)}*` },
    fields: [
      field('Role', step.role ? safeMrkdwn(step.role, 150) : '—'),
      field('Agent', step.agent ? safeMrkdwn(step.agent, 150) : '—'),
      field('Status', safeMrkdwn(step.status, 40)),
      field('Started', startText(step.startedAt)),
      field('Duration', step.durationMs === null ? '—' : formatDuration(step.durationMs)),
      field('Tokens', tokensText(step.tokens)),
      field('Cost', formatUsd(step.costUsd)),
    ],
  };
}

export function runDetailModal(detail: RunDetailData): ModalView {
  const { steps } = detail;
  const blocks: KnownBlock[] = [
    { type: 'header', text: plainText(plain(detail.goal, 150)) },
    context(
      `*${STATUS_LABELS[detail.status]}* · spent ${formatUsd(detail.totalUsd)} of ${formatUsd(detail.maxUsd)} · ` +
        `rating: ${feedbackText(detail.feedback)} · ${placeText(detail)}`,
    ),
    { type: 'divider' },
  ];
  if (steps.length === 0) {
    blocks.push(section('No steps yet: the run starts once the plan is approved.'));
  }
  steps.slice(0, DETAIL_STEP_LIMIT).forEach((step, i) => {
    blocks.push(stepSection(step, i));
  });
  if (steps.length > DETAIL_STEP_LIMIT) {
    blocks.push(context(`…and ${steps.length - DETAIL_STEP_LIMIT} more steps not shown.`));
  }
  const stepsUsd = steps.reduce((sum, s) => sum + s.costUsd, 0);
  const tokens = steps.reduce(
    (t, s) => ({
      input: t.input + s.tokens.input,
      output: t.output + s.tokens.output,
      cached: t.cached + s.tokens.cached,
    }),
    { input: 0, output: 0, cached: 0 },
  );
  blocks.push({ type: 'divider' });
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: '*Total*' },
    fields: [
      { type: 'mrkdwn', text: `*Steps*\n${steps.length} · ${formatUsd(stepsUsd)}` },
      { type: 'mrkdwn', text: `*Tokens*\n${tokensText(tokens)}` },
      {
        type: 'mrkdwn',
        text: `*Spent in all (planning included)*\n${formatUsd(detail.totalUsd)} of ${formatUsd(detail.maxUsd)} cap`,
      },
      { type: 'mrkdwn', text: `*Feedback*\n${feedbackText(detail.feedback)}` },
    ],
  });
  return {
    type: 'modal',
    callback_id: ViewIds.runDetail,
    title: plainText('Run detail'),
    close: plainText('Close'),
    private_metadata: encodeControlValue({ orchestrationId: detail.orchestrationId, revision: detail.revision }),
    blocks,
  };
}

/** A short modal that answers a click from the Home tab, where there is no response_url to reply through. */
export function noticeModal(text: string): ModalView {
  return {
    type: 'modal',
    title: plainText('Orchestrate'),
    close: plainText('Close'),
    blocks: [section(safeMrkdwnKeepingMentions(text))],
  };
}

/** Replies are already mrkdwn (they may name the requester with <@U…>): only bound their length. */
function safeMrkdwnKeepingMentions(text: string): string {
  return text.length <= 3000 ? text : `${text.slice(0, 2999)}…`;
}
