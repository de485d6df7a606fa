import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setOutputs } from '../../src/engine/plan/edits.js';
import {
  answerSchemaOf,
  type DeclaredOutput,
  outputBoundChars,
  storedOutputValue,
} from '../../src/engine/plan/outputs.js';
import { fieldLines, outputMarkdown, outputSummary, parseFieldLines } from '../../src/engine/plan/outputText.js';
import { validateProposal } from '../../src/engine/plan/validate.js';
import { sampleProposal } from '../fixtures.js';

const matrix: DeclaredOutput = {
  description: 'A competitor matrix',
  fields: [
    { name: 'matrix', type: 'table', columns: ['name', 'pricing', 'offline'], maxItems: 10 },
    { name: 'summary', type: 'string', description: 'two sentences' },
  ],
};

/** The sample plan with "competitors" declaring the matrix and "draft" using `uses`. */
function planUsing(uses: string[]) {
  const p = sampleProposal();
  p.tickets[0]!.output = matrix;
  p.tickets[2]!.uses = uses;
  return p;
}

describe('declared outputs in the plan', () => {
  it('accepts a dependent that uses declared fields', () => {
    expect(validateProposal(planUsing(['competitors.matrix', 'competitors.summary'])).violations).toEqual([]);
  });

  it('refuses a dependent that uses an undeclared field, a ticket it does not depend on, or one that declares nothing', () => {
    const p = planUsing(['competitors.pricing_table', 'pricing.total']);
    p.tickets[1]!.uses = ['draft.summary'];
    expect(validateProposal(p).violations).toEqual([
      'tickets[1] ("pricing"): uses "draft.summary" but does not depend on "draft"; add it to dependsOn',
      'tickets[2] ("draft"): uses "competitors.pricing_table", but "competitors" declares no field "pricing_table" (it declares matrix, summary)',
      'tickets[2] ("draft"): uses "pricing.total", but "pricing" declares no output fields',
    ]);
  });

  it('refuses duplicate fields, a table without columns, columns on a non-table and unknown types', () => {
    const p = sampleProposal();
    p.tickets[0]!.output = {
      description: 'x',
      fields: [
        { name: 'a', type: 'string' },
        { name: 'a', type: 'number' },
        { name: 't', type: 'table' },
        { name: 's', type: 'string', columns: ['x'] },
      ],
    };
    expect(validateProposal(p).violations).toEqual([
      'tickets[0] ("competitors"): output field "a" is declared twice',
      'tickets[0] ("competitors"): table "t" needs its columns',
      'tickets[0] ("competitors"): only a table has columns; "s" is a string',
    ]);
    const unknown = structuredClone(p) as unknown as { tickets: { output: { fields: { type: string }[] } }[] };
    unknown.tickets[0]!.output.fields = [{ type: 'date', name: 'when' } as never];
    expect(validateProposal(unknown).violations.join('\n')).toMatch(/tickets\.0\.output\.fields\.0\.type/);
  });

  it('a plan stored before outputs existed still validates, and dropping a ticket drops the uses of its fields', () => {
    expect(validateProposal(sampleProposal()).ok).toBe(true);
    const p = planUsing(['competitors.matrix']);
    const edited = setOutputs(p, { competitors: null });
    expect(validateProposal(edited).violations).toEqual([
      'tickets[2] ("draft"): uses "competitors.matrix", but "competitors" declares no output fields',
    ]);
  });
});

describe('an answer to a declared output', () => {
  const schema = answerSchemaOf(matrix);
  const good = {
    matrix: [
      { name: 'Otter', pricing: '$10/mo', offline: false },
      { name: 'Tape | Co', pricing: null, offline: true },
    ],
    summary: 'We win offline.',
  };

  it('fits when every field and column is there, and names the field when not', () => {
    expect(schema.safeParse(good).success).toBe(true);
    const missing = schema.safeParse({ matrix: [{ name: 'Otter', offline: true }], summary: 's' });
    expect(missing.success).toBe(false);
    expect(missing.error!.issues.map((i) => i.path.join('.'))).toEqual(['matrix.0.pricing']);
    const tooMany = schema.safeParse({ ...good, matrix: Array.from({ length: 11 }, () => good.matrix[0]) });
    expect(tooMany.success).toBe(false);
    expect(schema.safeParse({ ...good, extra: 1 }).success).toBe(false);
  });

  it('renders as Markdown labelled with its fields, tables with their column names', () => {
    const md = outputMarkdown(matrix, good);
    expect(md).toBe(
      [
        '**matrix** _(table: name, pricing, offline)_',
        '| name | pricing | offline |',
        '| --- | --- | --- |',
        '| Otter | $10/mo | false |',
        '| Tape \\| Co |  | true |',
        '',
        '**summary** _(text)_',
        'We win offline.',
      ].join('\n'),
    );
    expect(outputMarkdown(matrix, good, new Set(['matrix']))).toBe('**summary** _(text)_\nWe win offline.');
    expect(outputSummary(matrix)).toBe('A competitor matrix: matrix (table: name, pricing, offline), summary (text)');
  });

  it('reads a stored answer leniently, and bounds its size', () => {
    expect(storedOutputValue(matrix, { ...good, stray: 1 })).toEqual(good);
    expect(storedOutputValue(matrix, 'prose')).toBeNull();
    expect(outputBoundChars(matrix)).toBeGreaterThan(10 * 3 * 300);
  });
});

describe('the Edit outputs form syntax', () => {
  it('reads what it writes (property)', () => {
    const field = fc.record({
      name: fc.constantFrom('matrix', 'summary', 'count', 'ok', 'risks'),
      type: fc.constantFrom('string', 'number', 'boolean', 'list', 'table'),
      columns: fc.uniqueArray(fc.constantFrom('name', 'pricing', 'offline_support'), { minLength: 1, maxLength: 3 }),
      maxItems: fc.option(fc.integer({ min: 1, max: 99 }), { nil: undefined }),
      description: fc.option(fc.constantFrom('one row per competitor', 'in two sentences'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(field, { minLength: 1, maxLength: 5, selector: (f) => f.name }), (raw) => {
        const fields = raw.map(({ name, type, columns, maxItems, description }) => ({
          name,
          type,
          ...(type === 'table' ? { columns } : {}),
          ...((type === 'list' || type === 'table') && maxItems !== undefined ? { maxItems } : {}),
          ...(description ? { description } : {}),
        })) as DeclaredOutput['fields'];
        const parsed = parseFieldLines(fieldLines({ description: 'd', fields }));
        expect(parsed).toEqual({ ok: true, fields });
      }),
    );
  });

  it('says which line is wrong and what a line looks like', () => {
    const bad = parseFieldLines('matrix: table(name)\nwhen: date');
    expect(bad).toMatchObject({ ok: false });
    expect(!bad.ok && bad.error).toMatch(
      /^Line 2 \("when: date"\) is not a field\. Write one a line, like "matrix: table/,
    );
    expect(parseFieldLines('rows: table')).toEqual({
      ok: false,
      error: 'Line 1: name the table\'s columns, like "table(name, pricing)".',
    });
    expect(parseFieldLines('n: number up to 5')).toEqual({
      ok: false,
      error: 'Line 1: only a list or a table takes "up to N".',
    });
  });
});
