/**
 * The answer to `/orchestrate status`: the caller's open orchestrations (planning to
 * synthesizing), each with its status, goal, spend, age, a link to its proposal message and the
 * id that `/orchestrate cancel` takes. Drawn from plain data.
 */
import type { KnownBlock } from '@slack/types';
import type { OrchestrationId } from '../engine/plan/ids.js';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { age } from './home.js';
import { STATUS_LABELS } from './proposal.js';
import { formatUsd, plain, safeMrkdwn } from './text.js';

/** Runs drawn, one section each; more are counted. Bounded by a message's ~11k characters. */
export const OPEN_RUNS_SHOWN = 15;

export interface OpenRun {
  orchestrationId: OrchestrationId;
  goal: string;
  status: OrchestrationStatus;
  spentUsd: number;
  maxUsd: number;
  createdAt: Date;
  channelId: string;
  /**
   * The proposal message's permalink; the channel's link when Slack gave none; null while planning
   * (no message yet).
   */
  link: { url: string; to: 'message' | 'channel' } | null;
  /** Set when the run is paused by someone. */
  paused: boolean;
}

export interface OpenRunsView {
  /** Newest first. */
  runs: OpenRun[];
  total: number;
  now: Date;
}

const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

function runText(run: OpenRun, now: Date): string {
  const where = !run.link
    ? `in <#${run.channelId}>, no proposal message yet`
    : run.link.to === 'message'
      ? `<${run.link.url}|open the proposal>`
      : `in <#${run.channelId}> (<${run.link.url}|open the channel>)`;
  const paused = run.paused ? ' · _paused_' : '';
  return (
    `*${STATUS_LABELS[run.status]}*${paused} · ${safeMrkdwn(plain(run.goal, 200), 300)}\n` +
    `${formatUsd(run.spentUsd)} of ${formatUsd(run.maxUsd)} · ${age(run.createdAt, now)} · ${where} · ` +
    `id \`${run.orchestrationId}\``
  );
}

export function openRunsMessage(view: OpenRunsView): { text: string; blocks: KnownBlock[] } {
  if (view.total === 0) {
    const text = 'You have no open orchestrations. Start one with `/orchestrate <goal>`.';
    return {
      text,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.replace('<goal>', '&lt;goal&gt;') } }],
    };
  }
  const shown = view.runs.slice(0, OPEN_RUNS_SHOWN);
  const count = `${view.total} open orchestration${view.total === 1 ? '' : 's'}`;
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*Your ${count}*, newest first:` } }];
  for (const run of shown) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: runText(run, view.now) } });
  const more = view.total - shown.length;
  if (more > 0) blocks.push(context(`…and ${more} older open orchestration${more === 1 ? '' : 's'} not shown.`));
  blocks.push(context('Cancel one with `/orchestrate cancel &lt;link or id&gt;`.'));
  return { text: `You have ${count}.`, blocks };
}
