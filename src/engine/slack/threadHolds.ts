/**
 * Threads whose later posts wait for something the outbox does not send to finish first: a live
 * draft closing at Slack's pace, which the deliverable's post must follow. A hold covers the posts
 * stored from the moment it is placed; those stored before go on. Kept in memory and bounded in
 * time, so a hold lost with its process, or one that never settles, only lets the posts go on.
 */

/** Long enough for a draft to close behind a queue of paced updates; a hold never outlasts it. */
const MAX_HOLD_MS = 30_000;

export class ThreadHolds {
  /** Per thread, when each of its holds was placed. */
  private readonly held = new Map<string, number[]>();

  /** Holds the thread's posts stored from now until `until` settles (or MAX_HOLD_MS passes), then calls `released`. */
  hold(channelId: string, threadTs: string, until: Promise<unknown>, released: () => void): void {
    const key = `${channelId}:${threadTs}`;
    const at = Date.now();
    this.held.set(key, [...(this.held.get(key) ?? []), at]);
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, MAX_HOLD_MS);
      timer.unref();
    });
    void Promise.race([until.catch(() => undefined), cap]).then(() => {
      clearTimeout(timer);
      const left = [...(this.held.get(key) ?? [])];
      left.splice(left.indexOf(at), 1);
      if (left.length) this.held.set(key, left);
      else this.held.delete(key);
      released();
    });
  }

  /** When the thread's earliest hold was placed: the posts stored from then on wait, those before do not. */
  since(channelId: string, threadTs: string): Date | null {
    const holds = this.held.get(`${channelId}:${threadTs}`);
    return holds?.length ? new Date(Math.min(...holds)) : null;
  }

  /** Whether a post of the thread stored at `storedAt` waits for a hold: one placed at or before it. */
  has(channelId: string, threadTs: string | null, storedAt: Date): boolean {
    const since = threadTs === null ? null : this.since(channelId, threadTs);
    return since !== null && since.getTime() <= new Date(storedAt).getTime();
  }
}
