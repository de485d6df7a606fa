/**
 * Every LLM call goes through here: its worst-case cost is reserved against the orchestration's
 * budget before the request leaves, and settled to the real cost after. A call whose
 * reservation does not fit is never made.
 */
import type { Types } from 'mongoose';
import { z } from 'zod';
import { inputTokensUpperBound, reserve, settle, type Pricer, type TokenUsage } from './budget.js';
import { LlmCallError, type ChatLlm, type LlmRequest } from './llm.js';

export class BudgetExceededError extends Error {
  override name = 'BudgetExceededError';
  constructor(readonly neededUsd: number) {
    super('budget exceeded');
  }
}

/** The orchestration ended (cancelled or failed) while this call waited: nothing is spent. */
export class OrchestrationClosedError extends Error {
  override name = 'OrchestrationClosedError';
}

export interface MeterContext {
  orchestrationId: Types.ObjectId | string;
  llm: ChatLlm;
  pricer: Pricer;
  /** Who the reservation is held for ("plan", "step:<id>"), so a resumed holder can release what a crash left. */
  holder?: string;
  /** Told what each call cost (its real cost, or its worst case when it failed) and the tokens it reported, once it is settled. */
  onCost?: (usd: number, usage: TokenUsage | null) => Promise<void> | void;
}

export interface Metered {
  usage: TokenUsage;
  costUsd: number;
  model: string;
}

const schemaBytes = new WeakMap<object, number>();
function toolSchemaBytes(schema: z.ZodType): number {
  let bytes = schemaBytes.get(schema);
  if (bytes === undefined) {
    // Plus room for what a provider adds around a tool definition (Anthropic's tool-use
    // instructions are some hundreds of tokens).
    bytes = Buffer.byteLength(JSON.stringify(z.toJSONSchema(schema)), 'utf8') + 1024;
    schemaBytes.set(schema, bytes);
  }
  return bytes;
}

/** How often a call waiting for other calls' reservations to settle looks again. */
const ROOM_POLL_MS = 200;

/** A wait that a cancel cuts short. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new LlmCallError('the call was aborted', false, true));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new LlmCallError('the call was aborted', false, true));
      },
      { once: true },
    );
  });
}

/**
 * Reserves the call's worst case. While parallel calls hold reservations that leave no room, it
 * waits for them to settle (usually for far less than their worst case) rather than stop the
 * run early; the budget is exceeded only when the call could not fit even with none in flight.
 */
async function reserveWhenRoom(ctx: MeterContext, worstCase: number, signal?: AbortSignal): Promise<string> {
  for (;;) {
    const reservation = await reserve(ctx.orchestrationId, worstCase, ctx.holder);
    if (reservation.ok) return reservation.holdId;
    if (reservation.reason === 'closed') throw new OrchestrationClosedError('the orchestration is no longer running');
    if (!reservation.waitable) throw new BudgetExceededError(worstCase);
    await abortableSleep(ROOM_POLL_MS, signal);
  }
}

async function metered<R extends { usage: TokenUsage }>(
  ctx: MeterContext,
  request: LlmRequest,
  extraBytes: number,
  call: () => Promise<R>,
): Promise<R & Metered> {
  const worstCase = ctx.pricer.worstCase(inputTokensUpperBound([request.system, request.user], extraBytes), request.maxTokens);
  const holdId = await reserveWhenRoom(ctx, worstCase, request.signal);
  let result: R;
  try {
    result = await call();
  } catch (error) {
    // The provider may bill a failed or aborted call: keep its worst case as spent. The step's
    // share is booked before the hold is released, so that once nothing is reserved, every
    // figure has landed.
    await ctx.onCost?.(worstCase, null);
    await settle(ctx.orchestrationId, holdId, worstCase, worstCase);
    throw error;
  }
  // A server that reports no usage cannot be trusted to have cost nothing: book the worst case.
  const reported = result.usage.input + result.usage.output > 0;
  const costUsd = reported ? ctx.pricer.cost(result.usage) : worstCase;
  await ctx.onCost?.(costUsd, result.usage);
  await settle(ctx.orchestrationId, holdId, worstCase, costUsd);
  return { ...result, costUsd, model: ctx.llm.model };
}

export function meteredText(ctx: MeterContext, request: LlmRequest) {
  return metered(ctx, request, 0, () => ctx.llm.text(request));
}

export function meteredStructured<T>(ctx: MeterContext, schema: z.ZodType<T>, name: string, request: LlmRequest) {
  return metered(ctx, request, toolSchemaBytes(schema), () => ctx.llm.structured(schema, name, request));
}
