/**
 * The CEO agent: turns a goal into a validated proposal. The LLM answers with the proposal as
 * tool arguments; an answer that breaks the contract goes back once with its violations, and
 * a second failure becomes a PlanningError the user can read.
 */
import { z } from 'zod';
import { PlanningError } from '../../errors.js';
import { type MeterContext, meteredStructured } from '../money/meter.js';
import type { ToolChoice } from '../plan/choices.js';
import { type Proposal, ProposalSchema } from '../plan/proposal.js';
import { validateProposal } from '../plan/validate.js';
import { clarifyPrompt, plannerPrompt, type RosterEntry, repairPrompt, TOOL_NAMES } from './prompts.js';

export interface PlanInput {
  goal: string;
  roster: RosterEntry[];
  defaultBudgetUsd: number;
  maxBudgetUsd: number;
  maxTokens: number;
  /** The tools that exist (the catalog built at start). None when not given. */
  tools?: readonly ToolChoice[];
  /** The models people may pick per role (config.llm.models), the default first. Only the planning model when not given. */
  models?: readonly string[];
  note?: string | null;
  signal?: AbortSignal;
}

export interface PlanResult {
  proposal: Proposal;
  attempts: number;
  costUsd: number;
}

const ProposalToolSchema = ProposalSchema as unknown as z.ZodType<unknown>;

export async function planProposal(ctx: MeterContext, input: PlanInput): Promise<PlanResult> {
  const choices = { tools: input.tools ?? [], models: input.models ?? [ctx.llm.model] };
  const base = plannerPrompt({ ...input, ...choices });
  let prompt = base;
  let costUsd = 0;
  let violations: string[] = [];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const answer = await meteredStructured(ctx, ProposalToolSchema, TOOL_NAMES.proposal, {
      ...prompt,
      maxTokens: input.maxTokens,
      signal: input.signal,
    });
    costUsd += answer.costUsd;
    const candidate = answer.rawArguments;
    const checked =
      candidate === null
        ? null
        : validateProposal(candidate, { rosterNames: input.roster.map((r) => r.name), ...choices });
    if (checked?.ok) {
      const proposal = { ...checked.proposal, goal: input.goal };
      proposal.budget = { maxUsd: Math.min(proposal.budget.maxUsd, input.maxBudgetUsd) };
      return { proposal, attempts: attempt, costUsd };
    }
    violations = checked ? checked.violations : answer.violations;
    prompt = repairPrompt(base, candidate, violations);
  }
  throw new PlanningError('The CEO agent could not produce a valid plan, even after one repair attempt.', violations);
}

export const MAX_QUESTIONS = 3;
const QuestionsSchema = z.object({
  questions: z
    .array(z.string().min(1).max(300))
    .max(MAX_QUESTIONS)
    .describe('At most three short questions; [] when the goal is clear'),
});

/**
 * The questions the CEO agent wants answered before it plans an ambiguous goal; [] when the goal is
 * clear. Metered like planning. An answer that breaks its schema counts as "no questions": a plan is
 * still owed, and the requester can always ask again.
 */
export async function clarifyingQuestions(
  ctx: MeterContext,
  input: { goal: string; maxTokens: number; signal?: AbortSignal },
): Promise<string[]> {
  const answer = await meteredStructured(ctx, QuestionsSchema, TOOL_NAMES.clarify, {
    ...clarifyPrompt(input.goal),
    maxTokens: input.maxTokens,
    signal: input.signal,
  });
  return (answer.value?.questions ?? [])
    .map((q) => q.trim())
    .filter(Boolean)
    .slice(0, MAX_QUESTIONS);
}
