/** Saved plans as data (engine/templates/pattern.ts): marking parameters, reading `use` arguments, instantiating. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateProposal } from '../../../src/engine/plan/validate.js';
import {
  instantiate,
  MAX_PARAMS,
  markParameters,
  parseUseArguments,
  type TemplateShape,
} from '../../../src/engine/templates/pattern.js';
import { GOAL, identifiersOf, richProposal } from './fixtures.js';

function template(goal = GOAL, marks: Record<string, string> = { company: 'Acme', quarter: 'Q3' }): TemplateShape {
  const marked = markParameters(goal, marks);
  if (!marked.ok) throw new Error(marked.error);
  return { goalPattern: marked.goalPattern, params: marked.params, proposal: richProposal(goal) };
}

describe('markParameters', () => {
  it('turns each marked part, wherever it occurs, into {{name}} and remembers its value', () => {
    expect(markParameters('Brief on Acme for Q3; Acme only', { company: 'Acme', quarter: 'Q3' })).toEqual({
      ok: true,
      goalPattern: 'Brief on {{company}} for {{quarter}}; {{company}} only',
      params: [
        { name: 'company', original: 'Acme' },
        { name: 'quarter', original: 'Q3' },
      ],
    });
    expect(markParameters('A fixed weekly digest', {})).toEqual({
      ok: true,
      goalPattern: 'A fixed weekly digest',
      params: [],
    });
  });

  it.each([
    [{ company: 'Globex' }, /"Globex" \(for company\) is not in the goal/],
    [{ Company: 'Acme' }, /parameter name "Company" must start with a lowercase letter/],
    [{ '1st': 'Acme' }, /parameter name "1st"/],
    [{ 'the-company': 'Acme' }, /parameter name "the-company"/],
    [{ [`p${'x'.repeat(31)}`]: 'Acme' }, /at most 31 characters/],
    [{ company: '  ' }, /Say which part of the goal company stands for/],
    [{ company: 'Acme', brand: 'Acme f' }, /company and brand mark overlapping text/],
    [{ company: 'Acme', same: 'Acme' }, /overlapping text/],
    [{ a: 'Acme f', b: 'for Q' }, /overlaps another marked part/],
  ])('refuses %j with a sentence', (marks, error) => {
    const marked = markParameters(GOAL, marks);
    expect(marked.ok).toBe(false);
    if (!marked.ok) expect(marked.error).toMatch(error);
  });

  it(`takes at most ${MAX_PARAMS} parameters, and no goal that already reads like a pattern`, () => {
    const goal = 'a b c d e f g h i';
    const nine = Object.fromEntries('abcdefghi'.split('').map((c) => [`p${c}`, c]));
    expect(markParameters(goal, nine)).toEqual({
      ok: false,
      error: `A saved plan takes at most ${MAX_PARAMS} parameters.`,
    });
    expect(markParameters('Brief on {{company}}', { x: 'Brief' }).ok).toBe(false);
  });
});

describe('parseUseArguments', () => {
  const two = ['company', 'quarter'];

  it.each([
    ['company="Acme Corp" quarter=Q3', two, { company: 'Acme Corp', quarter: 'Q3' }],
    ['  quarter=Q3   company=Acme ', two, { company: 'Acme', quarter: 'Q3' }],
    ['company=\u201CAcme Corp\u201D quarter=Q3', two, { company: 'Acme Corp', quarter: 'Q3' }],
    ['company="The \\"Best\\" Co" quarter="Q3 2026"', two, { company: 'The "Best" Co', quarter: 'Q3 2026' }],
    ['Company=Acme QUARTER=Q3', two, { company: 'Acme', quarter: 'Q3' }],
    ['company=C:\\acme quarter=Q3', two, { company: 'C:\\acme', quarter: 'Q3' }],
    ['Acme Corp, the rival', ['company'], { company: 'Acme Corp, the rival' }],
    ['"Acme Corp"', ['company'], { company: 'Acme Corp' }],
    ['company="Acme Corp"', ['company'], { company: 'Acme Corp' }],
    ['quarter=Q3 for Acme', ['company'], { company: 'quarter=Q3 for Acme' }],
    ['', [], {}],
  ])('reads %j', (text, params, values) => {
    expect(parseUseArguments(text, params)).toEqual({ ok: true, values });
  });

  it.each([
    ['company=Acme', two, 'Missing quarter.'],
    ['', two, 'Missing company and quarter.'],
    [
      'compny=Acme quarter=Q3',
      two,
      'There is no parameter "compny"; this plan takes company and quarter. Missing company.',
    ],
    ['Acme quarter=Q3', two, 'Could not read "Acme": write name="value". Missing company.'],
    ['company="Acme quarter=Q3', two, 'A quotation mark is not closed.'],
    ['company=Acme company=Globex quarter=Q3', two, 'company is given twice.'],
    ['company="" quarter=Q3', two, 'company is empty.'],
    ['   ', ['company'], 'Give a value for company.'],
    ['anything', [], 'This saved plan takes no parameters.'],
  ])('refuses %j naming what is wrong', (text, params, error) => {
    expect(parseUseArguments(text, params)).toEqual({ ok: false, error });
  });
});

describe('instantiate', () => {
  it('puts the values into the goal and every text of the plan, and leaves its wiring alone', () => {
    const t = template();
    const made = instantiate(t, { company: 'Globex', quarter: 'Q4' });
    expect(made.ok).toBe(true);
    if (!made.ok) return;
    expect(made.goal).toBe('Weekly competitor brief on Globex for Q4, for the analyst team');
    expect(made.proposal).toEqual(validateProposal(richProposal(made.goal, 'Globex in Q4')).proposal);
    expect(identifiersOf(made.proposal)).toEqual(identifiersOf(t.proposal));
  });

  it('replaces text that reads like a key without touching the key', () => {
    const t = template(GOAL, { who: 'analyst' });
    const made = instantiate(t, { who: 'strategist' });
    expect(made.ok && made.goal).toBe('Weekly competitor brief on Acme for Q3, for the strategist team');
    if (!made.ok) return;
    expect(made.proposal.roles[0]).toMatchObject({ key: 'analyst', title: 'Market strategist for Acme in Q3' });
    expect(made.proposal.research.role).toBe('analyst');
    expect(made.proposal.tickets[0]!.role).toBe('analyst');
  });

  it('inserts values verbatim, "$&" and "{{quarter}}" included, in one pass', () => {
    const made = instantiate(template(), { company: '$& {{quarter}}', quarter: 'Q1' });
    expect(made.ok && made.goal).toBe('Weekly competitor brief on $& {{quarter}} for Q1, for the analyst team');
  });

  it('returns the violations when a value breaks the plan, and names missing or unknown values', () => {
    const tooLong = instantiate(template(), { company: 'x'.repeat(200), quarter: 'Q4' });
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok)
      expect(tooLong.violations).toContain('roles.0.title: Too big: expected string to have <=120 characters');
    expect(instantiate(template(), { company: 'Globex' })).toEqual({ ok: false, violations: ['Missing quarter.'] });
    expect(instantiate(template(), { company: 'Globex', quarter: 'Q4', year: '2027' })).toEqual({
      ok: false,
      violations: ['This plan takes no "year".'],
    });
  });

  it('checks the roster, tools and models it is given', () => {
    const made = instantiate(template(), { company: 'Globex', quarter: 'Q4' }, { rosterNames: ['Someone else'] });
    expect(made.ok).toBe(false);
    if (!made.ok) expect(made.violations.join(' ')).toMatch(/existingAgent "Wren" is not in the roster/);
  });
});

const word = fc.stringMatching(/^[A-Z][a-z]{2,9}( [A-Z][a-z]{1,6})?$/);
const paramName = fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/);
const marksArb = fc
  .uniqueArray(fc.tuple(paramName, word), { minLength: 1, maxLength: MAX_PARAMS, selector: ([name]) => name })
  .filter((pairs) =>
    pairs.every(([, a], i) => pairs.every(([, b], j) => i === j || !(a.includes(b) || b.includes(a)))),
  );

describe('instantiate (properties)', () => {
  it('gives back the original goal and plan for the original values', () => {
    fc.assert(
      fc.property(marksArb, fc.string({ maxLength: 20 }), (pairs, filler) => {
        const originals = pairs.map(([, original]) => original);
        const goal = `Brief ${filler.replace(/[{}]/g, '')} on ${originals.join(' vs ')}.`;
        const marked = markParameters(goal, Object.fromEntries(pairs));
        fc.pre(marked.ok);
        if (!marked.ok) return;
        const proposal = richProposal(goal, originals.slice(0, 3).join(' and '));
        fc.pre(validateProposal(proposal).ok);
        const made = instantiate({ ...marked, proposal }, Object.fromEntries(pairs));
        expect(made).toEqual({ ok: true, goal, proposal: validateProposal(proposal).proposal });
      }),
    );
  });

  it('never touches a key, a reference, a tool, a model or a roster name, whatever the values', () => {
    const value = fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.constantFrom('analyst', 'writer', 'competitors', 'matrix', 'web_search', 'Wren', '$&', '{{quarter}}'),
    );
    fc.assert(
      fc.property(
        value.filter((v) => v.trim() !== ''),
        value.filter((v) => v.trim() !== ''),
        (company, who) => {
          const t = template(GOAL, { company: 'Acme', who: 'analyst' });
          const made = instantiate(t, { company, who });
          expect(instantiate(t, { company, who })).toEqual(made);
          if (!made.ok) return;
          expect(identifiersOf(made.proposal)).toEqual(identifiersOf(t.proposal));
          expect(made.goal).toBe(`Weekly competitor brief on ${company} for Q3, for the ${who} team`);
          expect(made.proposal.goal).toBe(made.goal);
        },
      ),
    );
  });
});
