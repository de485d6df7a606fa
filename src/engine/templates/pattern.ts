/**
 * Saved plans as data (pure): marking the parts of a goal that change from run to run, reading the
 * values `/orchestrate use <name>` is given, and instantiating a saved proposal with new values.
 * Instantiation replaces text only, never a key or a reference, and the result is validated again,
 * because a longer value can push a title past its limit.
 */
import type { Proposal, Role, Ticket } from '../plan/proposal.js';
import { type ValidationContext, validateProposal } from '../plan/validate.js';

/** A parameter's name: what people type before "=". */
export const PARAM_NAME = /^[a-z][a-z0-9_]{0,30}$/;
/** The most parameters a saved plan takes. */
export const MAX_PARAMS = 8;
/** Longer than any goal: a value is at most what it replaces, or a bounded field will refuse it. */
export const MAX_VALUE_CHARS = 3000;

/** A parameter, with the value it had in the plan it was saved from. */
export interface TemplateParam {
  name: string;
  original: string;
}

/** What instantiation needs of a saved plan. */
export interface TemplateShape {
  goalPattern: string;
  params: readonly TemplateParam[];
  proposal: Proposal;
}

/** The goal as a pattern with its parameters, or why not. */
export type Marked = { ok: true; goalPattern: string; params: TemplateParam[] } | { ok: false; error: string };
/** The value of each parameter, or a sentence naming what is missing, unknown or unreadable. */
export type UseArguments = { ok: true; values: Record<string, string> } | { ok: false; error: string };
/** The goal and the validated plan, or the plan's violations. */
export type Instantiated = { ok: true; goal: string; proposal: Proposal } | { ok: false; violations: string[] };

const placeholder = (name: string) => `{{${name}}}`;
const quoted = (s: string) => `"${s.length > 60 ? `${s.slice(0, 57)}…` : s}"`;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces every occurrence of any of `from`'s keys in one left-to-right pass, so a new value is never replaced again. */
function replaceAll(text: string, from: ReadonlyMap<string, string>): string {
  if (!from.size || !text) return text;
  // Longest first: where two candidates start at the same place, the longer one is meant.
  const keys = [...from.keys()].sort((a, b) => b.length - a.length);
  return text.replace(new RegExp(keys.map(escapeRegExp).join('|'), 'g'), (m) => from.get(m) ?? m);
}

/** Turns the goal into a pattern: each marked part (an exact substring) becomes `{{name}}` everywhere it occurs. */
export function markParameters(goal: string, marks: Record<string, string>): Marked {
  const entries = Object.entries(marks);
  if (entries.length > MAX_PARAMS) return { ok: false, error: `A saved plan takes at most ${MAX_PARAMS} parameters.` };
  // A literal "{{" would read as a parameter when the plan is used.
  if (goal.includes('{{') || goal.includes('}}'))
    return { ok: false, error: 'The goal contains "{{" or "}}", which saved plans use to mark parameters.' };
  for (const [name, original] of entries) {
    if (!PARAM_NAME.test(name))
      return {
        ok: false,
        error: `The parameter name ${quoted(name)} must start with a lowercase letter and use only a-z, 0-9 and "_" (at most 31 characters).`,
      };
    if (!original.trim()) return { ok: false, error: `Say which part of the goal ${name} stands for.` };
    if (!goal.includes(original)) return { ok: false, error: `${quoted(original)} (for ${name}) is not in the goal.` };
  }
  for (const [i, [a, first]] of entries.entries())
    for (const [b, second] of entries.slice(i + 1))
      if (first.includes(second) || second.includes(first))
        return { ok: false, error: `${a} and ${b} mark overlapping text; mark parts that do not contain each other.` };
  const goalPattern = replaceAll(goal, new Map(entries.map(([name, original]) => [original, placeholder(name)])));
  const lost = entries.find(([name]) => !goalPattern.includes(placeholder(name)));
  if (lost) return { ok: false, error: `${lost[0]} overlaps another marked part of the goal; mark separate parts.` };
  return { ok: true, goalPattern, params: entries.map(([name, original]) => ({ name, original })) };
}

type Token = { key: string; value: string } | { bare: string };

/** Reads `key=word`, `key="several words"` (straight or curly double quotes, `\"` inside) and bare words. */
function tokens(text: string): Token[] | string {
  const out: Token[] = [];
  const source = text.replace(/[\u201C\u201D]/g, '"');
  const pair = /\s*([^\s="]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s"]*))(?=\s|$)/y;
  const unclosed = /\s*[^\s="]*="/y;
  const bare = /\s*(\S+)/y;
  let at = 0;
  while (source.slice(at).trim()) {
    pair.lastIndex = at;
    const p = pair.exec(source);
    if (p) {
      out.push({ key: p[1]!, value: (p[2] === undefined ? (p[3] ?? '') : p[2].replace(/\\(.)/g, '$1')).trim() });
      at = pair.lastIndex;
      continue;
    }
    unclosed.lastIndex = at;
    if (unclosed.test(source)) return 'A quotation mark is not closed.';
    bare.lastIndex = at;
    const b = bare.exec(source)!;
    out.push({ bare: b[1]! });
    at = bare.lastIndex;
  }
  return out;
}

const list = (names: readonly string[]) =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

/**
 * The values in what follows `/orchestrate use <name>`: `key="value with spaces" other=word`, or,
 * when the plan takes exactly one parameter, the whole rest as its value (unless it starts with `that=`).
 */
export function parseUseArguments(text: string, params: readonly string[]): UseArguments {
  const rest = text.trim();
  if (!params.length)
    return rest ? { ok: false, error: 'This saved plan takes no parameters.' } : { ok: true, values: {} };
  const only = params.length === 1 ? params[0]! : null;
  if (only !== null && !rest.toLowerCase().startsWith(`${only}=`)) {
    const whole = (/^["\u201C](.*)["\u201D]$/s.exec(rest)?.[1] ?? rest).trim();
    if (!whole) return { ok: false, error: `Give a value for ${only}.` };
    if (whole.length > MAX_VALUE_CHARS) return { ok: false, error: `The value for ${only} is too long.` };
    return { ok: true, values: { [only]: whole } };
  }
  const read = tokens(rest);
  if (typeof read === 'string') return { ok: false, error: read };
  const values: Record<string, string> = {};
  const given = new Set<string>();
  const problems: string[] = [];
  const unknown: string[] = [];
  for (const token of read) {
    if ('bare' in token) {
      problems.push(`Could not read ${quoted(token.bare)}: write name="value".`);
      continue;
    }
    const key = token.key.toLowerCase();
    if (!params.includes(key)) unknown.push(key);
    else if (given.has(key)) problems.push(`${key} is given twice.`);
    else if (!token.value.trim()) problems.push(`${key} is empty.`);
    else if (token.value.length > MAX_VALUE_CHARS) problems.push(`The value for ${key} is too long.`);
    else values[key] = token.value;
    given.add(key);
  }
  const missing = params.filter((p) => !given.has(p));
  if (unknown.length)
    problems.unshift(
      `${unknown.length === 1 ? 'There is no parameter' : 'There are no parameters'} ${list(unknown.map(quoted))}; this plan takes ${list(params)}.`,
    );
  if (missing.length) problems.push(`Missing ${list(missing)}.`);
  return problems.length ? { ok: false, error: problems.join(' ') } : { ok: true, values };
}

/**
 * Each text of the proposal with the replacements applied. Keys, references (role, dependsOn, uses,
 * research and synthesis roles), tools, models, roster names and output field and column names are
 * identifiers: they keep the plan's wiring intact and are never touched.
 */
export function substituteProposal(p: Proposal, replace: (text: string) => string): Proposal {
  const role = (r: Role): Role => ({
    ...r,
    title: replace(r.title),
    hire: r.hire && {
      ...r.hire,
      name: replace(r.hire.name),
      persona: replace(r.hire.persona),
      skills: r.hire.skills.map(replace),
    },
  });
  const ticket = (t: Ticket): Ticket => ({
    ...t,
    title: replace(t.title),
    description: replace(t.description),
    ...(t.output && {
      output: {
        ...t.output,
        description: replace(t.output.description),
        fields: t.output.fields.map((f) =>
          f.description === undefined ? f : { ...f, description: replace(f.description) },
        ),
      },
    }),
  });
  return {
    ...p,
    goal: replace(p.goal),
    roles: p.roles.map(role),
    tickets: p.tickets.map(ticket),
    research: { ...p.research, prompt: replace(p.research.prompt) },
    discussion: { ...p.discussion, prompt: replace(p.discussion.prompt) },
    synthesis: { ...p.synthesis, prompt: replace(p.synthesis.prompt) },
  };
}

/**
 * The goal (the pattern with the values put in) and the saved proposal with each parameter's
 * original text replaced by its value, validated as any plan is; `context` checks the roster, tools
 * and models of today, which may differ from the day the plan was saved.
 */
export function instantiate(
  template: TemplateShape,
  values: Record<string, string>,
  context: ValidationContext = {},
): Instantiated {
  const names = template.params.map((p) => p.name);
  const missing = names.filter((n) => typeof values[n] !== 'string');
  const unknown = Object.keys(values).filter((k) => !names.includes(k));
  if (missing.length || unknown.length)
    return {
      ok: false,
      violations: [
        ...(missing.length ? [`Missing ${list(missing)}.`] : []),
        ...(unknown.length ? [`This plan takes no ${list(unknown.map(quoted))}.`] : []),
      ],
    };
  const byPlaceholder = new Map(template.params.map((p) => [placeholder(p.name), values[p.name]!]));
  const goal = replaceAll(template.goalPattern, byPlaceholder);
  const byOriginal = new Map(template.params.map((p) => [p.original, values[p.name]!]));
  const proposal = { ...substituteProposal(template.proposal, (text) => replaceAll(text, byOriginal)), goal };
  const checked = validateProposal(proposal, context);
  return checked.ok ? { ok: true, goal, proposal: checked.proposal } : { ok: false, violations: checked.violations };
}
