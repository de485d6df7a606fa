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

const cell = z
  .union([z.string().max(MAX_CELL_CHARS), z.number(), z.boolean(), z.null()])
  .describe('One cell; null when unknown');

function fieldSchema(field: OutputField): z.ZodType {
  const described = <T extends z.ZodType>(schema: T) =>
    field.description ? schema.describe(field.description) : schema;
  switch (field.type) {
    case 'string':
      return described(z.string().min(1).max(MAX_STRING_CHARS));
    case 'number':
      return described(z.number());
    case 'boolean':
      return described(z.boolean());
    case 'list':
      return described(z.array(z.string().min(1).max(MAX_ITEM_CHARS)).max(itemsOf(field)));
    case 'table': {
      const row = z.object(Object.fromEntries((field.columns ?? []).map((c) => [c, cell]))).strict();
      return described(z.array(row).max(itemsOf(field)));
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
