/**
 * Messages posted in the run's thread: the team, each role's position, each step's result,
 * the deliverable, and the closing summary. Long Markdown is split across messages rather
 * than cut, because Slack refuses a message of more than about 12k characters of blocks.
 */
import type { KnownBlock } from '@slack/types';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { raiseCapButton, type SlackMessage } from './proposal.js';
import { fallbackText, formatDuration, formatUsd, neutralizeMentions, safeMrkdwn, splitMarkdown } from './text.js';

/** Markdown per message: well under Slack's ~11k-character failure point for a message's blocks. */
export const MARKDOWN_CHUNK = 9000;

const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

export interface TeamMember {
  roleTitle: string;
  agentName: string;
  hired: boolean;
}

export function teamFormedMessage(teamName: string, members: TeamMember[], stepCount: number): SlackMessage {
  const lines = members.map(
    (m) => `• *${safeMrkdwn(m.roleTitle, 120)}*: ${safeMrkdwn(m.agentName, 80)}${m.hired ? ' _(new hire)_' : ''}`,
  );
  return {
    text: `Team ${fallbackText(teamName, 80)} formed; ${stepCount} steps to run`,
    blocks: [
      section(`:busts_in_silhouette: *Team ${safeMrkdwn(teamName, 120)}* formed\n${lines.join('\n')}`.slice(0, 3000)),
      context(`${stepCount} steps to run`),
    ],
  };
}

export interface StepFigures {
  costUsd: number;
  durationMs: number | null;
  model: string | null;
}

function figures(f: StepFigures): string {
  return [formatUsd(f.costUsd), f.durationMs !== null ? formatDuration(f.durationMs) : null, f.model]
    .filter(Boolean)
    .join(' · ');
}

export function positionMessage(
  roleTitle: string,
  agentName: string,
  position: string,
  risks: string[],
  f: StepFigures,
): SlackMessage {
  const body = `**Position**\n\n${position}${risks.length ? `\n\n**Risks**\n${risks.map((r) => `- ${r}`).join('\n')}` : ''}`;
  return {
    text: `${fallbackText(agentName, 80)} (${fallbackText(roleTitle, 80)}) states a position`,
    blocks: [
      section(`:speech_balloon: *${safeMrkdwn(agentName, 80)}* · ${safeMrkdwn(roleTitle, 120)}`),
      { type: 'markdown', text: neutralizeMentions(splitMarkdown(body, MARKDOWN_CHUNK)[0]!) },
      context(figures(f)),
    ],
  };
}

/** One step's result, as one or more messages (the first carries the heading and figures). */
export function stepResultMessages(title: string, agentName: string, output: string, f: StepFigures): SlackMessage[] {
  const chunks = splitMarkdown(output || '_(empty result)_', MARKDOWN_CHUNK);
  return chunks.map((chunk, i) => ({
    text:
      i === 0 ? `Done: ${fallbackText(title, 150)}` : `${fallbackText(title, 150)} (part ${i + 1} of ${chunks.length})`,
    blocks: [
      ...(i === 0 ? [section(`:white_check_mark: *${safeMrkdwn(title, 200)}* · ${safeMrkdwn(agentName, 80)}`)] : []),
      { type: 'markdown', text: neutralizeMentions(chunk) } as KnownBlock,
      ...(i === 0 ? [context(figures(f))] : [context(`part ${i + 1} of ${chunks.length}`)]),
    ],
  }));
}

export function stepFailedMessage(
  title: string,
  agentName: string | null,
  reason: string,
  f: StepFigures,
): SlackMessage {
  return {
    text: `Failed: ${fallbackText(title, 150)}`,
    blocks: [
      section(
        `:red_circle: *${safeMrkdwn(title, 200)}* failed${agentName ? ` · ${safeMrkdwn(agentName, 80)}` : ''}\n${safeMrkdwn(reason, 2000)}`,
      ),
      context(`${figures(f)} · the other tickets go on; synthesis will name the gap`),
    ],
  };
}

export function deliverableMessages(deliverable: string, gaps: string[], f: StepFigures): SlackMessage[] {
  const gapText = gaps.length ? `\n\n---\n**Known gaps**\n${gaps.map((g) => `- ${g}`).join('\n')}` : '';
  const chunks = splitMarkdown(`${deliverable}${gapText}`, MARKDOWN_CHUNK);
  return chunks.map((chunk, i) => ({
    text: i === 0 ? 'The deliverable' : `The deliverable (part ${i + 1} of ${chunks.length})`,
    blocks: [
      ...(i === 0 ? [section(':page_facing_up: *The deliverable*')] : []),
      { type: 'markdown', text: neutralizeMentions(chunk) } as KnownBlock,
      context(i === 0 ? `synthesis · ${figures(f)}` : `part ${i + 1} of ${chunks.length}`),
    ],
  }));
}

export interface RunSummary {
  status: OrchestrationStatus;
  reason: string | null;
  spentUsd: number;
  maxUsd: number;
  durationMs: number | null;
  by: string | null;
  /** When the budget stopped the run: the value for a "Raise cap and continue" button. */
  raiseCapValue?: string | null;
}

export function runEndedMessage(s: RunSummary): SlackMessage {
  const head: Record<string, string> = {
    completed: ':tada: *Completed*',
    failed: ':x: *Failed*',
    cancelled: `:no_entry_sign: *Cancelled*${s.by ? ` by <@${s.by}>` : ''}`,
  };
  const title = head[s.status] ?? `*${s.status}*`;
  const why = s.reason && s.status !== 'completed' ? `\n${safeMrkdwn(s.reason, 2000)}` : '';
  const took = s.durationMs !== null ? ` · took ${formatDuration(s.durationMs)}` : '';
  return {
    text: `${s.status}: spent ${formatUsd(s.spentUsd)} of ${formatUsd(s.maxUsd)}`,
    blocks: [
      section(`${title}${why}`),
      context(`spent ${formatUsd(s.spentUsd)} of ${formatUsd(s.maxUsd)}${took}`),
      ...(s.raiseCapValue ? [{ type: 'actions', elements: [raiseCapButton(s.raiseCapValue)] } as KnownBlock] : []),
    ],
  };
}

/** Posted once, when spend first reaches 80% of the cap. */
export function nearCapMessage(spentUsd: number, maxUsd: number): SlackMessage {
  const pct = Math.floor((100 * spentUsd) / maxUsd);
  return {
    text: `${pct}% of the budget is spent`,
    blocks: [
      section(
        `:warning: *${pct}% of the budget is spent*: ${formatUsd(spentUsd)} of ${formatUsd(maxUsd)}. ` +
          'The cap is a hard ceiling: calls that could pass it will not be made.',
      ),
    ],
  };
}

export function capRaisedMessage(newCapUsd: number, by: string): SlackMessage {
  return {
    text: `Cap raised to ${formatUsd(newCapUsd)}; continuing`,
    blocks: [
      section(
        `:arrow_forward: <@${by}> raised the cap to *${formatUsd(newCapUsd)}*. ` +
          'Continuing where the run stopped; finished steps are kept.',
      ),
    ],
  };
}
