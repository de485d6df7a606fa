/**
 * A step's calls booked (see LateBooking in meter.ts): each call's room given back to the lease it
 * came from (lease.ts; at once, in memory), and its cost and tokens written on the step, with the
 * model that was billed, so that the rollup adds up per step, role and model. A call's cost is
 * written before the step's next call takes room; the last call's goes in the write that settles
 * the step, so that a hand-off waits for that one write.
 */
import type { Types } from 'mongoose';
import { Step } from '../../models/run.js';
import type { LateBooking } from '../money/meter.js';
import type { TokenUsage } from '../money/pricing.js';

/** The step's share of its calls, as the `$inc` of a step write. */
export type CostIncrement = Record<'costUsd' | 'tokens.input' | 'tokens.output' | 'tokens.cached', number>;

export class StepBooking implements LateBooking {
  private settling: Promise<unknown> = Promise.resolve();
  private unwritten: CostIncrement | null = null;

  constructor(
    private readonly stepId: Types.ObjectId,
    private readonly model: string,
  ) {}

  after(settling: Promise<unknown>, usd: number, usage: TokenUsage | null): void {
    // Awaited by whoever comes next (before, take, flush); until then a failure must not count as unhandled.
    settling.catch(() => undefined);
    const previous = this.settling;
    this.settling = Promise.all([previous, settling]).then(() => undefined);
    const inc = this.unwritten ?? { costUsd: 0, 'tokens.input': 0, 'tokens.output': 0, 'tokens.cached': 0 };
    this.unwritten = {
      costUsd: inc.costUsd + usd,
      'tokens.input': inc['tokens.input'] + (usage?.input ?? 0),
      'tokens.output': inc['tokens.output'] + (usage?.output ?? 0),
      'tokens.cached': inc['tokens.cached'] + (usage?.cacheRead ?? 0),
    };
  }

  /** Before the step's next call: the settles so far done, the costs so far written. */
  async before(): Promise<void> {
    await this.settling;
    const inc = this.unwritten;
    this.unwritten = null;
    await this.write(inc);
  }

  /**
   * For the write that settles the step: what it must add to the step, and the settles it must wait
   * for. Should that write not land (the step closed meanwhile), `restore` writes the share.
   */
  take(): { inc: CostIncrement | null; settled: Promise<unknown> } {
    const inc = this.unwritten;
    this.unwritten = null;
    return { inc, settled: this.settling };
  }

  /** Everything booked now: on a path that settles the step without `take` (a failure). */
  flush(): Promise<void> {
    return this.before();
  }

  /** A share `take` handed out that its write did not store. */
  restore(inc: CostIncrement | null): Promise<void> {
    return this.write(inc);
  }

  private async write(inc: CostIncrement | null): Promise<void> {
    if (!inc) return;
    // Best effort, as a rollup line is: the spend was settled on the orchestration.
    await Step.updateOne({ _id: this.stepId }, { $inc: inc, $set: { model: this.model } }).catch(() => undefined);
  }
}
