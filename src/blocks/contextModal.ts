/**
 * Add context: the modal where people attach files and paste notes for the agents to read, and
 * the line on the proposal that says how much context the plan carries. The orchestration and the
 * revision the modal was opened on travel in its private_metadata.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { type ControlValue, encodeControlValue } from './actionIds.js';
import { ContextIds } from './contextIds.js';
import { safeMrkdwn } from './text.js';

/** What the proposal and the modal show of a plan's context (a stored context is one). */
export interface ContextSummary {
  files: readonly { name: string; chars: number; truncated: boolean }[];
  notes: readonly string[];
  text: string;
}

export interface ContextLimits {
  /** Files one submission may carry (Slack allows at most 10). */
  maxFiles: number;
  maxFileBytes: number;
  /** All the context together, as every step receives it. */
  maxChars: number;
}

/** The extensions the file picker offers; the server checks every file again, whatever the picker let through. */
export const CONTEXT_FILETYPES = ['txt', 'md', 'markdown', 'csv', 'tsv', 'pdf'];
/** Slack's longest plain_text_input. */
export const NOTES_MAX_CHARS = 3000;

const text = (t: string) => ({ type: 'plain_text' as const, text: t });
const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** "2 files, 1 note (12,400 characters)". */
export function contextCounts(summary: ContextSummary): string {
  const parts = [];
  if (summary.files.length) parts.push(count(summary.files.length, 'file'));
  if (summary.notes.length) parts.push(count(summary.notes.length, 'note'));
  const cut = summary.files.some((f) => f.truncated) ? ', some cut to fit' : '';
  return `${parts.join(', ') || 'nothing'} (${count(summary.text.length, 'character')}${cut})`;
}

/** The proposal's line: "*Context:* 2 files, 1 note (12,400 characters)". */
export function contextLine(summary: ContextSummary): string {
  return `*Context:* ${contextCounts(summary)}`;
}

function currentBlock(current: ContextSummary): KnownBlock {
  const names = current.files.map((f) => f.name);
  const shown = names.length ? `: ${safeMrkdwn(names.join(', '), 600)}` : '';
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Already added: ${contextCounts(current)}${shown}. What you add now is kept with it.`,
      },
    ],
  };
}

export function contextModal(meta: ControlValue, current: ContextSummary | null, limits: ContextLimits): ModalView {
  const megabytes = Math.round(limits.maxFileBytes / (1024 * 1024));
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          'Files and notes added here are given to every agent step as material from the team. ' +
          `Plain text, Markdown, CSV and PDF (with a text layer), up to ${megabytes} MB each. ` +
          `All of it together is cut to ${count(limits.maxChars, 'character')}.`,
      },
    },
  ];
  if (current && (current.files.length || current.notes.length)) blocks.push(currentBlock(current));
  blocks.push(
    {
      type: 'input',
      block_id: ContextIds.files.block,
      optional: true,
      label: text('Files'),
      element: {
        type: 'file_input',
        action_id: ContextIds.files.action,
        filetypes: CONTEXT_FILETYPES,
        max_files: Math.min(10, Math.max(1, limits.maxFiles)),
      },
    },
    {
      type: 'input',
      block_id: ContextIds.notes.block,
      optional: true,
      label: text('Notes'),
      element: {
        type: 'plain_text_input',
        action_id: ContextIds.notes.action,
        multiline: true,
        max_length: NOTES_MAX_CHARS,
        placeholder: text('Paste facts, constraints or excerpts the agents should know'),
      },
    },
  );
  return {
    type: 'modal',
    callback_id: ContextIds.modal,
    private_metadata: encodeControlValue(meta),
    title: text('Add context'),
    submit: text('Add'),
    close: text('Cancel'),
    blocks,
  };
}
