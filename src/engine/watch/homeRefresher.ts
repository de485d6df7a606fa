/**
 * Coalesces Home tab refreshes: however often a person's runs change state, their Home tab is
 * published at most once per interval, one publish in flight at a time, and a change during a
 * publish leads to exactly one more.
 */

export class HomeRefresher {
  /** People with a publish scheduled, and its timer. */
  private readonly scheduled = new Map<string, ReturnType<typeof setTimeout>>();
  /** People whose publish is running now. */
  private readonly running = new Map<string, Promise<void>>();
  /** People touched while their publish was running: one more publish follows. */
  private readonly again = new Set<string>();

  constructor(
    private readonly publish: (userId: string) => Promise<void>,
    private readonly intervalMs = 2000,
    private readonly onError: (userId: string, error: unknown) => void = () => undefined,
  ) {}

  /** Something of this person's changed: their Home tab is published within the interval. */
  touch(userId: string): void {
    if (this.running.has(userId)) {
      this.again.add(userId);
      return;
    }
    if (this.scheduled.has(userId)) return;
    const timer = setTimeout(() => void this.run(userId), this.intervalMs);
    timer.unref?.();
    this.scheduled.set(userId, timer);
  }

  /** Publishes whatever is scheduled now, and waits until nothing is left to publish (for shutdown and tests). */
  async flush(): Promise<void> {
    while (this.scheduled.size || this.running.size) {
      for (const [userId, timer] of [...this.scheduled]) {
        clearTimeout(timer);
        void this.run(userId);
      }
      await Promise.all([...this.running.values()]);
    }
  }

  private run(userId: string): Promise<void> {
    this.scheduled.delete(userId);
    const done = Promise.resolve()
      .then(() => this.publish(userId))
      .catch((error: unknown) => this.onError(userId, error))
      .finally(() => {
        this.running.delete(userId);
        if (this.again.delete(userId)) this.touch(userId);
      });
    this.running.set(userId, done);
    return done;
  }
}
