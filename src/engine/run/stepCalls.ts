/**
 * How a step's LLM calls are made: one metered call when its role has no tools, else the bounded
 * tool loop; transient failures retried with backoff (each attempt a new reservation), and one
 * repair round for an answer that breaks its schema. Either way the step gets its answer, what it
 * cost in tokens, and the tool calls it made.
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { z } from 'zod';
import { hasCode, StepFailure } from '../../errors.js';
import type { LlmRequest } from '../llm/client.js';
import { runToolLoop, type ToolCallRecord } from '../llm/toolLoop.js';
import { abortableSleep, type MeterContext, meteredStructured, meteredText } from '../money/meter.js';
import type { TokenUsage } from '../money/pricing.js';

export interface StepCallContext {
  meter: MeterContext;
  signal: AbortSignal;
  maxTokens: number;
  /** Attempts for a transiently failing call, the first included. */
  attempts: number;
  retryBaseMs: number;
  /** The role's tools, ready for this step; none: one call, as before tools existed. */
  tools: StructuredToolInterface[];
  toolLimits: { maxToolCalls: number; resultMaxChars: number; timeLimitMs: number };
  /** Told the synthesis' arguments as they are written, where the model streams: the deliverable shown live. */
  onDraft?: (partialArguments: string) => void;
}

export interface Answered<A> {
  answer: A;
  usage: TokenUsage;
  model: string;
  toolCalls: ToolCallRecord[];
}

/** Retries transient LLM failures with exponential backoff; each attempt is a new budget reservation. */
export async function withRetries<R>(ctx: StepCallContext, call: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!hasCode(error, 'llm_call') || !error.transient || attempt >= ctx.attempts) throw error;
      await abortableSleep(ctx.retryBaseMs * 2 ** (attempt - 1), ctx.signal);
    }
  }
}

const addUsage = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  input: a.input + b.input,
  output: a.output + b.output,
  cacheRead: a.cacheRead + b.cacheRead,
  cacheWrite: a.cacheWrite + b.cacheWrite,
});

function loopOptions(ctx: StepCallContext, request: LlmRequest) {
  return {
    meter: ctx.meter,
    system: request.system,
    user: request.user,
    tools: ctx.tools,
    maxTokens: request.maxTokens,
    ...ctx.toolLimits,
    signal: ctx.signal,
    retry: <R>(call: () => Promise<R>) => withRetries(ctx, call),
  };
}

/** A plain-text answer. */
export async function answerText(ctx: StepCallContext, request: LlmRequest): Promise<Answered<string>> {
  if (!ctx.tools.length) {
    const r = await withRetries(ctx, () => meteredText(ctx.meter, request));
    return { answer: r.text, usage: r.usage, model: r.model, toolCalls: [] };
  }
  const r = await runToolLoop(loopOptions(ctx, request));
  return { answer: r.answer, usage: r.usage, model: r.model, toolCalls: r.records };
}

export interface StructuredOptions {
  /** Told the arguments as they are written, where the model streams. */
  onPartial?: (partialArguments: string) => void;
  /** Puts a violation ("matrix.0.pricing: is missing") in words, for the repair round and the failure. */
  explain?: (violation: string) => string;
}

/** An answer that must fit `schema`, given as a call of the tool `name`, with one repair round. */
export async function answerStructured<T>(
  ctx: StepCallContext,
  schema: z.ZodType<T>,
  name: string,
  request: LlmRequest,
  { onPartial, explain = (v) => v }: StructuredOptions = {},
): Promise<Answered<T>> {
  const rejected = (violations: string[]) =>
    new StepFailure(
      `the answer did not fit its schema after a repair attempt: ${violations.slice(0, 3).map(explain).join('; ')}`,
    );
  if (!ctx.tools.length) {
    let current = request;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await withRetries(ctx, () => meteredStructured(ctx.meter, schema, name, current, onPartial));
      if (r.value !== null) return { answer: r.value, usage: r.usage, model: r.model, toolCalls: [] };
      if (attempt === 2) throw rejected(r.violations);
      current = {
        ...request,
        user: `${request.user}\n\nYour previous answer was rejected: ${r.violations.slice(0, 10).map(explain).join('; ')}. Call ${name} again with valid arguments.`,
      };
    }
  }
  const answer = { name, description: `Give your final answer by calling ${name}.`, schema };
  const first = await runToolLoop({ ...loopOptions(ctx, request), answer });
  if (first.answer.value !== null)
    return { answer: first.answer.value, usage: first.usage, model: first.model, toolCalls: first.records };
  // The repair round goes on from the transcript (which says why the answer was rejected), with
  // what is left of the step's tool calls.
  const left = Math.max(0, ctx.toolLimits.maxToolCalls - first.records.length);
  const second = await runToolLoop({ ...loopOptions(ctx, request), user: first.messages, maxToolCalls: left, answer });
  const toolCalls = [...first.records, ...second.records];
  if (second.answer.value === null) throw rejected(second.answer.violations);
  return { answer: second.answer.value, usage: addUsage(first.usage, second.usage), model: second.model, toolCalls };
}
