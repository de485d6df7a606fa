/**
 * Declared outputs as people and prompts read them: an answer rendered as Markdown field by field
 * (tables as Markdown tables, with their column names), a declaration summed up in one line, and
 * the one-field-a-line syntax of the Edit outputs form, which reads back what it writes.
 */
import {
  type DeclaredOutput,
  MAX_ITEMS,
  MAX_OUTPUT_FIELDS,
  MAX_TABLE_COLUMNS,
  type OutputField,
  type OutputValue,
} from './outputs.js';

const TYPE_WORDS: Record<OutputField['type'], string> = {
  string: 'text',
  number: 'number',
  boolean: 'yes/no',
  list: 'list',
  table: 'table',
};

/** "matrix (table: name, pricing)", "summary (text)". */
export function fieldSummary(field: OutputField): string {
  const columns = field.type === 'table' && field.columns?.length ? `: ${field.columns.join(', ')}` : '';
  return `${field.name} (${TYPE_WORDS[field.type]}${columns})`;
}

/** "A competitor matrix: matrix (table: name, pricing), summary (text)". */
export function outputSummary(output: DeclaredOutput): string {
  return `${output.description}: ${output.fields.map(fieldSummary).join(', ')}`;
}

const cellText = (value: unknown) =>
  value === null || value === undefined
    ? ''
    : String(value)
        .replace(/\|/g, '\\|')
        .replace(/\s*\n\s*/g, ' ');

/** A Markdown table: the header row names the columns. */
export function markdownTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const head = `| ${columns.join(' | ')} |`;
  const rule = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map((row) => `| ${columns.map((c) => cellText(row[c])).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** One field's value as Markdown (no heading). */
export function fieldMarkdown(field: OutputField, value: unknown): string {
  if (value === null || value === undefined) return '_(none)_';
  switch (field.type) {
    case 'boolean':
      return value ? 'yes' : 'no';
    case 'list':
      return Array.isArray(value) && value.length ? value.map((v) => `- ${String(v)}`).join('\n') : '_(empty)_';
    case 'table':
      return Array.isArray(value)
        ? markdownTable(field.columns ?? [], value as Record<string, unknown>[])
        : '_(not a table)_';
    default:
      return String(value);
  }
}

/**
 * The answer, field by field, each labelled with its declared name and type: what the thread shows,
 * what is stored as the step's Markdown, and what dependents and the synthesis are given. `skip`
 * leaves out fields shown another way (a table drawn as a table block).
 */
export function outputMarkdown(
  output: DeclaredOutput,
  value: OutputValue,
  skip: ReadonlySet<string> = new Set(),
): string {
  return output.fields
    .filter((f) => !skip.has(f.name))
    .map((f) => `**${f.name}** _(${fieldSummary(f).slice(f.name.length + 2, -1)})_\n${fieldMarkdown(f, value[f.name])}`)
    .join('\n\n');
}

/** The Edit outputs form's line for a field: `matrix: table(name, pricing) up to 30 — one row per competitor`. */
export function fieldLine(field: OutputField): string {
  const type = field.type === 'table' ? `table(${(field.columns ?? []).join(', ')})` : TYPE_WORDS[field.type];
  const items = field.maxItems !== undefined ? ` up to ${field.maxItems}` : '';
  const about = field.description ? ` — ${field.description}` : '';
  return `${field.name}: ${type}${items}${about}`;
}

export const fieldLines = (output: DeclaredOutput | null | undefined) =>
  (output?.fields ?? []).map(fieldLine).join('\n');

const LINE =
  /^([A-Za-z][A-Za-z0-9_]*)\s*:\s*(text|string|number|yes\/no|boolean|list|table)\s*(?:\(([^)]*)\))?\s*(?:up to\s+(\d+))?\s*(?:(?:—|–|-{1,2})\s*(.*))?$/i;

const TYPES: Record<string, OutputField['type']> = {
  text: 'string',
  string: 'string',
  number: 'number',
  'yes/no': 'boolean',
  boolean: 'boolean',
  list: 'list',
  table: 'table',
};

export type ParsedFields = { ok: true; fields: OutputField[] } | { ok: false; error: string };

/** The fields written one a line; an error names the line and shows the form a line takes. */
export function parseFieldLines(text: string): ParsedFields {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length > MAX_OUTPUT_FIELDS)
    return { ok: false, error: `At most ${MAX_OUTPUT_FIELDS} fields; these are ${lines.length}.` };
  const fields: OutputField[] = [];
  for (const [i, line] of lines.entries()) {
    const m = LINE.exec(line);
    if (!m) {
      return {
        ok: false,
        error: `Line ${i + 1} ("${line.slice(0, 40)}") is not a field. Write one a line, like "matrix: table(name, pricing) up to 20 — one row per competitor", with a type among text, number, yes/no, list and table.`,
      };
    }
    const [, name, typeWord, columnText, items, about] = m;
    const type = TYPES[typeWord!.toLowerCase()]!;
    const field: OutputField = { name: name!.toLowerCase(), type };
    if (columnText !== undefined) {
      if (type !== 'table') return { ok: false, error: `Line ${i + 1}: only a table lists columns in brackets.` };
      const columns = columnText
        .split(',')
        .map((c) => c.trim().toLowerCase().replace(/\s+/g, '_'))
        .filter(Boolean);
      if (columns.length > MAX_TABLE_COLUMNS)
        return {
          ok: false,
          error: `Line ${i + 1}: at most ${MAX_TABLE_COLUMNS} columns; these are ${columns.length}.`,
        };
      field.columns = columns;
    } else if (type === 'table') {
      return { ok: false, error: `Line ${i + 1}: name the table's columns, like "table(name, pricing)".` };
    }
    if (items !== undefined) {
      const n = Number(items);
      if (type !== 'list' && type !== 'table')
        return { ok: false, error: `Line ${i + 1}: only a list or a table takes "up to N".` };
      if (n < 1 || n > MAX_ITEMS) return { ok: false, error: `Line ${i + 1}: "up to" takes 1 to ${MAX_ITEMS}.` };
      field.maxItems = n;
    }
    if (about?.trim()) field.description = about.trim().slice(0, 200);
    fields.push(field);
  }
  return { ok: true, fields };
}
