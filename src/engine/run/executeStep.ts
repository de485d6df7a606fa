/**
 * Executing one pipeline step: the prompt it is owed (goal, persona, ticket, research, positions,
 * dependency results), its LLM call through the budget meter, bounded retries of transient
 * failures, and one repair attempt for an answer that breaks its schema.
 */
import type { z } from 'zod';
import { truncate } from '../../blocks/text.js';
import { hasCode, StepFailure } from '../../errors.js';
import { Agent } from '../../models/agent.js';
import { Step, type StepDoc } from '../../models/run.js';
import type { LlmRequest } from '../llm/client.js';
import {
  agentSystemPrompt,
  type PriorWork,
  positionPrompt,
  researchPrompt,
  synthesisPrompt,
  TOOL_NAMES,
  ticketPrompt,
} from '../llm/prompts.js';
import { abortableSleep, type MeterContext, meteredStructured, meteredText } from '../money/meter.js';
import type { Proposal } from '../plan/proposal.js';
import { MAX_GAP_CHARS, PositionSchema, SynthesisSchema, storedPosition } from '../plan/results.js';

export interface StepOutcome {
  output: string;
  structured: unknown;
  usage: { input: number; output: number; cacheRead: number; cacheWrite: number };
  model: string;
}

export interface StepContext {
  meter: MeterContext;
  signal: AbortSignal;
  maxTokens: number;
  /** Attempts for a transiently failing call, the first included. */
  attempts: number;
  retryBaseMs: number;
  /** Told the synthesis' arguments as they are written, where the model streams: the deliverable shown live. */
  onDraft?: (partialArguments: string) => void;
}

export async function executeStep(proposal: Proposal, step: StepDoc, ctx: StepContext): Promise<StepOutcome> {
  const agent = step.agentId ? await Agent.findById(step.agentId).lean() : null;
  const system = agentSystemPrompt({
    name: agent?.name ?? 'an agent',
    title: agent?.title ?? step.roleKey ?? '',
    persona: agent?.persona ?? '',
  });
  const prior = await priorWork(step);
  const request = (user: string): LlmRequest => ({ system, user, maxTokens: ctx.maxTokens, signal: ctx.signal });

  switch (step.kind) {
    case 'research': {
      const r = await withRetries(ctx, () => meteredText(ctx.meter, request(researchPrompt(proposal))));
      return { output: r.text, structured: null, usage: r.usage, model: r.model };
    }
    case 'discuss': {
      const r = await structuredWithRepair(
        ctx,
        PositionSchema,
        TOOL_NAMES.position,
        request(positionPrompt(proposal, step.roleKey!, prior)),
      );
      return { output: r.value.position, structured: r.value, usage: r.usage, model: r.model };
    }
    case 'ticket': {
      const ticket = proposal.tickets.find((t) => t.key === step.ticketKey);
      if (!ticket) throw new StepFailure(`ticket "${step.ticketKey}" is not in the approved proposal`);
      const deps = await Step.find({ runId: step.runId, key: { $in: step.dependsOn }, kind: 'ticket' }).lean<
        StepDoc[]
      >();
      const dependencies = deps
        .sort((a, b) => a.order - b.order)
        .map((d) => ({
          title: d.title,
          output: d.status === 'succeeded' ? d.output : null,
          failed: d.status !== 'succeeded',
        }));
      const r = await withRetries(ctx, () =>
        meteredText(ctx.meter, request(ticketPrompt(proposal, ticket, prior, dependencies))),
      );
      return { output: r.text, structured: null, usage: r.usage, model: r.model };
    }
    case 'synthesis': {
      const tickets = await Step.find({ runId: step.runId, kind: 'ticket' }).sort({ order: 1 }).lean<StepDoc[]>();
      const roleTitle = new Map(proposal.roles.map((r) => [r.key, r.title]));
      const outcomes = tickets.map((t) => ({
        title: t.title,
        role: roleTitle.get(t.roleKey ?? '') ?? t.roleKey ?? '',
        output: t.status === 'succeeded' ? t.output : null,
        error: t.status === 'succeeded' ? null : (t.error ?? t.skipReason ?? t.status),
      }));
      const r = await structuredWithRepair(
        ctx,
        SynthesisSchema,
        TOOL_NAMES.synthesis,
        request(synthesisPrompt(proposal, prior, outcomes)),
        ctx.onDraft,
      );
      // A failed ticket is always named as a gap, whatever the model wrote.
      const failedGaps = outcomes
        .filter((o) => o.output === null)
        .map((o) => truncate(`"${o.title}" failed: ${o.error}`, MAX_GAP_CHARS));
      const gaps = [...failedGaps, ...r.value.gaps];
      return {
        output: r.value.deliverable,
        structured: { deliverable: r.value.deliverable, gaps },
        usage: r.usage,
        model: r.model,
      };
    }
    default:
      throw new StepFailure(`unknown step kind ${step.kind}`);
  }
}

async function structuredWithRepair<T>(
  ctx: StepContext,
  schema: z.ZodType<T>,
  name: string,
  request: LlmRequest,
  onPartial?: (partialArguments: string) => void,
) {
  let current = request;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const r = await withRetries(ctx, () => meteredStructured(ctx.meter, schema, name, current, onPartial));
    if (r.value !== null) return { ...r, value: r.value };
    if (attempt === 2)
      throw new StepFailure(
        `the answer did not fit its schema after a repair attempt: ${r.violations.slice(0, 3).join('; ')}`,
      );
    current = {
      ...request,
      user: `${request.user}\n\nYour previous answer was rejected: ${r.violations.slice(0, 10).join('; ')}. Call ${name} again with valid arguments.`,
    };
  }
  throw new StepFailure('unreachable');
}

/** Retries transient LLM failures with exponential backoff; each attempt is a new budget reservation. */
async function withRetries<R>(ctx: StepContext, call: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!hasCode(error, 'llm_call') || !error.transient || attempt >= ctx.attempts) throw error;
      await abortableSleep(ctx.retryBaseMs * 2 ** (attempt - 1), ctx.signal);
    }
  }
}

async function priorWork(step: StepDoc): Promise<PriorWork> {
  if (step.kind === 'research') return { research: null, positions: [] };
  const earlier = await Step.find({ runId: step.runId, kind: { $in: ['research', 'discuss'] }, status: 'succeeded' })
    .sort({ order: 1 })
    .lean<StepDoc[]>();
  const research = earlier.find((s) => s.kind === 'research')?.output ?? null;
  const positions =
    step.kind === 'discuss'
      ? []
      : earlier
          .filter((s) => s.kind === 'discuss')
          .map((s) => ({ role: s.title.replace(/^Position: /, ''), ...storedPosition(s.structured, s.output) }));
  return { research, positions };
}
