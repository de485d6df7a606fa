/**
 * Pacing of Slack calls within this process: calls of one scope (a channel's posts, the
 * workspace's updates) are spaced at least `spacingMs` apart and a Retry-After pauses the whole
 * scope. Calls go in the order they asked, except that an urgent one (a status change people wait
 * to see) goes before every routine one still waiting: with forty live messages being redrawn,
 * "Completed" must not queue behind forty step ticks.
 */

interface Waiter {
  urgent: boolean;
  go: () => void;
}

export class RateGate {
  private readonly nextAt = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly spacingMs: (scope: string) => number) {}

  /** Resolves when it is this caller's turn in `scope`. */
  turn(scope: string, { urgent = false } = {}): Promise<void> {
    return new Promise((go) => {
      const queue = this.waiting.get(scope) ?? [];
      // Urgent calls keep their own order among themselves, ahead of every routine one.
      const at = urgent ? queue.findIndex((w) => !w.urgent) : -1;
      queue.splice(at === -1 ? queue.length : at, 0, { urgent, go });
      this.waiting.set(scope, queue);
      this.dispatch(scope);
    });
  }

  /** Slack said to wait: nobody in `scope` goes before then. */
  pause(scope: string, ms: number): void {
    this.nextAt.set(scope, Math.max(this.nextAt.get(scope) ?? 0, Date.now() + ms));
  }

  private dispatch(scope: string): void {
    if (this.timers.has(scope)) return;
    const queue = this.waiting.get(scope);
    if (!queue?.length) return;
    const wait = (this.nextAt.get(scope) ?? 0) - Date.now();
    if (wait > 0) {
      // Looked at again when the spacing is over, so that an urgent call arriving meanwhile goes first.
      this.timers.set(
        scope,
        setTimeout(() => {
          this.timers.delete(scope);
          this.dispatch(scope);
        }, wait),
      );
      return;
    }
    const next = queue.shift()!;
    if (!queue.length) this.waiting.delete(scope);
    this.nextAt.set(scope, Date.now() + this.spacingMs(scope));
    next.go();
    if (queue.length) this.dispatch(scope);
  }
}
