/**
 * Messages posted in the run's thread: the team, each role's position, each step's result,
 * the deliverable, and the closing summary. Long Markdown is split across messages rather
 * than cut, because Slack refuses a message of more than about 12k characters of blocks.
 */
import type { KnownBlock } from '@slack/types';
import type { OrchestrationStatus } from '../engine/plan/status.js';
import { ActionIds } from './actionIds.js';
import { raiseCapButton, type SlackMessage } from './proposal.js';
import { type Citation, sourcesBlock, toolUseSummary } from './sources.js';
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

/** "Team X formed" with one line per member: the head of the run card. */
export function teamFormedText(teamName: string, members: TeamMember[]): string {
  const lines = members.map(
    (m) => `• *${safeMrkdwn(m.roleTitle, 120)}*: ${safeMrkdwn(m.agentName, 80)}${m.hired ? ' _(new hire)_' : ''}`,
  );
  return `:busts_in_silhouette: *Team ${safeMrkdwn(teamName, 120)}* formed\n${lines.join('\n')}`.slice(0, 2000);
}

export interface StepFigures {
  costUsd: number;
  durationMs: number | null;
  model: string | null;
  /** The step's tool calls, summed up in the figures line ("searched 3×, read 4 pages"). */
  toolCalls?: ReadonlyArray<{ tool: string; error: string | null }>;
  /** The sources its result cites, each retrieved in this run or not. */
  citations?: readonly Citation[];
}

function figures(f: StepFigures): string {
  return [
    formatUsd(f.costUsd),
    f.durationMs !== null ? formatDuration(f.durationMs) : null,
    f.model,
    toolUseSummary(f.toolCalls ?? []),
  ]
    .filter(Boolean)
    .join(' · ');
}

interface MarkdownMessages {
  /** The first message's heading (mrkdwn), and its figures line. */
  head: string;
  figures: string;
  /** The fallback text of part i of n (1-based). */
  fallback: (part: number, parts: number) => string;
  /** Blocks after the last part (e.g. the feedback buttons). */
  tail?: KnownBlock[];
}

/**
 * Long Markdown as one or more messages, every part posted, none dropped. Mentions are
 * neutralised before splitting, so that the growth from escaping counts inside Slack's limit.
 */
function markdownMessages(body: string, m: MarkdownMessages): SlackMessage[] {
  const chunks = splitMarkdown(neutralizeMentions(body), MARKDOWN_CHUNK);
  return chunks.map((chunk, i) => ({
    text: m.fallback(i + 1, chunks.length),
    blocks: [
      ...(i === 0 ? [section(m.head)] : []),
      { type: 'markdown', text: chunk } as KnownBlock,
      context(i === 0 ? m.figures : `part ${i + 1} of ${chunks.length}`),
      ...(i === chunks.length - 1 ? (m.tail ?? []) : []),
    ],
  }));
}

export function positionMessages(
  roleTitle: string,
  agentName: string,
  position: string,
  risks: string[],
  f: StepFigures,
): SlackMessage[] {
  const risksText = risks.length ? `\n\n**Risks**\n${risks.map((r) => `- ${r}`).join('\n')}` : '';
  const who = `${fallbackText(agentName, 80)} (${fallbackText(roleTitle, 80)}) states a position`;
  return markdownMessages(`**Position**\n\n${position}${risksText}`, {
    head: `:speech_balloon: *${safeMrkdwn(agentName, 80)}* · ${safeMrkdwn(roleTitle, 120)}`,
    figures: figures(f),
    fallback: (part, parts) => (part === 1 ? who : `${who} (part ${part} of ${parts})`),
  });
}

/** One step's result, as one or more messages (the first carries the heading and figures). */
export function stepResultMessages(title: string, agentName: string, output: string, f: StepFigures): SlackMessage[] {
  return markdownMessages(output || '_(empty result)_', {
    head: `:white_check_mark: *${safeMrkdwn(title, 200)}* · ${safeMrkdwn(agentName, 80)}`,
    figures: figures(f),
    tail: sourcesBlock(f.citations ?? []),
    fallback: (part, parts) =>
      part === 1 ? `Done: ${fallbackText(title, 150)}` : `${fallbackText(title, 150)} (part ${part} of ${parts})`,
  });
}

export function stepFailedMessage(
  title: string,
  agentName: string | null,
  reason: string,
  f: StepFigures,
): SlackMessage {
  const who = agentName ? ` · ${safeMrkdwn(agentName, 80)}` : '';
  return {
    text: `Failed: ${fallbackText(title, 150)}`,
    blocks: [
      section(`:red_circle: *${safeMrkdwn(title, 200)}* failed${who}\n${safeMrkdwn(reason, 2000)}`),
      context(`${figures(f)} · the other tickets go on; synthesis will name the gap`),
    ],
  };
}

/** The deliverable's Markdown as people read it: the text, then its known gaps. */
export function deliverableMarkdown(deliverable: string, gaps: string[]): string {
  const gapText = gaps.length ? `\n\n---\n**Known gaps**\n${gaps.map((g) => `- ${g}`).join('\n')}` : '';
  return `${deliverable}${gapText}`;
}

/** The deliverable in one or more messages, with the rating buttons under its last part. */
export function deliverableMessages(
  deliverable: string,
  gaps: string[],
  f: StepFigures,
  rateValue?: string,
): SlackMessage[] {
  return markdownMessages(deliverableMarkdown(deliverable, gaps), {
    head: ':page_facing_up: *The deliverable*',
    figures: `synthesis · ${figures(f)}`,
    fallback: (part, parts) => (part === 1 ? 'The deliverable' : `The deliverable (part ${part} of ${parts})`),
    tail: [...sourcesBlock(f.citations ?? []), ...(rateValue ? [feedbackBlock(rateValue)] : [])],
  });
}

/** Thumbs up or down under the deliverable; each carries the orchestration and the rating in its value. */
function feedbackBlock(orchestrationId: string): KnownBlock {
  return {
    type: 'context_actions',
    elements: [
      {
        type: 'feedback_buttons',
        action_id: ActionIds.rateDeliverable,
        positive_button: { text: { type: 'plain_text', text: 'Useful' }, value: `positive:${orchestrationId}` },
        negative_button: { text: { type: 'plain_text', text: 'Not useful' }, value: `negative:${orchestrationId}` },
      },
    ],
  } as KnownBlock;
}

/** Where the whole deliverable is kept when it did not fit in one message. */
export function deliverableKeptMessage(kind: 'canvas' | 'file', link: string | null): SlackMessage {
  const where =
    kind === 'canvas'
      ? link
        ? `<${link}|a canvas in this channel>`
        : 'a canvas in this channel'
      : 'the Markdown file below';
  return {
    text: 'The whole deliverable is kept in one place',
    blocks: [section(`:card_index_dividers: The whole deliverable, in one piece, is kept in ${where}.`)],
  };
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
  // A plain cancel says who in its heading; any other reason is shown, escaped.
  const why = s.reason && s.status !== 'completed' && s.reason !== 'Cancelled' ? `\n${safeMrkdwn(s.reason, 2000)}` : '';
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

/** The deliverable as it is being written, once its stream has ended (the same message, updated). */
export function draftMessage(text: string): SlackMessage {
  return {
    text: 'The deliverable, being written',
    blocks: [
      { type: 'markdown', text: neutralizeMentions(text).slice(0, MARKDOWN_CHUNK) } as KnownBlock,
      context(':writing_hand: being written…'),
    ],
  };
}

/** What the live draft becomes once the synthesis ends: the final deliverable follows as its own posts. */
export function draftDoneText(written: boolean): SlackMessage {
  const text = written
    ? ':writing_hand: The deliverable was written here live; the final version follows.'
    : ':writing_hand: Writing the deliverable was cut off; what follows says why.';
  return { text, blocks: [context(text)] };
}
