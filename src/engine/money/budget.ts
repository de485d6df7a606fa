/**
 * The hard ceiling. Before every LLM call its worst-case cost is reserved against the
 * orchestration's budget by one conditional update of the orchestration document; afterwards it
 * is settled to the real cost. Because the worst case is a true upper bound, spend can never pass
 * the cap.
 */
import { Types } from 'mongoose';
import { type BudgetHold, Orchestration } from '../../models/orchestration.js';
import { Step } from '../../models/run.js';
import type { OrchestrationId } from '../plan/ids.js';
import { ACTIVE_STATUSES, type OrchestrationStatus } from '../plan/status.js';
import { groupCommit } from './groupCommit.js';

/**
 * `budget` with `waitable`: the call would fit but for other calls' reservations, which may yet
 * settle for less than their worst case. Without it, the call can never fit under the cap.
 */
export type ReserveOutcome =
  | { ok: true; holdId: string }
  | { ok: false; reason: 'budget'; waitable: boolean }
  | { ok: false; reason: 'closed' };

export const roundUsd = (usd: number) => Math.round(usd * 1e9) / 1e9;
export const OPEN_STATUSES: readonly OrchestrationStatus[] = [...ACTIVE_STATUSES];

/**
 * Reserves `usd` for `holder` (e.g. "step:<id>") if spent + reserved + usd stays within the cap.
 * One conditional update decides it on the server, so parallel steps cannot together pass the
 * cap; the hold is recorded in the same update, so a crash can never leave it unaccounted for.
 * Reservations made together in this process go in one update when they all fit (see
 * groupCommit.ts); otherwise each is decided on its own, in turn.
 */
export function reserve(
  orchestrationId: OrchestrationId,
  usd: number,
  holder = 'call',
  statuses: readonly OrchestrationStatus[] = OPEN_STATUSES,
): Promise<ReserveOutcome> {
  return reserveLane(`${orchestrationId}:${statuses.join()}`, {
    orchestrationId,
    usd: roundUsd(usd),
    holder,
    statuses,
  });
}

interface Reservation {
  orchestrationId: OrchestrationId;
  usd: number;
  holder: string;
  statuses: readonly OrchestrationStatus[];
}

/** The condition that decides the cap on the server: spent + reserved + `usd` stays within it. */
export const fitsUnderCap = (usd: number) => ({
  $expr: { $lte: [{ $add: ['$budget.spentUsd', '$budget.reservedUsd', usd] }, { $add: ['$budget.maxUsd', 1e-9] }] },
});

/**
 * Why `usd` did not fit: the orchestration is closed (not in `statuses`), or its budget; `waitable`
 * when it would fit once the calls in flight settle (`unbookedUsd`: spent, not yet booked). With the
 * leases as stored, for a lease's owner to see whether its own is still there.
 */
export async function whyNoRoom(
  orchestrationId: OrchestrationId,
  usd: number,
  statuses: readonly OrchestrationStatus[],
  unbookedUsd = 0,
): Promise<{ outcome: Exclude<ReserveOutcome, { ok: true }>; leases: Record<string, unknown> }> {
  const doc = await Orchestration.findById(orchestrationId, { status: 1, budget: 1 }).lean();
  const leases = doc?.budget.leases ?? {};
  if (!doc || !statuses.includes(doc.status)) return { outcome: { ok: false, reason: 'closed' }, leases };
  const waitable = doc.budget.spentUsd + unbookedUsd + usd <= doc.budget.maxUsd + 1e-9;
  return { outcome: { ok: false, reason: 'budget', waitable }, leases };
}

/** Reserves the sum of `reservations`, each with a hold of its own, if the sum fits: one update, all or none. */
async function reserveAll(reservations: Reservation[]): Promise<string[] | null> {
  const { orchestrationId, statuses } = reservations[0]!;
  const total = roundUsd(reservations.reduce((sum, r) => sum + r.usd, 0));
  const at = new Date();
  const holds = reservations.map((r) => ({ id: new Types.ObjectId().toHexString(), holder: r.holder, usd: r.usd, at }));
  const reserved = await Orchestration.updateOne(
    { _id: orchestrationId, status: { $in: [...statuses] }, ...fitsUnderCap(total) },
    { $inc: { 'budget.reservedUsd': total }, $push: { 'budget.holds': { $each: holds } } },
  );
  return reserved.modifiedCount === 1 ? holds.map((h) => h.id) : null;
}

const reserveLane = groupCommit<Reservation, ReserveOutcome>(
  async (r) => {
    const [holdId] = (await reserveAll([r])) ?? [];
    if (holdId) return { ok: true, holdId };
    return (await whyNoRoom(r.orchestrationId, r.usd, r.statuses)).outcome;
  },
  async (all) => (await reserveAll(all))?.map((holdId) => ({ ok: true, holdId })) ?? null,
);

/**
 * Releases a hold and books the real cost, in one atomic update. It only applies while the hold
 * exists, so a hold is settled exactly once even if a resumed step already released it. Settles
 * made together in this process go in one update when every one of their holds is still there.
 */
export function settle(
  orchestrationId: OrchestrationId,
  holdId: string,
  reservedUsd: number,
  actualUsd: number,
): Promise<boolean> {
  return settleLane(orchestrationId, { orchestrationId, holdId, reservedUsd, actualUsd });
}

interface Settlement {
  orchestrationId: OrchestrationId;
  holdId: string;
  reservedUsd: number;
  actualUsd: number;
}

/** Releases every hold of `settlements` and books their costs, if every one of those holds exists: all or none. */
async function settleAll(settlements: Settlement[]): Promise<boolean> {
  const ids = settlements.map((s) => s.holdId);
  // The same hold twice would be booked twice by one update: each is then settled on its own.
  if (new Set(ids).size !== ids.length) return false;
  const sum = (pick: (s: Settlement) => number) => settlements.reduce((total, s) => total + roundUsd(pick(s)), 0);
  const res = await Orchestration.updateOne(
    { _id: settlements[0]!.orchestrationId, $and: ids.map((id) => ({ 'budget.holds.id': id })) },
    {
      $inc: {
        'budget.spentUsd': roundUsd(sum((s) => s.actualUsd)),
        'budget.reservedUsd': -roundUsd(sum((s) => s.reservedUsd)),
      },
      // `$or`, not `id: { $in }`: the embedded database ignores an `$in` condition in `$pull`.
      $pull: { 'budget.holds': { $or: ids.map((id) => ({ id })) } },
    },
  );
  return res.modifiedCount === 1;
}

const settleLane = groupCommit<Settlement, boolean>(
  (s) => settleAll([s]),
  async (all) => ((await settleAll(all)) ? all.map(() => true) : null),
);

/** A hold held for a step ("step:<id>"): its step's id, else null (planning). */
function stepOf(holder: string): string | null {
  return holder.startsWith('step:') ? holder.slice('step:'.length) : null;
}

/**
 * Books a hold whose call may have been billed but never settled (its process died) at its
 * worst case; a step's share is booked on the step too, with the model billed, so that the
 * rollup still adds up. Exactly once: only while the hold exists.
 */
async function bookLeftBehind(orchestrationId: OrchestrationId, hold: BudgetHold, model: string): Promise<number> {
  if (!(await settle(orchestrationId, hold.id, hold.usd, hold.usd))) return 0;
  const stepId = stepOf(hold.holder);
  if (stepId) await Step.updateOne({ _id: stepId }, { $inc: { costUsd: hold.usd }, $set: { model } });
  return hold.usd;
}

/** Books as spent every hold `holder` left behind (see bookLeftBehind). Returns what was booked. */
export async function releaseHolds(orchestrationId: OrchestrationId, holder: string, model: string): Promise<number> {
  const doc = await Orchestration.findById(orchestrationId, { 'budget.holds': 1 }).lean();
  let booked = 0;
  for (const hold of doc?.budget.holds?.filter((h) => h.holder === holder) ?? [])
    booked += await bookLeftBehind(orchestrationId, hold, model);
  return booked;
}

/**
 * Books as spent the holds whose holder is gone, so that the room they took is known to be used
 * up rather than waited for: a step's hold once the step is no longer running under a live lease
 * (its process died), any other hold (planning) once it is older than `otherMaxAgeMs`. Returns
 * what was booked.
 */
export async function releaseStaleHolds(
  orchestrationId: OrchestrationId,
  otherMaxAgeMs: number,
  model: string,
): Promise<number> {
  const doc = await Orchestration.findById(orchestrationId, { 'budget.holds': 1 }).lean();
  const holds = doc?.budget.holds ?? [];
  if (!holds.length) return 0;
  const now = Date.now();
  const stepIds = holds.flatMap((h) => stepOf(h.holder) ?? []);
  const live = new Set(
    (
      await Step.find(
        { _id: { $in: stepIds }, status: 'running', leaseUntil: { $gt: new Date(now) } },
        { _id: 1 },
      ).lean()
    ).map((s) => String(s._id)),
  );
  let booked = 0;
  for (const hold of holds) {
    const stepId = stepOf(hold.holder);
    const stale = stepId
      ? !live.has(stepId)
      : hold.at !== undefined && now - new Date(hold.at).getTime() > otherMaxAgeMs;
    if (stale) booked += await bookLeftBehind(orchestrationId, hold, model);
  }
  return booked;
}
