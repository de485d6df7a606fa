/**
 * Every LLM call goes through here: its worst-case cost is reserved against the orchestration's
 * budget before the request leaves (a hold of its own, or for a step's calls, room taken from the
 * process' lease), and settled to the real cost after. A call whose reservation does not fit is
 * never made.
 */
import { z } from 'zod';
import { BudgetExceededError, LlmCallError, OrchestrationClosedError } from '../../errors.js';
import type { ChatLlm, LlmRequest, LlmTurnRequest } from '../llm/client.js';
import type { OrchestrationId } from '../plan/ids.js';

/** A finished run whose deliverable can still be asked about. */
const ANSWERABLE = ['completed', 'failed'] as const;

import { OPEN_STATUSES, type ReserveOutcome, releaseStaleHolds, reserve, settle } from './budget.js';
import type { BudgetLeases } from './lease.js';
import { bookLeftLeases } from './leaseStore.js';
import { inputTokensUpperBound, type Pricer, type TokenUsage } from './pricing.js';
import { turnInputTokensUpperBound } from './transcriptBounds.js';

export interface MeterContext {
  orchestrationId: OrchestrationId;
  llm: ChatLlm;
  pricer: Pricer;
  /** Who the reservation is held for ("plan", "step:<id>"), so a resumed holder can release what a crash left. */
  holder?: string;
  /** Told what each call cost (its real cost, or its worst case when it failed) and the tokens it reported, once it is settled. */
  onCost?: (usd: number, usage: TokenUsage | null) => Promise<void> | void;
  /** How long a call may wait for room held by other calls, and when a planning hold counts as left behind. */
  room?: { maxWaitMs: number; staleAfterMs: number };
  /** Where a discrepancy is reported (usage beyond what was possible). */
  warn?: (line: string) => void;
  /** A question asked of a finished run: its call may be reserved although the run has ended. */
  afterEnd?: boolean;
  /** Told as each request leaves, its reservation made: the hand-off that led to it is over. */
  onRequest?: () => void;
  /** Takes each call's booking rather than have the call wait for it (a step's calls: see LateBooking). */
  late?: LateBooking;
  /** Where a step's calls take their room: the process' lease, rather than a hold and a settle each. */
  lease?: BudgetLeases;
}

/**
 * Bookings a caller completes itself: a step's last call settles alongside the write that stores
 * its result, and its cost goes in that write, rather than two writes ahead of it (a hand-off is
 * the run's critical path). `before` is awaited ahead of every reservation, so that a call always
 * finds the settles of the calls before it done.
 */
export interface LateBooking {
  before(): Promise<void>;
  /** `settling`: the call's settle (its room given back), under way; `usd` and `usage`: the step's share. */
  after(settling: Promise<unknown>, usd: number, usage: TokenUsage | null): void;
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
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LlmCallError('the call was aborted', false, true));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A call's room, held until the call is over: `settle` books what it cost and gives back the rest. */
interface Held {
  settle(costUsd: number): Promise<unknown>;
}

/** The call's worst case, held: from the process' lease for a step's calls, else as a hold of its own. */
async function tryHold(
  ctx: MeterContext,
  worstCase: number,
): Promise<{ ok: true; held: Held } | Exclude<ReserveOutcome, { ok: true }>> {
  const statuses = ctx.afterEnd ? ANSWERABLE : undefined;
  const { lease, orchestrationId: id } = ctx;
  if (lease) {
    const taken = await lease.take(id, worstCase, statuses ?? OPEN_STATUSES);
    if (!taken.ok) return taken;
    return { ok: true, held: { settle: async (costUsd) => lease.settle(taken.ticket, costUsd) } };
  }
  const reserved = await reserve(id, worstCase, ctx.holder, statuses);
  if (!reserved.ok) return reserved;
  return { ok: true, held: { settle: (costUsd) => settle(id, reserved.holdId, worstCase, costUsd) } };
}

/**
 * Holds the call's worst case. While parallel calls hold reservations that leave no room, it
 * waits for them to settle (usually for far less than their worst case) rather than stop the
 * run early; the budget is exceeded only when the call could not fit even with none in flight.
 * Holds and leases whose holder is gone (a dead process's) are booked as spent rather than waited
 * for, and the wait is bounded: past it, the run stops for its budget, and a raised cap resumes it.
 */
async function holdWhenRoom(ctx: MeterContext, worstCase: number, signal?: AbortSignal): Promise<Held> {
  const room = ctx.room ?? { maxWaitMs: 10 * 60_000, staleAfterMs: 5 * 60_000 };
  const deadline = Date.now() + room.maxWaitMs;
  for (;;) {
    const outcome = await tryHold(ctx, worstCase);
    if (outcome.ok) return outcome.held;
    if (outcome.reason === 'closed') throw new OrchestrationClosedError('the orchestration is no longer running');
    if (!outcome.waitable || Date.now() > deadline) throw new BudgetExceededError(worstCase);
    const id = ctx.orchestrationId;
    const released =
      (await releaseStaleHolds(id, room.staleAfterMs, ctx.llm.model)) +
      (await bookLeftLeases(id, room.staleAfterMs, ctx.lease?.keys(id)));
    if (released > 0) continue;
    await abortableSleep(ROOM_POLL_MS, signal);
  }
}

/** What bounds a call's cost: its input tokens at most, its output tokens at most. */
interface CallBounds {
  inputTokens: number;
  maxTokens: number;
  signal?: AbortSignal | undefined;
}

const promptBounds = (request: LlmRequest, extraBytes: number): CallBounds => ({
  inputTokens: inputTokensUpperBound([request.system, request.user], extraBytes),
  maxTokens: request.maxTokens,
  signal: request.signal,
});

async function metered<R extends { usage: TokenUsage }>(
  ctx: MeterContext,
  bounds: CallBounds,
  call: () => Promise<R>,
): Promise<R & Metered> {
  const worstCase = ctx.pricer.worstCase(bounds.inputTokens, bounds.maxTokens);
  await ctx.late?.before();
  const held = await holdWhenRoom(ctx, worstCase, bounds.signal);
  let result: R;
  try {
    ctx.onRequest?.();
    result = await call();
  } catch (error) {
    // The provider may bill a failed or aborted call: keep its worst case as spent.
    await book(ctx, held, worstCase, null);
    throw error;
  }
  // A server that reports no usage cannot be trusted to have cost nothing: book the worst case.
  const reported = result.usage.input + result.usage.output > 0;
  const priced = reported ? ctx.pricer.cost(result.usage) : worstCase;
  // Usage beyond the bounds the request set (max_tokens, the prompt's bytes) cannot be real: a
  // provider or proxy misreporting it must not book more than was reserved, or spend passes the cap.
  const costUsd = Math.min(priced, worstCase);
  if (priced > worstCase + 1e-12) {
    ctx.warn?.(
      `${ctx.llm.model} reported usage costing $${priced.toFixed(6)}, above the call's worst case of ` +
        `$${worstCase.toFixed(6)} (${result.usage.input} in, ${result.usage.output} out); booked the worst case`,
    );
  }
  await book(ctx, held, costUsd, result.usage);
  return { ...result, costUsd, model: ctx.llm.model };
}

/**
 * Settles the hold on the orchestration (what the cap is enforced on) and books the caller's share
 * (a rollup line); if that write fails, the rollup shows the amount under planning, but the spend
 * is right. With `late`, the caller completes both (see LateBooking).
 */
async function book(ctx: MeterContext, held: Held, costUsd: number, usage: TokenUsage | null): Promise<void> {
  if (ctx.late) {
    ctx.late.after(held.settle(costUsd), costUsd, usage);
    return;
  }
  // Two documents, written together: the step's share is best effort either way (a rollup line),
  // and the settle is what the cap counts.
  await Promise.all([
    held.settle(costUsd),
    Promise.resolve()
      .then(() => ctx.onCost?.(costUsd, usage))
      .catch(() => undefined),
  ]);
}

export function meteredText(ctx: MeterContext, request: LlmRequest) {
  return metered(ctx, promptBounds(request, 0), () => ctx.llm.text(request));
}

export function meteredStructured<T>(
  ctx: MeterContext,
  schema: z.ZodType<T>,
  name: string,
  request: LlmRequest,
  onPartial?: (partialArguments: string) => void,
) {
  return metered(ctx, promptBounds(request, toolSchemaBytes(schema)), () =>
    ctx.llm.structured(schema, name, request, onPartial),
  );
}

/**
 * One turn of a tool conversation. Its worst case covers the whole transcript so far and the
 * tools' definitions, so each turn of a loop reserves what it could really cost, and a turn that
 * does not fit under the cap is never made.
 */
export function meteredTurn(ctx: MeterContext, request: LlmTurnRequest) {
  return metered(
    ctx,
    { inputTokens: turnInputTokensUpperBound(request), maxTokens: request.maxTokens, signal: request.signal },
    () => ctx.llm.turn(request),
  );
}
