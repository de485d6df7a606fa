/**
 * Reads that steps starting together share. A wave of them (a run's first level, or what one
 * hand-off made ready) each read their orchestration and their agent in the same moment, and on
 * one event loop every read slows the others (the driver's encoding and decoding, a socket write)
 * while the run waits. A read already in flight is joined rather than made again. Nothing is kept
 * once a read has answered: a joiner sees what it would have seen at most one round trip earlier.
 * What a read returns is shared, so it is not to be changed.
 */
import { Agent, type AgentDoc } from '../../models/agent.js';
import { Orchestration, type OrchestrationDoc } from '../../models/orchestration.js';
import { currentTenant } from '../../tenant.js';
import type { OrchestrationId } from '../plan/ids.js';

/** A read's id in the workspace in scope: a read is narrowed to that workspace, so it is shared only within it. */
function scopedKey(id: string): string {
  const tenant = currentTenant();
  return `${tenant?.enterpriseId ?? ''}:${tenant?.teamId ?? ''}:${id}`;
}

/** `read`, with one read in flight per id and workspace. */
export function joined<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const inFlight = new Map<string, Promise<T>>();
  return (id) => {
    const key = scopedKey(id);
    const pending = inFlight.get(key);
    if (pending) return pending;
    const fresh = read(id).finally(() => inFlight.delete(key));
    inFlight.set(key, fresh);
    return fresh;
  };
}

/**
 * `read`, made once for every caller that asks within one turn of the event loop, after that turn.
 * For a read each caller makes once its own write has landed (the steps settling together each
 * look for what they made ready): made after all of theirs, the one read sees every one of them.
 * A caller that asks once the read has left waits for the next.
 */
export function afterTurn<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const gathering = new Map<string, Promise<T>>();
  return (id) => {
    const key = scopedKey(id);
    const pending = gathering.get(key);
    if (pending) return pending;
    const fresh = new Promise<void>((turnEnded) => setImmediate(turnEnded)).then(() => {
      gathering.delete(key);
      return read(id);
    });
    gathering.set(key, fresh);
    return fresh;
  };
}

/** The whole orchestration, for a step about to start. */
export const readOrchestration: (id: OrchestrationId) => Promise<OrchestrationDoc | null> = joined((id) =>
  Orchestration.findById(id).lean<OrchestrationDoc>().exec(),
);

/** Whether the run goes on: what the scheduler decides on. */
export const readRunState = joined((id) =>
  Orchestration.findById(id, { status: 1, paused: 1 })
    .lean<Pick<OrchestrationDoc, '_id' | 'status' | 'paused'>>()
    .exec(),
);

/** A step's agent, for its prompt. */
export const readAgent = joined((id) => Agent.findById(id).lean<AgentDoc>().exec());
