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

/**
 * `start`s a read per id and workspace (a read is narrowed to the workspace in scope), which
 * callers share until it calls `done`.
 */
function sharedPerId<T>(start: (id: string, done: () => void) => Promise<T>): (id: string) => Promise<T> {
  const shared = new Map<string, Promise<T>>();
  return (id) => {
    const tenant = currentTenant();
    const key = `${tenant?.enterpriseId ?? ''}:${tenant?.teamId ?? ''}:${id}`;
    const known = shared.get(key);
    if (known) return known;
    const fresh = start(id, () => shared.delete(key));
    shared.set(key, fresh);
    return fresh;
  };
}

/** `read`, with one read in flight per id and workspace. */
export function joined<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  return sharedPerId((id, done) => read(id).finally(done));
}

/**
 * `read`, made once for every caller that asks within one turn of the event loop, after that turn.
 * For a read each caller makes once its own write has landed (the steps settling together each
 * look for what they made ready): made after all of theirs, the one read sees every one of them.
 * A caller that asks once the read has left waits for the next.
 */
export function afterTurn<T>(read: (id: string) => Promise<T>): (id: string) => Promise<T> {
  return sharedPerId((id, done) =>
    new Promise<void>((turnEnded) => setImmediate(turnEnded)).then(() => {
      done();
      return read(id);
    }),
  );
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
