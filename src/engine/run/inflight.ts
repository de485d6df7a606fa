/**
 * The LLM calls this process has in flight, per orchestration, so that a cancel or a stop can
 * abort them at once rather than wait for them to end.
 */
import type { OrchestrationId } from '../plan/ids.js';

export class Inflight {
  private readonly controllers = new Map<OrchestrationId, Set<AbortController>>();

  /** Runs `work` with a signal that `abortAll(id)` aborts. */
  async track<T>(id: OrchestrationId, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const set = this.controllers.get(id) ?? new Set();
    set.add(controller);
    this.controllers.set(id, set);
    try {
      return await work(controller.signal);
    } finally {
      set.delete(controller);
      if (set.size === 0) this.controllers.delete(id);
    }
  }

  abortAll(id: OrchestrationId): void {
    for (const controller of this.controllers.get(id) ?? []) controller.abort();
  }
}
