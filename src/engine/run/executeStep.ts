/**
 * Executing one pipeline step: the prompt it is owed (goal, persona, ticket, research, positions,
 * dependency results), answered through stepCalls.ts (one metered call, or the tool loop when the
 * role has tools), with the tool calls it made.
 */
import { truncate } from '../../blocks/text.js';
import { StepFailure } from '../../errors.js';
import { Step, type StepDoc } from '../../models/run.js';
import type { LlmRequest } from '../llm/client.js';
import {
  type AgentPersona,
  agentSystemPrompt,
  type PriorWork,
  positionPrompt,
  researchPrompt,
  synthesisPrompt,
  TOOL_NAMES,
  ticketPrompt,
} from '../llm/prompts.js';
import type { ToolCallRecord } from '../llm/toolLoop.js';
import { outputTokensOf } from '../money/estimate.js';
import { answerSchemaOf, explainViolation, storedOutputValue } from '../plan/outputs.js';
import { outputMarkdown, outputSummary } from '../plan/outputText.js';
import type { Proposal } from '../plan/proposal.js';
import { MAX_GAP_CHARS, PositionSchema, SynthesisSchema, storedPosition } from '../plan/results.js';
import { readAgent } from './sharedReads.js';
import { answerStructured, answerText, type StepCallContext } from './stepCalls.js';

export interface StepOutcome {
  output: string;
  structured: unknown;
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
  model: string;
  toolCalls: ToolCallRecord[];
  /** The agent's name as the prompt had it: its thread post says it without reading the agent again. */
  agentName?: string;
}

export type StepContext = StepCallContext & {
  /** The files and notes people added to the plan, as one bounded section; empty when none. */
  addedContext?: string;
  /** What the prompt is built from, when the caller started reading it already (see readPromptInputs). */
  inputs?: Promise<PromptInputs>;
};

/** The agent, earlier phases' work and the dependencies' results a step's prompt is built from. */
export interface PromptInputs {
  agent: AgentPersona | null;
  prior: PriorWork;
  /** A ticket's dependencies; for the synthesis, every ticket, in the plan's order. */
  deps: StepDoc[];
}

/**
 * Read together: the prompt is on the run's critical path. Settled work only, so the step job may
 * start these reads alongside its claim, before it knows the step is its own.
 */
export async function readPromptInputs(
  step: Pick<StepDoc, 'agentId' | 'kind' | 'runId' | 'dependsOn'> & { agent?: AgentPersona | undefined },
): Promise<PromptInputs> {
  const [agent, earlier] = await Promise.all([
    step.agentId ? (step.agent ?? readAgent(String(step.agentId))) : null,
    earlierSteps(step),
  ]);
  // Only a ticket's dependencies, or the synthesis' tickets, were read among the tickets.
  const deps = earlier.filter((s) => s.kind === 'ticket');
  return { agent, prior: priorWork(step, earlier), deps };
}

/**
 * The run's steps a step's prompt draws on, in the plan's order, in one read: the research and
 * the positions (except for the research itself), and a ticket's dependencies or, for the
 * synthesis, every ticket.
 */
function earlierSteps(step: Pick<StepDoc, 'kind' | 'runId' | 'dependsOn'>): Promise<StepDoc[]> | StepDoc[] {
  const clauses: Record<string, unknown>[] = [];
  // A ticket that depends on nothing starts the run: a plan with research or a discussion makes
  // every ticket wait for them (materializer.ts), so there is nothing earlier to read at all.
  const entryTicket = step.kind === 'ticket' && step.dependsOn.length === 0;
  if (step.kind !== 'research' && !entryTicket)
    clauses.push({ kind: { $in: ['research', 'discuss'] }, status: 'succeeded' });
  if (step.kind === 'ticket' && !entryTicket) clauses.push({ kind: 'ticket', key: { $in: step.dependsOn } });
  if (step.kind === 'synthesis') clauses.push({ kind: 'ticket' });
  if (!clauses.length) return [];
  return Step.find({ runId: step.runId, $or: clauses }).sort({ order: 1 }).lean<StepDoc[]>();
}

export async function executeStep(proposal: Proposal, step: StepDoc, ctx: StepContext): Promise<StepOutcome> {
  const inputs = await (ctx.inputs ?? readPromptInputs(step));
  const outcome = await answerStep(proposal, step, ctx, inputs);
  return { ...outcome, agentName: inputs.agent?.name ?? '' };
}

async function answerStep(
  proposal: Proposal,
  step: StepDoc,
  ctx: StepContext,
  { agent, prior, deps }: PromptInputs,
): Promise<StepOutcome> {
  const system = agentSystemPrompt({
    name: agent?.name ?? 'an agent',
    title: agent?.title ?? step.roleKey ?? '',
    persona: agent?.persona ?? '',
  });
  // What people added to the plan (files, notes) goes to every step, after its own brief.
  const added = ctx.addedContext ? `\n\n${ctx.addedContext}` : '';
  const request = (user: string): LlmRequest => ({
    system,
    user: `${user}${added}`,
    maxTokens: ctx.maxTokens,
    signal: ctx.signal,
  });

  switch (step.kind) {
    case 'research': {
      const r = await answerText(ctx, request(researchPrompt(proposal)));
      return { output: r.answer, structured: null, usage: r.usage, model: r.model, toolCalls: r.toolCalls };
    }
    case 'discuss': {
      const r = await answerStructured(
        ctx,
        PositionSchema,
        TOOL_NAMES.position,
        request(positionPrompt(proposal, step.roleKey!, prior)),
      );
      return {
        output: r.answer.position,
        structured: r.answer,
        usage: r.usage,
        model: r.model,
        toolCalls: r.toolCalls,
      };
    }
    case 'ticket': {
      const ticket = proposal.tickets.find((t) => t.key === step.ticketKey);
      if (!ticket) throw new StepFailure(`ticket "${step.ticketKey}" is not in the approved proposal`);
      const dependencies = deps
        .sort((a, b) => a.order - b.order)
        .map((d) => ({ ...resultOf(proposal, d), failed: d.status !== 'succeeded' }));
      const previous = step.history?.at(-1);
      // Reworked or re-run: the previous result goes with it, and whatever people said about it.
      const again = previous && (step.feedback || previous.kind === 'rerun');
      const rework = again
        ? { previous: previous.output, feedback: step.feedback ?? '(nothing said: do it again, better)' }
        : null;
      const prompt = request(ticketPrompt(proposal, ticket, prior, dependencies, rework));
      if (!ticket.output) {
        const r = await answerText(ctx, prompt);
        return { output: r.answer, structured: null, usage: r.usage, model: r.model, toolCalls: r.toolCalls };
      }
      const declared = ticket.output;
      // Answered in one call, it writes no more than its fields hold: the hold, and the estimate, are that much smaller.
      const maxTokens = outputTokensOf({ output: declared }, ctx.tools.length > 0, ctx.maxTokens);
      const r = await answerStructured(
        ctx,
        answerSchemaOf(declared),
        TOOL_NAMES.result,
        { ...prompt, maxTokens },
        {
          explain: (v) => explainViolation(declared, v),
        },
      );
      return {
        output: outputMarkdown(declared, r.answer),
        structured: r.answer,
        usage: r.usage,
        model: r.model,
        toolCalls: r.toolCalls,
      };
    }
    case 'synthesis': {
      const tickets = deps;
      const roleTitle = new Map(proposal.roles.map((r) => [r.key, r.title]));
      const outcomes = tickets.map((t) => ({
        ...resultOf(proposal, t),
        role: roleTitle.get(t.roleKey ?? '') ?? t.roleKey ?? '',
        error: t.status === 'succeeded' ? null : (t.error ?? t.skipReason ?? t.status),
      }));
      const r = await answerStructured(
        ctx,
        SynthesisSchema,
        TOOL_NAMES.synthesis,
        request(synthesisPrompt(proposal, prior, outcomes)),
        ctx.onDraft ? { onPartial: ctx.onDraft } : {},
      );
      // A failed ticket is always named as a gap, whatever the model wrote.
      const failedGaps = outcomes
        .filter((o) => o.output === null)
        .map((o) => truncate(`"${o.title}" failed: ${o.error}`, MAX_GAP_CHARS));
      const gaps = [...failedGaps, ...r.answer.gaps];
      return {
        output: r.answer.deliverable,
        structured: { deliverable: r.answer.deliverable, gaps },
        usage: r.usage,
        model: r.model,
        toolCalls: r.toolCalls,
      };
    }
    default:
      throw new StepFailure(`unknown step kind ${step.kind}`);
  }
}

/**
 * A finished ticket's result as later steps read it: a declared output rendered again from its
 * structured value, field by field, under its declaration; prose as it was written.
 */
function resultOf(
  proposal: Proposal,
  step: StepDoc,
): { title: string; output: string | null; declared: string | null; edited?: boolean } {
  if (step.status !== 'succeeded') return { title: step.title, output: null, declared: null };
  if (step.review?.editedBy) return { title: step.title, output: step.output, declared: null, edited: true };
  const declared = proposal.tickets.find((t) => t.key === step.ticketKey)?.output;
  const value = declared ? storedOutputValue(declared, step.structured) : null;
  if (!declared || !value) return { title: step.title, output: step.output, declared: null };
  return { title: step.title, output: outputMarkdown(declared, value), declared: outputSummary(declared) };
}

function priorWork(step: Pick<StepDoc, 'kind'>, earlier: StepDoc[]): PriorWork {
  if (step.kind === 'research') return { research: null, positions: [] };
  const succeeded = earlier.filter((s) => s.status === 'succeeded');
  const research = succeeded.find((s) => s.kind === 'research')?.output ?? null;
  const positions =
    step.kind === 'discuss'
      ? []
      : succeeded
          .filter((s) => s.kind === 'discuss')
          .map((s) => ({ role: s.title.replace(/^Position: /, ''), ...storedPosition(s.structured, s.output) }));
  return { research, positions };
}
