/**
 * The steps this process runs at once: ORCHESTRATE_MAX_PARALLEL at most. Agenda's own limit counts
 * jobs, and a step job may run more than one step: its chain (one step after another, in its own
 * slot) and forks, steps its result unblocked that it runs alongside, each in a slot it could take
 * at once. A step that finds no free slot is left to a job of its own.
 */
export class StepSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly capacity: number) {}

  /** A slot now, or false. Never ahead of a job already waiting. */
  tryTake(): boolean {
    if (this.used >= this.capacity || this.waiting.length) return false;
    this.used++;
    return true;
  }

  /** A slot, once one is free. */
  async take(): Promise<void> {
    if (this.tryTake()) return;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    // Handed on as it is: a waiting job takes it before any fork can.
    const next = this.waiting.shift();
    if (next) next();
    else this.used = Math.max(0, this.used - 1);
  }
}
