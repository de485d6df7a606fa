/**
 * The words sent to the LLM. Kept apart from the control flow so that what each step is told
 * can be read, and tested, in one place.
 */
import type { ToolChoice } from '../plan/choices.js';
import type { DeclaredOutput } from '../plan/outputs.js';
import { outputSummary } from '../plan/outputText.js';
import { MAX_ROLES, MAX_TICKETS, type Proposal } from '../plan/proposal.js';
import { MAX_CONTEXT_CHARS, MAX_STRUCTURED_CONTEXT_CHARS } from '../plan/results.js';

export const TOOL_NAMES = {
  proposal: 'propose_plan',
  position: 'state_position',
  synthesis: 'deliver_synthesis',
  result: 'deliver_result',
  clarify: 'ask_clarifying_questions',
} as const;

const clip = (text: string, max = MAX_CONTEXT_CHARS) =>
  text.length > max ? `${text.slice(0, max)}\n[…truncated]` : text;

export interface RosterEntry {
  name: string;
  title: string;
  skills: string[];
}

export function plannerPrompt(input: {
  goal: string;
  roster: RosterEntry[];
  defaultBudgetUsd: number;
  maxBudgetUsd: number;
  /** The tools that exist: the CEO agent may give a role only these. */
  tools: readonly ToolChoice[];
  /** The models that may be chosen per role, the default first. */
  models: readonly string[];
  note?: string | null;
}): { system: string; user: string } {
  const roster = input.roster.length
    ? input.roster
        .map((a) => `- ${a.name}: ${a.title}${a.skills.length ? ` (skills: ${a.skills.join(', ')})` : ''}`)
        .join('\n')
    : '(the roster is empty: hire every role)';
  const system = [
    'You are the CEO agent of Orchestrate. A team hands you a goal; you plan how a small crew of AI agents will reach it.',
    `Answer only by calling the ${TOOL_NAMES.proposal} tool. Rules:`,
    `- At most ${MAX_ROLES} roles and ${MAX_TICKETS} tickets. Prefer few, well-scoped tickets.`,
    '- Each role reuses an agent from the roster (existingAgent = its exact name, hire = null) or hires a new one (existingAgent = null, hire set). Never both, never neither.',
    '- Keys are lowercase slugs, unique among roles and among tickets. A ticket names its role by key.',
    '- dependsOn lists the keys of tickets whose results a ticket needs. No cycles. Independent tickets run in parallel.',
    '- Enable research when facts must be gathered before work starts; enable discussion when roles should state positions first.',
    "- output: where the structure of a ticket's result matters (a comparison, figures, a list to act on), declare it: a one-line description and a few named fields, each a string, number, boolean, list (of strings) or table (with its columns). Leave output out where the result is prose.",
    '- uses: when a ticket builds on declared fields of a ticket it depends on, list them as "ticket.field"; only fields that ticket declares.',
    '- review: true on a ticket whose result people should check before anything builds on it (a key decision, a claim that is costly if wrong); leave it out otherwise.',
    '- discussion.pauseForPeople: leave it out (people weigh in after the positions) unless the goal asks for a hands-off run; then false.',
    '- The synthesis role turns every ticket result into the deliverable.',
    '- tools: the names of the available tools a role needs for its work (searching, reading pages, ...), from the list given, and no others; [] when it needs none. Each tool call costs time and money: give only what the role will use.',
    `- model: null for the default model${input.models.length > 1 ? ', or another of the listed models where a role needs it (a stronger one for hard reasoning, a cheaper one for simple work)' : ''}.`,
    `- budget.maxUsd: about ${input.defaultBudgetUsd}, never above ${input.maxBudgetUsd}.`,
  ].join('\n');
  const user = [
    `Goal: ${input.goal}`,
    '',
    'Roster of existing agents:',
    roster,
    '',
    'Available tools:',
    toolList(input.tools),
    '',
    'Models that may be chosen:',
    modelList(input.models),
    ...(input.note ? ['', `Note from the requester: ${input.note}`] : []),
  ].join('\n');
  return { system, user };
}

/** One line a tool, its summary cut short: the list must stay a small part of the prompt however many tools exist. */
function toolList(tools: readonly ToolChoice[]): string {
  if (!tools.length) return '(none: every role gets tools: [])';
  return tools.map((t) => `- ${t.name}: ${t.summary.replace(/\s+/g, ' ').trim().slice(0, 200)}`).join('\n');
}

function modelList(models: readonly string[]): string {
  return models.map((m, i) => (i === 0 ? `- ${m} (the default: model null)` : `- ${m}`)).join('\n');
}

/** Before the first plan: whether the goal is clear enough, or the few questions whose answers would change it. */
export function clarifyPrompt(goal: string): { system: string; user: string } {
  return {
    system: [
      'You are the CEO agent of Orchestrate. Before you plan a goal, you decide whether it is clear enough to plan.',
      `Answer only by calling ${TOOL_NAMES.clarify}. Ask only when the goal is ambiguous in a way that would change the plan (its audience, scope, format, or a choice only the requester can make); ask at most three short questions, each answerable in a sentence. When the goal is clear enough, call it with questions: [].`,
    ].join('\n'),
    user: `Goal: ${goal}`,
  };
}

/** The requester's answers, as the planning prompt's note. */
export function clarificationNote(questions: readonly string[], answers: readonly string[]): string {
  return [
    'Before planning you asked, and the requester answered:',
    ...questions.map((q, i) => `- Q: ${q}\n  A: ${answers[i]?.trim() || '(no answer)'}`),
  ].join('\n');
}

export function repairPrompt(base: { system: string; user: string }, previous: unknown, violations: string[]) {
  return {
    system: base.system,
    user: [
      base.user,
      '',
      'Your previous plan was rejected for these reasons:',
      ...violations.map((v) => `- ${v}`),
      '',
      ...(previous === null || previous === undefined
        ? []
        : ['Previous plan:', JSON.stringify(previous).slice(0, 8000)]),
      '',
      `Call ${TOOL_NAMES.proposal} again with a corrected plan.`,
    ].join('\n'),
  };
}

export interface AgentPersona {
  name: string;
  title: string;
  persona: string;
}

export function agentSystemPrompt(agent: AgentPersona): string {
  return `You are ${agent.name}, ${agent.title}. ${agent.persona}\nYou are part of a crew working toward one goal. Be concrete and concise; write in Markdown.`;
}

export interface PriorWork {
  research: string | null;
  positions: { role: string; position: string; risks: string[] }[];
}

function priorWorkSection(prior: PriorWork): string[] {
  const out: string[] = [];
  if (prior.research) out.push('', '## Research findings', clip(prior.research));
  if (prior.positions.length) {
    out.push('', '## Positions from the discussion round');
    for (const p of prior.positions) {
      out.push(`- ${p.role}: ${clip(p.position)}${p.risks.length ? ` (risks: ${p.risks.join('; ')})` : ''}`);
    }
  }
  return out;
}

/**
 * Every cited URL is checked against what the run really retrieved, and shown as retrieved or not:
 * asking for sources as links makes them findable, and asking for none from memory keeps the
 * "not retrieved" count honest.
 */
const SOURCES_RULE =
  'End with a **Sources** section: the URLs you used, one link per line, only pages you searched or read in this run (write "none" if there are none).';

export function researchPrompt(proposal: Proposal): string {
  return [
    `# Goal\n${proposal.goal}`,
    '',
    `# Research brief\n${proposal.research.prompt}`,
    '',
    `Report your findings as Markdown. ${SOURCES_RULE}`,
  ].join('\n');
}

export function positionPrompt(proposal: Proposal, roleKey: string, prior: PriorWork): string {
  const role = proposal.roles.find((r) => r.key === roleKey);
  return [
    `# Goal\n${proposal.goal}`,
    '',
    `# Discussion\n${proposal.discussion.prompt}`,
    '',
    `# The plan\n${proposal.tickets.map((t) => `- ${t.title} (${t.role})`).join('\n')}`,
    ...priorWorkSection(prior),
    '',
    `As ${role?.title ?? roleKey}, call ${TOOL_NAMES.position} with your position on how to approach the goal and the risks you see.`,
  ].join('\n');
}

export interface DependencyResult {
  title: string;
  output: string | null;
  failed: boolean;
  /** What the dependency declared it produces, in one line, when its result is structured. */
  declared?: string | null;
  /** A person replaced the result with their own text. */
  edited?: boolean;
}

/** A structured result is given field by field under its declaration, so that nobody guesses at its shape. */
function resultText(output: string, declared: string | null | undefined, edited?: boolean): string {
  if (edited) return `A person on the team edited this result; their text replaces the agent's:\n${clip(output)}`;
  return declared
    ? `Structured result, declared as: ${declared}. Each field is labelled with its name and type.\n${clip(output, MAX_STRUCTURED_CONTEXT_CHARS)}`
    : clip(output);
}

export function ticketPrompt(
  proposal: Proposal,
  ticket: { title: string; description: string; output?: DeclaredOutput; uses?: string[] },
  prior: PriorWork,
  dependencies: DependencyResult[],
  rework: { previous: string | null; feedback: string } | null = null,
): string {
  const deps = dependencies.length
    ? [
        '',
        '## Results of the tickets this one depends on',
        ...dependencies.map((d) =>
          d.failed || d.output === null
            ? `### ${d.title}\n(This ticket failed; its result is not available. Work around the gap and say so.)`
            : `### ${d.title}\n${resultText(d.output, d.declared, d.edited)}`,
        ),
        ...(ticket.uses?.length ? ['', `You build on these fields: ${ticket.uses.join(', ')}.`] : []),
      ]
    : [];
  const deliver = ticket.output
    ? `Call ${TOOL_NAMES.result} with your result: ${outputSummary(ticket.output)}. Fill every field; put the URLs of pages you used in the fields they support, and only pages you searched or read in this run.`
    : `Deliver the result of your ticket as Markdown. ${SOURCES_RULE}`;
  return [
    `# Goal\n${proposal.goal}`,
    '',
    `# Your ticket: ${ticket.title}\n${ticket.description}`,
    ...priorWorkSection(prior),
    ...deps,
    ...(rework
      ? [
          '',
          '## Your previous result, sent back for rework',
          clip(rework.previous ?? '(none)'),
          '',
          '## What people asked you to change',
          rework.feedback,
          '',
          'Deliver the whole result again, with their changes made.',
        ]
      : []),
    '',
    deliver,
  ].join('\n');
}

export interface TicketOutcome {
  title: string;
  role: string;
  output: string | null;
  error: string | null;
  /** What the ticket declared it produces, in one line, when its result is structured. */
  declared?: string | null;
  /** A person replaced the result with their own text. */
  edited?: boolean;
}

export function synthesisPrompt(proposal: Proposal, prior: PriorWork, outcomes: TicketOutcome[]): string {
  return [
    `# Goal\n${proposal.goal}`,
    '',
    `# Synthesis brief\n${proposal.synthesis.prompt}`,
    ...priorWorkSection(prior),
    '',
    '## Ticket results',
    ...outcomes.map((o) =>
      o.output !== null
        ? `### ${o.title} (${o.role})\n${resultText(o.output, o.declared, o.edited)}`
        : `### ${o.title} (${o.role})\nFAILED: ${o.error ?? 'no result'}. Name this as a gap.`,
    ),
    '',
    `Call ${TOOL_NAMES.synthesis} with the deliverable (Markdown) and the list of known gaps. Carry the sources the ticket results cite into a final **Sources** section of the deliverable, as links.`,
  ].join('\n');
}
