/**
 * Group commit: writes to one document go one at a time per process, and those that arrive while
 * one is in flight go together in the next write. A lone write leaves at once, as before; a wave
 * of them (eight steps starting, or settling, at once) becomes two writes rather than eight, which
 * the database would have applied one after another anyway.
 */

/**
 * `one` writes one item; `many` writes several in one go and returns each one's outcome, or null
 * when the group cannot apply as a whole (each is then written on its own, in arrival order).
 * A failing write fails the items it carried: none is retried here, since a write that failed may
 * have applied.
 */
export function groupCommit<I, O>(
  one: (item: I) => Promise<O>,
  many: (items: I[]) => Promise<O[] | null>,
): (lane: string, item: I) => Promise<O> {
  interface Waiting {
    item: I;
    resolve: (outcome: O) => void;
    reject: (error: unknown) => void;
  }
  const lanes = new Map<string, Waiting[]>();

  async function drain(lane: string, queue: Waiting[]): Promise<void> {
    while (queue.length) {
      const group = queue.splice(0);
      try {
        const outcomes = group.length > 1 ? await many(group.map((w) => w.item)) : null;
        if (outcomes) for (const [i, w] of group.entries()) w.resolve(outcomes[i]!);
        else for (const w of group) await one(w.item).then(w.resolve, w.reject);
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
    lanes.delete(lane);
  }

  return (lane, item) =>
    new Promise<O>((resolve, reject) => {
      const queue = lanes.get(lane);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      const fresh = [{ item, resolve, reject }];
      lanes.set(lane, fresh);
      void drain(lane, fresh);
    });
}
