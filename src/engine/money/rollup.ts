/**
 * The cost rollup of a run: one row per step, totals per role and per model. Planning calls
 * (the CEO agent) are not steps, so they get a row of their own and the total equals the
 * orchestration's spend.
 */
export interface RollupStep {
  title: string;
  role: string;
  model: string | null;
  status: string;
  tokens: { input: number; output: number; cached: number };
  costUsd: number;
  durationMs: number | null;
}

export interface RollupTotal {
  key: string;
  costUsd: number;
  steps: number;
}

export interface Rollup {
  rows: RollupStep[];
  byRole: RollupTotal[];
  byModel: RollupTotal[];
  planningUsd: number;
  totalUsd: number;
}

function totals(rows: RollupStep[], keyOf: (r: RollupStep) => string): RollupTotal[] {
  const map = new Map<string, RollupTotal>();
  for (const r of rows) {
    const key = keyOf(r);
    const t = map.get(key) ?? { key, costUsd: 0, steps: 0 };
    t.costUsd += r.costUsd;
    t.steps += 1;
    map.set(key, t);
  }
  return [...map.values()].sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key));
}

/** `spentUsd` is the orchestration's whole spend; what the steps do not account for was planning. */
export function rollup(steps: RollupStep[], spentUsd: number, planningModel: string): Rollup {
  const rows = steps.filter((s) => s.costUsd > 0 || s.status !== 'skipped');
  const stepsUsd = rows.reduce((sum, r) => sum + r.costUsd, 0);
  const planningUsd = Math.max(0, spentUsd - stepsUsd);
  const planningRow: RollupStep[] =
    planningUsd > 1e-9
      ? [
          {
            title: 'Planning (CEO agent)',
            role: 'CEO agent',
            model: planningModel,
            status: 'succeeded',
            tokens: { input: 0, output: 0, cached: 0 },
            costUsd: planningUsd,
            durationMs: null,
          },
        ]
      : [];
  const all = [...planningRow, ...rows];
  return {
    rows: all,
    byRole: totals(all, (r) => r.role),
    // A billed step always has a model; "unknown model" only keeps the sums honest if one did not.
    byModel: totals(
      all.filter((r) => r.model || r.costUsd > 0),
      (r) => r.model ?? 'unknown model',
    ),
    planningUsd,
    totalUsd: all.reduce((sum, r) => sum + r.costUsd, 0),
  };
}
