/**
 * Declared outputs: what a ticket promises to produce (a description and a few typed fields), the
 * rules a declaration keeps, the size it is bounded by, and the schema its answer must fit, so that a
 * dependent or the synthesis builds on named fields rather than guessing at prose.
 */
import { z } from 'zod';

export const OUTPUT_FIELD_TYPES = ['string', 'number', 'boolean', 'list', 'table'] as const;
export type OutputFieldType = (typeof OUTPUT_FIELD_TYPES)[number];

export const MAX_OUTPUT_FIELDS = 12;
/** A table block shows at most 100 rows (one of them the header) of 20 cells. */
export const MAX_TABLE_COLUMNS = 20;
export const MAX_ITEMS = 99;
export const DEFAULT_MAX_ITEMS = 20;
export const MAX_STRING_CHARS = 4000;
export const MAX_ITEM_CHARS = 500;
export const MAX_CELL_CHARS = 300;
/** The fields written out one a line (the Edit outputs form) fit a Slack text input. */
export const FIELDS_MAX_CHARS = 3000;

const fieldName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be a lowercase name (a-z, 0-9 or "_", starting with a letter, at most 40)');

export const OutputFieldSchema = z.object({
  name: fieldName.describe('Unique within this output; dependents refer to it as "ticket.field"'),
  type: z
    .enum(OUTPUT_FIELD_TYPES)
    .describe('string: text; number; boolean; list: a list of short strings; table: rows with named columns'),
  description: z.string().max(200).optional().describe('What the field holds, in a few words'),
  columns: z
    .array(fieldName)
    .max(MAX_TABLE_COLUMNS)
    .optional()
    .describe('For a table only: its column names, e.g. ["name", "pricing"]'),
  maxItems: z
    .number()
    .int()
    .min(1)
    .max(MAX_ITEMS)
    .optional()
    .describe(`For a list or table only: the most items or rows (default ${DEFAULT_MAX_ITEMS})`),
});

export const DeclaredOutputSchema = z.object({
  description: z.string().min(1).max(300).describe('What the ticket produces, in one line'),
  fields: z.array(OutputFieldSchema).min(1).max(MAX_OUTPUT_FIELDS),
});

export type OutputField = z.infer<typeof OutputFieldSchema>;
export type DeclaredOutput = z.infer<typeof DeclaredOutputSchema>;
/** A ticket's answer to its declaration: one value per field. */
export type OutputValue = Record<string, unknown>;

/** "competitors.matrix": a field of a ticket this one depends on. */
export const FIELD_REFERENCE = /^([a-z0-9][a-z0-9_-]{0,39})\.([a-z][a-z0-9_]{0,39})$/;

export const itemsOf = (field: OutputField) => field.maxItems ?? DEFAULT_MAX_ITEMS;

/** The rules a declaration keeps beyond its shape, as sentences that name the ticket (`where`). */
export function declarationViolations(output: DeclaredOutput, where: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const field of output.fields) {
    if (seen.has(field.name)) out.push(`${where}: output field "${field.name}" is declared twice`);
    seen.add(field.name);
    const columns = field.columns ?? [];
    if (field.type === 'table') {
      if (!columns.length) out.push(`${where}: table "${field.name}" needs its columns`);
      const dup = columns.find((c, i) => columns.indexOf(c) !== i);
      if (dup) out.push(`${where}: table "${field.name}" names column "${dup}" twice`);
    } else if (columns.length) {
      out.push(`${where}: only a table has columns; "${field.name}" is a ${field.type}`);
    }
    if (field.maxItems !== undefined && field.type !== 'list' && field.type !== 'table') {
      out.push(`${where}: only a list or a table has maxItems; "${field.name}" is a ${field.type}`);
    }
  }
  return out;
}

/** The most characters an answer can hold, as JSON: what a dependent's prompt and the estimate must make room for. */
export function outputBoundChars(output: DeclaredOutput): number {
  let chars = 2;
  for (const field of output.fields) {
    const name = field.name.length + 4;
    switch (field.type) {
      case 'string':
        chars += name + MAX_STRING_CHARS + 2;
        break;
      case 'number':
      case 'boolean':
        chars += name + 24;
        break;
      case 'list':
        chars += name + itemsOf(field) * (MAX_ITEM_CHARS + 3);
        break;
      case 'table': {
        const columns = field.columns ?? [];
        const row = 2 + columns.reduce((n, c) => n + c.length + 4 + MAX_CELL_CHARS + 3, 0);
        chars += name + itemsOf(field) * row;
        break;
      }
    }
  }
  return chars;
}

/** A missing field or cell is said to be missing, rather than to be of the wrong type. */
const missing = { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is missing' : undefined) };

/**
 * The most output tokens an answer can take: a token is at least one byte, a character at most four,
 * and the call wrapping the arguments costs a few more. Small declarations get a smaller reservation.
 */
export const answerTokensUpperBound = (output: DeclaredOutput) => outputBoundChars(output) * 4 + 64;

/** The room a declared result takes in a later prompt: its labelled rendering, up to the structured clip. */
export const renderedCharsUpperBound = (output: DeclaredOutput, clip: number) =>
  Math.min(clip, outputBoundChars(output) + 40 * output.fields.length + output.description.length);

const cell = z
  .union([z.string().max(MAX_CELL_CHARS), z.number(), z.boolean(), z.null()], {
    error: (issue) => (issue.input === undefined ? 'is missing' : 'must be text, a number, true/false or null'),
  })
  .describe('One cell; null when unknown');

function fieldSchema(field: OutputField): z.ZodType {
  const described = <T extends z.ZodType>(schema: T) =>
    field.description ? schema.describe(field.description) : schema;
  switch (field.type) {
    case 'string':
      return described(z.string(missing).min(1).max(MAX_STRING_CHARS));
    case 'number':
      return described(z.number(missing));
    case 'boolean':
      return described(z.boolean(missing));
    case 'list':
      return described(z.array(z.string().min(1).max(MAX_ITEM_CHARS), missing).max(itemsOf(field)));
    case 'table': {
      const row = z.object(Object.fromEntries((field.columns ?? []).map((c) => [c, cell]))).strict();
      return described(z.array(row, missing).max(itemsOf(field)));
    }
  }
}

/** The schema a ticket's answer must fit: its declared fields, every one required, nothing else. */
export function answerSchemaOf(output: DeclaredOutput): z.ZodType<OutputValue> {
  const shape = Object.fromEntries(output.fields.map((f) => [f.name, fieldSchema(f)]));
  return z.object(shape).strict().describe(output.description) as unknown as z.ZodType<OutputValue>;
}

/** A stored answer, read leniently: only the declared fields, whatever else the document holds. */
export function storedOutputValue(output: DeclaredOutput, structured: unknown): OutputValue | null {
  if (!structured || typeof structured !== 'object' || Array.isArray(structured)) return null;
  const value = structured as Record<string, unknown>;
  if (!output.fields.some((f) => f.name in value)) return null;
  return Object.fromEntries(output.fields.map((f) => [f.name, value[f.name] ?? null]));
}

/**
 * A violation of an answer's schema in words: "matrix.2.pricing: Invalid input" becomes
 * 'field "matrix", row 3, column "pricing": Invalid input', so that the step's failure names the field.
 */
export function explainViolation(output: DeclaredOutput, violation: string): string {
  const at = violation.indexOf(': ');
  if (at < 0) return violation;
  const [name, index, column] = violation.slice(0, at).split('.');
  const field = output.fields.find((f) => f.name === name);
  if (!field) return violation;
  const what = violation.slice(at + 2);
  const item =
    index === undefined ? '' : field.type === 'table' ? `, row ${Number(index) + 1}` : `, item ${Number(index) + 1}`;
  const cellName = column === undefined ? '' : `, column "${column}"`;
  return `field "${field.name}" (${field.type})${item}${cellName}: ${what}`;
}
