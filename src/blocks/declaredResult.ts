/**
 * A ticket's structured result in its thread: its declaration, every field labelled, and each table
 * that fits drawn as a Slack table block in a message of its own (one table a message, 100 rows of
 * 20 cells); a table that does not fit stays a Markdown table, so nothing is dropped.
 */
import type { KnownBlock } from '@slack/types';
import type { DeclaredOutput, OutputField, OutputValue } from '../engine/plan/outputs.js';
import { outputMarkdown } from '../engine/plan/outputText.js';
import type { SlackMessage } from './proposal.js';
import { fallbackText, safeMrkdwn } from './text.js';
import { type StepFigures, stepResultMessages } from './thread.js';

/** Slack's table block: 100 rows (the header is one), 20 cells a row. */
const MAX_BLOCK_ROWS = 99;
const MAX_BLOCK_COLUMNS = 20;
/** Text a table block may carry here: well inside what a message holds, with its heading. */
const MAX_BLOCK_CHARS = 8000;
const MAX_CELL = 300;

type Row = Record<string, unknown>;

const cellText = (value: unknown) => {
  const text = value === null || value === undefined ? '' : String(value).replace(/\s+/g, ' ').trim();
  // An empty cell is refused by some clients: a dash says "nothing here" as well.
  return text ? text.slice(0, MAX_CELL) : '–';
};

/** Whether the value of `field` can be drawn as a table block. */
export function fitsTableBlock(field: OutputField, value: unknown): value is Row[] {
  if (field.type !== 'table' || !Array.isArray(value)) return false;
  const columns = field.columns ?? [];
  if (!columns.length || columns.length > MAX_BLOCK_COLUMNS || value.length > MAX_BLOCK_ROWS) return false;
  const chars = (value as Row[]).reduce((n, row) => n + columns.reduce((m, c) => m + cellText(row?.[c]).length, 0), 0);
  return chars <= MAX_BLOCK_CHARS;
}

export function tableBlock(columns: readonly string[], rows: readonly Row[]): KnownBlock {
  const raw = (text: string) => ({ type: 'raw_text', text });
  return {
    type: 'table',
    column_settings: columns.map(() => ({ is_wrapped: true })),
    rows: [columns.map(raw), ...rows.map((row) => columns.map((c) => raw(cellText(row?.[c]))))],
  } as unknown as KnownBlock;
}

/** The result's messages: the labelled fields (as for any result), then one message per table block. */
export function declaredResultMessages(
  title: string,
  agentName: string,
  output: DeclaredOutput,
  value: OutputValue,
  f: StepFigures,
): SlackMessage[] {
  const drawn = output.fields.filter((field) => fitsTableBlock(field, value[field.name]));
  const rest = outputMarkdown(output, value, new Set(drawn.map((d) => d.name)));
  const shown = drawn.length
    ? `${rest}${rest ? '\n\n' : ''}_Tables below: ${drawn.map((d) => d.name).join(', ')}_`
    : rest;
  const body = `_${output.description}_\n\n${shown}`;
  const tables = drawn.map((field): SlackMessage => {
    const rows = value[field.name] as Row[];
    const count = `${rows.length} ${rows.length === 1 ? 'row' : 'rows'}`;
    return {
      text: `${fallbackText(title, 120)}: ${field.name}, ${count}`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `*${safeMrkdwn(field.name, 60)}* · ${safeMrkdwn(title, 150)} · ${count}` },
        },
        tableBlock(field.columns ?? [], rows),
      ],
    };
  });
  return [...stepResultMessages(title, agentName, body, f), ...tables];
}
