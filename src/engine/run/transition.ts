/**
 * Applies a move of the state machine (plan/status.ts) to the stored orchestration: one
 * conditional update ({_id, status: from} → to), stored with its time and reason, so concurrent
 * clicks, jobs and instances agree on a single outcome without locks or transactions.
 */
import type { UpdateQuery } from 'mongoose';
import { IllegalTransitionError } from '../../errors.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import type { OrchestrationId } from '../plan/ids.js';
import { ALLOWED_TRANSITIONS, isFinal, type OrchestrationStatus } from '../plan/status.js';

export interface TransitionOptions {
  reason?: string | null;
  by?: string | null;
  /** Extra conditions the document must meet, e.g. the revision a click was drawn for. */
  where?: Record<string, unknown>;
  set?: Record<string, unknown>;
}

type StatusOnly = Pick<OrchestrationDoc, 'status'>;

/** Moves kept on the document. */
export const TRANSITIONS_KEPT = 200;

/** Moves the orchestration from one of `from` to `to`. Returns the updated document, or null if it was not in `from`. */
export async function transition(
  id: OrchestrationId,
  from: OrchestrationStatus | readonly OrchestrationStatus[],
  to: OrchestrationStatus,
  options: TransitionOptions = {},
): Promise<OrchestrationDoc | null> {
  const sources = (Array.isArray(from) ? from : [from]) as OrchestrationStatus[];
  for (const source of sources) {
    if (!ALLOWED_TRANSITIONS[source].includes(to)) {
      throw new IllegalTransitionError(`${source} → ${to} is not a legal transition`);
    }
  }
  // Compare-and-swap from the exact current status, so the stored transition names its real source.
  // From one status only, that status is tried at once (a move on the run's critical path saves a read).
  let current =
    sources.length === 1 ? { status: sources[0]! } : await Orchestration.findById(id, { status: 1 }).lean<StatusOnly>();
  while (current && sources.includes(current.status)) {
    const now = new Date();
    const reason = options.reason ?? null;
    const update: UpdateQuery<OrchestrationDoc> = {
      $set: { status: to, statusReason: reason, ...(isFinal(to) ? { finishedAt: now } : {}), ...options.set },
      // The latest moves only: a run raised and stopped many times can never fill the document.
      $push: {
        transitions: {
          $each: [{ from: current.status, to, at: now, reason, by: options.by ?? null }],
          $slice: -TRANSITIONS_KEPT,
        },
      },
    };
    const doc = await Orchestration.findOneAndUpdate({ _id: id, status: current.status, ...options.where }, update, {
      returnDocument: 'after',
    }).lean<OrchestrationDoc>();
    if (doc) return doc;
    const seen = current.status;
    current = await Orchestration.findById(id, { status: 1 }).lean<StatusOnly>();
    // Same status yet no match: the extra conditions failed, not a race.
    if (current?.status === seen) return null;
  }
  return null;
}

/** The stored orchestration, or null. */
export function loadOrchestration(id: OrchestrationId): Promise<OrchestrationDoc | null> {
  return Orchestration.findById(id).lean<OrchestrationDoc>();
}
