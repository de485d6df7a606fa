/**
 * The CEO agent: turns a goal into a validated proposal. The LLM answers with the proposal as
 * tool arguments; an answer that breaks the contract goes back once with its violations, and
 * a second failure becomes a PlanningError the user can read.
 */
import type { z } from 'zod';
import { PlanningError } from '../../errors.js';
import { type MeterContext, meteredStructured } from '../money/meter.js';
import type { ToolChoice } from '../plan/choices.js';
import { type Proposal, ProposalSchema } from '../plan/proposal.js';
import { validateProposal } from '../plan/validate.js';
import { plannerPrompt, type RosterEntry, repairPrompt, TOOL_NAMES } from './prompts.js';

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
