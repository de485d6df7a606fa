/**
 * Money: prices from a maintained offline table (or operator overrides), and the hard ceiling.
 * Before every LLM call its worst-case cost is reserved against the orchestration's budget by one
 * conditional update of the orchestration document; afterwards it is settled to the real cost.
 * Because the worst case is a true upper bound, spend can never pass the cap.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { Types } from 'mongoose';
import type { ConfiguredPrice } from '../config.js';
import { ACTIVE_STATUSES, Orchestration, type BudgetHold } from '../models/orchestration.js';
import { Step } from '../models/run.js';

export class UnknownPriceError extends Error {
  override name = 'UnknownPriceError';
  constructor(readonly model: string) {
    super(
      `No price is known for model "${model}". Add it to ORCHESTRATE_PRICES, e.g. {"${model}":{"inputPerMTok":1,"outputPerMTok":2}}, so that budgets can be enforced.`,
    );
  }
}

export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Pricer {
  readonly model: string;
  cost(usage: TokenUsage): number;
  /** Most a call can cost: every input token at the dearest input rate, every allowed output token. */
  worstCase(inputTokensUpperBound: number, maxOutputTokens: number): number;
}

export function createPricer(model: string, overrides: Record<string, ConfiguredPrice>): Pricer {
  const override = overrides[model];
  if (override) {
    const perToken = (perM: number | undefined, fallback: number) => (perM ?? fallback) / 1_000_000;
    const input = perToken(override.inputPerMTok, 0);
    const output = perToken(override.outputPerMTok, 0);
    const cacheRead = perToken(override.cacheReadPerMTok, override.inputPerMTok);
    const cacheWrite = perToken(override.cacheWritePerMTok, override.inputPerMTok);
    return {
      model,
      cost: (u) => {
        const plain = Math.max(0, u.input - u.cacheRead - u.cacheWrite);
        return plain * input + u.cacheRead * cacheRead + u.cacheWrite * cacheWrite + u.output * output;
      },
      worstCase: (inTok, outTok) => inTok * Math.max(input, cacheRead, cacheWrite) + outTok * output,
    };
  }
  if (!calcPrice({ input_tokens: 1, output_tokens: 1 }, model)) throw new UnknownPriceError(model);
  const price = (usage: Record<string, number>) => calcPrice(usage, model)?.total_price ?? 0;
  return {
    model,
    cost: (u) =>
      price({ input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite }),
    worstCase: (inTok, outTok) =>
      Math.max(
        price({ input_tokens: inTok, output_tokens: outTok }),
        price({ input_tokens: inTok, cache_write_tokens: inTok, output_tokens: outTok }),
      ),
  };
}

/**
 * An upper bound on the input tokens of a prompt. Byte-level BPE tokenizers never make a token
 * of less than one byte, so the UTF-8 length plus a per-message framing allowance bounds it.
 */
export function inputTokensUpperBound(texts: readonly string[], extraBytes = 0): number {
  const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0) + extraBytes;
  return bytes + 8 * texts.length + 16;
}

/**
 * `budget` with `waitable`: the call would fit but for other calls' reservations, which may yet
 * settle for less than their worst case. Without it, the call can never fit under the cap.
 */
export type ReserveOutcome = { ok: true; holdId: string } | { ok: false; reason: 'budget'; waitable: boolean } | { ok: false; reason: 'closed' };

const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;
const OPEN_STATUSES = [...ACTIVE_STATUSES];

/**
 * Reserves `usd` for `holder` (e.g. "step:<id>") if spent + reserved + usd stays within the cap.
 * One conditional update decides it on the server, so parallel steps cannot together pass the
 * cap; the hold is recorded in the same update, so a crash can never leave it unaccounted for.
 */
export async function reserve(orchestrationId: Types.ObjectId | string, usd: number, holder = 'call'): Promise<ReserveOutcome> {
  const amount = roundUsd(usd);
  const holdId = new Types.ObjectId().toHexString();
  const fits = { $lte: [{ $add: ['$budget.spentUsd', '$budget.reservedUsd', amount] }, { $add: ['$budget.maxUsd', 1e-9] }] };
  const reserved = await Orchestration.updateOne(
    { _id: orchestrationId, status: { $in: OPEN_STATUSES }, $expr: fits },
    { $inc: { 'budget.reservedUsd': amount }, $push: { 'budget.holds': { id: holdId, holder, usd: amount, at: new Date() } } },
  );
  if (reserved.modifiedCount === 1) return { ok: true, holdId };
  const doc = await Orchestration.findById(orchestrationId, { status: 1, budget: 1 }).lean();
  if (!doc || !OPEN_STATUSES.includes(doc.status)) return { ok: false, reason: 'closed' };
  return { ok: false, reason: 'budget', waitable: doc.budget.spentUsd + amount <= doc.budget.maxUsd + 1e-9 };
}

/**
 * Releases a hold and books the real cost, in one atomic update. It only applies while the hold
 * exists, so a hold is settled exactly once even if a resumed step already released it.
 */
export async function settle(orchestrationId: Types.ObjectId | string, holdId: string, reservedUsd: number, actualUsd: number): Promise<boolean> {
  const res = await Orchestration.updateOne(
    { _id: orchestrationId, 'budget.holds.id': holdId },
    {
      $inc: { 'budget.spentUsd': roundUsd(actualUsd), 'budget.reservedUsd': -roundUsd(reservedUsd) },
      $pull: { 'budget.holds': { id: holdId } },
    },
  );
  return res.modifiedCount === 1;
}

/** A hold held for a step ("step:<id>"): its step's id, else null (planning). */
function stepOf(holder: string): string | null {
  return holder.startsWith('step:') ? holder.slice('step:'.length) : null;
}

/**
 * Books a hold whose call may have been billed but never settled (its process died) at its
 * worst case; a step's share is booked on the step too, with the model billed, so that the
 * rollup still adds up. Exactly once: only while the hold exists.
 */
async function bookLeftBehind(orchestrationId: Types.ObjectId | string, hold: BudgetHold, model: string): Promise<number> {
  if (!(await settle(orchestrationId, hold.id, hold.usd, hold.usd))) return 0;
  const stepId = stepOf(hold.holder);
  if (stepId) await Step.updateOne({ _id: stepId }, { $inc: { costUsd: hold.usd }, $set: { model } });
  return hold.usd;
}

/** Books as spent every hold `holder` left behind (see bookLeftBehind). Returns what was booked. */
export async function releaseHolds(orchestrationId: Types.ObjectId | string, holder: string, model: string): Promise<number> {
  const doc = await Orchestration.findById(orchestrationId, { 'budget.holds': 1 }).lean();
  let booked = 0;
  for (const hold of doc?.budget.holds?.filter((h) => h.holder === holder) ?? []) booked += await bookLeftBehind(orchestrationId, hold, model);
  return booked;
}

/**
 * Books as spent the holds whose holder is gone, so that the room they took is known to be used
 * up rather than waited for: a step's hold once the step is no longer running under a live lease
 * (its process died), any other hold (planning) once it is older than `otherMaxAgeMs`. Returns
 * what was booked.
 */
export async function releaseStaleHolds(orchestrationId: Types.ObjectId | string, otherMaxAgeMs: number, model: string): Promise<number> {
  const doc = await Orchestration.findById(orchestrationId, { 'budget.holds': 1 }).lean();
  const holds = doc?.budget.holds ?? [];
  if (!holds.length) return 0;
  const now = Date.now();
  const stepIds = holds.flatMap((h) => stepOf(h.holder) ?? []);
  const live = new Set(
    (await Step.find({ _id: { $in: stepIds }, status: 'running', leaseUntil: { $gt: new Date(now) } }, { _id: 1 }).lean()).map((s) => String(s._id)),
  );
  let booked = 0;
  for (const hold of holds) {
    const stepId = stepOf(hold.holder);
    const stale = stepId ? !live.has(stepId) : hold.at !== undefined && now - new Date(hold.at).getTime() > otherMaxAgeMs;
    if (stale) booked += await bookLeftBehind(orchestrationId, hold, model);
  }
  return booked;
}
