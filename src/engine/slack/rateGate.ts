/**
 * Pacing of Slack calls within this process: calls of one scope (a channel's posts, the
 * workspace's updates) are spaced at least `spacingMs` apart, in the order they asked, and a
 * Retry-After pauses the whole scope.
 */
export class RateGate {
  private readonly nextAt = new Map<string, number>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly spacingMs: (scope: string) => number) {}

  /** Resolves when it is this caller's turn in `scope`. */
  turn(scope: string): Promise<void> {
    const previous = this.queues.get(scope) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const wait = (this.nextAt.get(scope) ?? 0) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.nextAt.set(scope, Date.now() + this.spacingMs(scope));
    });
    this.queues.set(scope, mine);
    return mine;
  }

  /** Slack said to wait: nobody in `scope` goes before then. */
  pause(scope: string, ms: number): void {
    this.nextAt.set(scope, Math.max(this.nextAt.get(scope) ?? 0, Date.now() + ms));
  }
}
