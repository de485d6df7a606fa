/**
 * The steps this process is running, per run, and each run's graph as it last read it. A step's
 * settle reads what it made ready (advance), and of two dependencies settling together only the
 * one stored last is sure to see the other: the read of one whose every dependent still waits on
 * another dependency running here is wasted work on the run's critical path, since that dependency
 * reads once it is stored. Such a read is skipped.
 *
 * Sound however a step ends: a step counts as running here from its claim until its result (or
 * its failure) is stored, after which it reads itself, or until its attempt ends some other way
 * (it threw, to be retried here or elsewhere: whoever stores it then reads). Only the direction
 * "counted, yet not about to read" could strand a step, and no step is ever left counted.
 */

/** Runs known at once; the oldest is forgotten past this (a long-lived process runs many). */
const RUNS_KEPT = 200;

export class LocalSteps {
  private readonly running = new Map<string, Set<string>>();
  private readonly graphs = new Map<string, Map<string, readonly string[]>>();

  /** The run's steps and what each depends on (they never change once the run is made). */
  learn(runId: unknown, steps: ReadonlyArray<{ key: string; dependsOn: readonly string[] }>): void {
    const run = String(runId);
    if (this.graphs.has(run)) return;
    if (this.graphs.size >= RUNS_KEPT) this.forget(this.graphs.keys().next().value!);
    this.graphs.set(run, new Map(steps.map((s) => [s.key, s.dependsOn])));
  }

  /** A step claimed here starts; it counts as running here until `stored` (after its store, or on any way out). */
  began(runId: unknown, key: string): void {
    const run = String(runId);
    const keys = this.running.get(run) ?? new Set<string>();
    keys.add(key);
    this.running.set(run, keys);
  }

  stored(runId: unknown, key: string): void {
    const run = String(runId);
    const keys = this.running.get(run);
    keys?.delete(key);
    if (keys && !keys.size) this.running.delete(run);
  }

  /**
   * Whether each step that depends on `key` also waits on another of its dependencies still
   * running here (not yet stored): that one reads what is ready once stored, so this one need not.
   * False when the run's graph is not known here.
   */
  othersWillAdvance(runId: unknown, key: string): boolean {
    const run = String(runId);
    const graph = this.graphs.get(run);
    const running = this.running.get(run);
    if (!graph || !running) return false;
    let dependents = 0;
    for (const dependsOn of graph.values()) {
      if (!dependsOn.includes(key)) continue;
      dependents += 1;
      if (!dependsOn.some((d) => d !== key && running.has(d))) return false;
    }
    return dependents > 0;
  }

  forget(runId: unknown): void {
    this.graphs.delete(String(runId));
    this.running.delete(String(runId));
  }
}
