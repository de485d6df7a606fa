/**
 * Estimates shown before approval. The worst case comes from the plan's shape and the prices of
 * each role's model and is a true ceiling; the typical range and the duration come only from history
 * (25th to 75th percentile of finished steps). Without history they say so: no invented numbers.
 */
import { roleKitOf } from '../plan/choices.js';
import { criticalPathLength, isLlmStep, materialize, type PipelineStep, type StepKind } from '../plan/materializer.js';
import { answerTokensUpperBound, renderedCharsUpperBound } from '../plan/outputs.js';
import type { Proposal } from '../plan/proposal.js';
import { MAX_CONTEXT_CHARS, MAX_STRUCTURED_CONTEXT_CHARS } from '../plan/results.js';
import { inputTokensUpperBound, type Pricer } from './pricing.js';

export interface HistorySample {
  kind: StepKind;
  /** Lowercased name of the agent that ran the step. */
  agentName: string;
  costUsd: number;
  durationMs: number;
  /** The model the step was billed to; samples without one are of the default model. */
  model?: string;
}

/** The prices of each model a role may run on; null is the default model. */
export interface ModelPricers {
  pricerFor(model: string | null): Pricer;
}

export interface Range {
  low: number;
  high: number;
}

export interface Estimate {
  calls: number;
  criticalPath: number;
  worstCaseUsd: number;
  /** Typical cost from history (samples: finished steps it rests on), or null when there is not enough. */
  typicalUsd: (Range & { samples: number }) | null;
  durationMs: Range | null;
  /** The highest estimate we can stand behind is above the cap. */
  overCap: boolean;
}

/** Fewer finished steps than this for a kind, and history says nothing. */
export const MIN_SAMPLES = 3;
/** Bytes of prompt scaffolding (instructions, headings, persona) around a step's own texts. */
const PROMPT_OVERHEAD_BYTES = 2500;

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

function contextBytes(step: PipelineStep, p: Proposal, pipeline: PipelineStep[]): number {
  // Every earlier output that can reach this prompt is clipped (≤ 4 bytes a character): prose to
  // MAX_CONTEXT_CHARS, a declared output to its rendering's bound or the structured clip.
  const clip = MAX_CONTEXT_CHARS * 4;
  const resultBytes = (ticketStep: PipelineStep | undefined) =>
    ticketStep?.output ? renderedCharsUpperBound(ticketStep.output, MAX_STRUCTURED_CONTEXT_CHARS) * 4 : clip;
  const byKey = new Map(pipeline.map((s) => [s.key, s]));
  const research = p.research.enabled && step.kind !== 'research' ? clip : 0;
  const positions =
    p.discussion.enabled && (step.kind === 'ticket' || step.kind === 'synthesis') ? p.roles.length * clip : 0;
  const deps =
    step.kind === 'ticket'
      ? step.dependsOn.filter((d) => d.startsWith('ticket_')).reduce((n, d) => n + resultBytes(byKey.get(d)), 0)
      : 0;
  const tickets =
    step.kind === 'synthesis' ? pipeline.filter((s) => s.kind === 'ticket').reduce((n, s) => n + resultBytes(s), 0) : 0;
  return research + positions + deps + tickets;
}

/**
 * The most a step's call may write: a declared output answered in one call writes no more than its
 * fields can hold (the call is made with that limit), any other step up to the configured limit.
 */
export function outputTokensOf(step: Pick<PipelineStep, 'output'>, hasTools: boolean, maxOutputTokens: number): number {
  return step.output && !hasTools ? Math.min(maxOutputTokens, answerTokensUpperBound(step.output)) : maxOutputTokens;
}

/** What bounds a step's tool loop (ORCHESTRATE_STEP_MAX_TOOL_CALLS, ORCHESTRATE_TOOL_RESULT_MAX_CHARS). */
export interface ToolLoopBounds {
  maxToolCalls: number;
  resultMaxChars: number;
}

/**
 * A step with tools may take a turn per tool call, one to answer and a repair round's: each turn
 * re-sends the transcript, which grows by every result (up to 4 bytes a character, plus the call
 * and its marker) and every earlier answer. Bounded by every turn at the largest transcript.
 */
function loopWorstCase(pricer: Pricer, input: number, maxOutputTokens: number, loop: ToolLoopBounds | null): number {
  if (!loop) return pricer.worstCase(input, maxOutputTokens);
  const turns = loop.maxToolCalls + 3;
  const transcript = loop.maxToolCalls * (loop.resultMaxChars * 4 + 1024) + turns * maxOutputTokens * 4;
  return turns * pricer.worstCase(input + transcript, maxOutputTokens);
}

/**
 * `pricing` is one pricer for every step (a run where every role is on one model) or the pricers
 * of every model, each step then priced, and compared with history, on its role's own model.
 */
export function estimate(
  p: Proposal,
  pricing: Pricer | ModelPricers,
  maxOutputTokens: number,
  history: readonly HistorySample[],
  toolLoop: ToolLoopBounds | null = null,
): Estimate {
  const pricerFor = (model: string | null): Pricer => ('pricerFor' in pricing ? pricing.pricerFor(model) : pricing);
  const defaultModel = pricerFor(null).model;
  const modelOfStep = (step: PipelineStep): string => pricerFor(roleKitOf(p, step.roleKey).model).model;
  const roles = Object.fromEntries(
    p.roles.map((r) => [
      r.key,
      {
        agentId: r.key,
        name: r.existingAgent ?? r.hire?.name ?? r.key,
        title: r.title,
        persona: r.hire?.persona ?? '',
      },
    ]),
  );
  const pipeline = materialize({ proposal: p, revision: 0, roles, ids: { orchestrationId: 'estimate' } });
  const llmSteps = pipeline.steps.filter((s) => isLlmStep(s.kind));
  const ticketByKey = new Map(p.tickets.map((t) => [t.key, t]));

  let worstCaseUsd = 0;
  for (const step of llmSteps) {
    const ticket = step.ticketKey ? ticketByKey.get(step.ticketKey) : undefined;
    const own = [
      p.goal,
      ticket?.description ?? '',
      step.kind === 'research' ? p.research.prompt : '',
      step.kind === 'discuss' ? p.discussion.prompt : '',
      step.kind === 'synthesis' ? p.synthesis.prompt : '',
    ];
    const persona = roles[step.roleKey ?? '']?.persona ?? '';
    const kit = roleKitOf(p, step.roleKey);
    const input = inputTokensUpperBound(
      [...own, persona],
      PROMPT_OVERHEAD_BYTES + contextBytes(step, p, pipeline.steps),
    );
    const hasTools = kit.tools.length > 0;
    const output = outputTokensOf(step, hasTools, maxOutputTokens);
    worstCaseUsd += loopWorstCase(pricerFor(kit.model), input, output, hasTools ? toolLoop : null);
  }

  // Typical cost: per step, the history of the same agent for that kind of step on the same model
  // if there is enough, else of that kind of step on that model overall. Another model's costs
  // say nothing about this one's.
  const byKind = new Map<string, HistorySample[]>();
  const kindKey = (kind: StepKind, model: string) => `${kind}\u0000${model}`;
  for (const h of history) {
    const key = kindKey(h.kind, h.model ?? defaultModel);
    byKind.set(key, [...(byKind.get(key) ?? []), h]);
  }
  let typical: (Range & { samples: number }) | null = { low: 0, high: 0, samples: 0 };
  const durations: number[] = [];
  for (const step of llmSteps) {
    const name = (roles[step.roleKey ?? '']?.name ?? '').toLowerCase();
    const ofKind = byKind.get(kindKey(step.kind, modelOfStep(step))) ?? [];
    const ofAgent = ofKind.filter((h) => h.agentName === name);
    const samples = ofAgent.length >= MIN_SAMPLES ? ofAgent : ofKind;
    if (samples.length < MIN_SAMPLES) {
      typical = null;
      break;
    }
    const costs = samples.map((s) => s.costUsd).sort((a, b) => a - b);
    typical.low += percentile(costs, 25);
    typical.high += percentile(costs, 75);
    durations.push(...samples.map((s) => s.durationMs));
  }
  if (typical) typical.samples = history.length;
  const criticalPath = criticalPathLength(pipeline);
  durations.sort((a, b) => a - b);
  const durationMs =
    typical && durations.length
      ? { low: percentile(durations, 25) * criticalPath, high: percentile(durations, 75) * criticalPath }
      : null;
  const highest = typical ? typical.high : worstCaseUsd;
  return {
    calls: llmSteps.length,
    criticalPath,
    worstCaseUsd,
    typicalUsd: typical,
    durationMs,
    overCap: highest > p.budget.maxUsd,
  };
}
