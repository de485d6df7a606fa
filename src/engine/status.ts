/**
 * The orchestration state machine. Every move is one conditional update on the orchestration
 * document ({_id, status: from} → to), stored with its time and reason, so concurrent clicks,
 * jobs and instances agree on a single outcome without locks or transactions.
 */
import type { Types, UpdateQuery } from 'mongoose';
import { Orchestration, type OrchestrationDoc, type OrchestrationStatus } from '../models/orchestration.js';

export const ALLOWED_TRANSITIONS: Record<OrchestrationStatus, readonly OrchestrationStatus[]> = {
  planning: ['proposed', 'failed', 'cancelled'],
  proposed: ['approved', 'cancelled', 'failed'],
  approved: ['executing', 'failed', 'cancelled'],
  executing: ['synthesizing', 'failed', 'cancelled'],
  synthesizing: ['completed', 'failed', 'cancelled'],
  completed: [],
  // Only a run stopped by its budget comes back, when its cap is raised (guarded by budgetStop).
  failed: ['executing'],
  cancelled: [],
};

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

export interface TransitionOptions {
  reason?: string | null;
  by?: string | null;
  /** Extra conditions the document must meet, e.g. the revision a click was drawn for. */
  where?: Record<string, unknown>;
  set?: Record<string, unknown>;
}

/** Moves the orchestration from one of `from` to `to`. Returns the updated document, or null if it was not in `from`. */
export async function transition(
  id: Types.ObjectId | string,
  from: OrchestrationStatus | readonly OrchestrationStatus[],
  to: OrchestrationStatus,
  options: TransitionOptions = {},
): Promise<OrchestrationDoc | null> {
  const sources = (Array.isArray(from) ? from : [from]) as OrchestrationStatus[];
  for (const source of sources) {
    if (!ALLOWED_TRANSITIONS[source].includes(to)) throw new IllegalTransitionError(`${source} → ${to} is not a legal transition`);
  }
  // Compare-and-swap from the exact current status, so the stored transition names its real source.
  let current = await Orchestration.findById(id, { status: 1 }).lean<Pick<OrchestrationDoc, 'status'>>();
  while (current && sources.includes(current.status)) {
    const now = new Date();
    const final = to === 'completed' || to === 'failed' || to === 'cancelled';
    const update: UpdateQuery<OrchestrationDoc> = {
      $set: { status: to, statusReason: options.reason ?? null, ...(final ? { finishedAt: now } : {}), ...options.set },
      $push: { transitions: { from: current.status, to, at: now, reason: options.reason ?? null, by: options.by ?? null } },
    };
    const doc = await Orchestration.findOneAndUpdate({ _id: id, status: current.status, ...options.where }, update, {
      returnDocument: 'after',
    }).lean<OrchestrationDoc>();
    if (doc) return doc;
    const seen = current.status;
    current = await Orchestration.findById(id, { status: 1 }).lean<Pick<OrchestrationDoc, 'status'>>();
    // Same status yet no match: the extra conditions failed, not a race.
    if (current?.status === seen) return null;
  }
  return null;
}
