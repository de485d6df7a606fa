/**
 * Every LLM call goes through here: its worst-case cost is reserved against the orchestration's
 * budget before the request leaves, and settled to the real cost after. A call whose
 * reservation does not fit is never made.
 */
import type { Types } from 'mongoose';
import { z } from 'zod';
import { inputTokensUpperBound, reserve, settle, type Pricer, type TokenUsage } from './budget.js';
import type { ChatLlm, LlmRequest } from './llm.js';

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
  /** Told what each call cost (its real cost, or its worst case when it failed) and the tokens it reported. */
  onCost?: (usd: number, usage: TokenUsage | null) => void;
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
    bytes = Buffer.byteLength(JSON.stringify(z.toJSONSchema(schema)), 'utf8') + 256;
    schemaBytes.set(schema, bytes);
  }
  return bytes;
}

async function metered<R extends { usage: TokenUsage }>(
  ctx: MeterContext,
  request: LlmRequest,
  extraBytes: number,
  call: () => Promise<R>,
): Promise<R & Metered> {
  const worstCase = ctx.pricer.worstCase(inputTokensUpperBound([request.system, request.user], extraBytes), request.maxTokens);
  const reservation = await reserve(ctx.orchestrationId, worstCase, ctx.holder);
  if (!reservation.ok) {
    if (reservation.reason === 'budget') throw new BudgetExceededError(worstCase);
    throw new OrchestrationClosedError('the orchestration is no longer running');
  }
  let result: R;
  try {
    result = await call();
  } catch (error) {
    // The provider may bill a failed or aborted call: keep its worst case as spent.
    await settle(ctx.orchestrationId, reservation.holdId, worstCase, worstCase);
    ctx.onCost?.(worstCase, null);
    throw error;
  }
  const costUsd = ctx.pricer.cost(result.usage);
  await settle(ctx.orchestrationId, reservation.holdId, worstCase, costUsd);
  ctx.onCost?.(costUsd, result.usage);
  return { ...result, costUsd, model: ctx.llm.model };
}

export function meteredText(ctx: MeterContext, request: LlmRequest) {
  return metered(ctx, request, 0, () => ctx.llm.text(request));
}

export function meteredStructured<T>(ctx: MeterContext, schema: z.ZodType<T>, name: string, request: LlmRequest) {
  return metered(ctx, request, toolSchemaBytes(schema), () => ctx.llm.structured(schema, name, request));
}
