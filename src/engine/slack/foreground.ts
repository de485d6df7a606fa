/**
 * The engine's critical path comes first. A step hand-off (a result stored, what it unblocks
 * enqueued, the next request on its way to the LLM) holds the foreground; the work nobody waits
 * for (redrawing the live messages, sending the thread posts, the thread's working status, a
 * step's progress) waits until no hand-off is in flight in this process before it starts, so that
 * on a busy event loop it never delays the next LLM request. Nothing is lost by waiting: each of
 * those is stored before it waits and is drawn or sent from stored state (the live draft of the
 * deliverable, which is not stored, waits for the thread's earlier posts instead). Every hold lapses on its
 * own and no wait lasts longer than `maxWaitMs`, so a hold that is never released (another
 * instance ran the step, a path that forgot) or a stream of hand-offs only delays, never starves.
 */
/** The longest a hold lasts, and a wait for quiet. */
const MAX_WAIT_MS = 250;
/**
 * Results that arrive together (a level's calls, started together, end within a few ms of each
 * other) are handed off together: it is quiet only once no hand-off has been in flight for this
 * long, so that a redraw or a post starting between two of them does not slow the next.
 */
const SETTLE_MS = 15;

export class Foreground {
  private readonly holds = new Map<string, NodeJS.Timeout>();
  private waiters: Array<() => void> = [];
  private readonly deferred = new Map<string, Set<{ go: () => void; done: Promise<unknown> }>>();
  private settling: NodeJS.Timeout | null = null;

  constructor(
    private readonly maxWaitMs = MAX_WAIT_MS,
    private readonly settleMs = SETTLE_MS,
  ) {}

  /** A hand-off is in flight under `key` for at most `forMs` (`maxWaitMs` at most), or until released; held again, it lapses then. */
  hold(key: string, forMs = this.maxWaitMs): void {
    clearTimeout(this.holds.get(key));
    if (this.settling) clearTimeout(this.settling);
    this.settling = null;
    const lapse = setTimeout(() => this.release(key), Math.min(forMs, this.maxWaitMs));
    lapse.unref();
    this.holds.set(key, lapse);
  }

  /** The hand-off under `key` is over (a no-op when it was not held). */
  release(key: string): void {
    const lapse = this.holds.get(key);
    if (!lapse) return;
    clearTimeout(lapse);
    this.holds.delete(key);
    if (this.holds.size) return;
    if (!this.settleMs) {
      this.wake();
      return;
    }
    if (this.settling) clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      this.settling = null;
      if (!this.holds.size) this.wake();
    }, this.settleMs);
    this.settling.unref();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const go of waiters) go();
  }

  /** Resolves once no hand-off is in flight here, or after `maxWaitMs`, whichever comes first. */
  quiet(): Promise<void> {
    if (!this.holds.size && !this.settling) return Promise.resolve();
    return new Promise((resolve) => {
      const late = setTimeout(resolve, this.maxWaitMs);
      late.unref();
      this.waiters.push(() => {
        clearTimeout(late);
        resolve();
      });
    });
  }

  /**
   * `work`, once `after` has settled, when no hand-off is in flight here (see quiet) or as soon as
   * `hurry(group)` asks for it: what must come after it (the thread's closing posts after a
   * result's post) is never held up by the wait, nor overtaken.
   */
  whenQuiet<T>(group: string, work: () => Promise<T>, after?: Promise<unknown>): Promise<T> {
    const waiting = this.deferred.get(group) ?? new Set();
    this.deferred.set(group, waiting);
    let go = () => {};
    const hurried = new Promise<void>((resolve) => (go = resolve));
    const done = Promise.all([after, Promise.race([this.quiet(), hurried])]).then(work);
    const entry = { go, done };
    waiting.add(entry);
    const forget = () => {
      waiting.delete(entry);
      if (!waiting.size && this.deferred.get(group) === waiting) this.deferred.delete(group);
    };
    done.then(forget, forget);
    return done;
  }

  /** What waits under `group` goes now; resolves once all of it is done, failed or not (its caller sees a failure). */
  async hurry(group: string): Promise<void> {
    const waiting = [...(this.deferred.get(group) ?? [])];
    for (const entry of waiting) entry.go();
    await Promise.allSettled(waiting.map((entry) => entry.done));
  }
}
