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

/** A row of the spend the steps do not account for: `title`, `role`, `model` say whose it was. */
function unaccountedRow(title: string, role: string, model: string | null, costUsd: number, status: string) {
  if (costUsd <= 1e-9) return [];
  const tokens = { input: 0, output: 0, cached: 0 };
  return [{ title, role, model, status, tokens, costUsd, durationMs: null } satisfies RollupStep];
}

/**
 * `spentUsd` is the orchestration's whole spend; what the steps do not account for was planning, but
 * for `leftBehindUsd`: budget leases of processes that died, booked at their worst case (lease.ts).
 */
export function rollup(steps: RollupStep[], spentUsd: number, planningModel: string, leftBehindUsd = 0): Rollup {
  const rows = steps.filter((s) => s.costUsd > 0 || s.status !== 'skipped');
  const stepsUsd = rows.reduce((sum, r) => sum + r.costUsd, 0);
  const unaccounted = Math.max(0, spentUsd - stepsUsd);
  const leftBehind = Math.min(leftBehindUsd, unaccounted);
  const planningUsd = unaccounted - leftBehind;
  const all = [
    ...unaccountedRow('Planning (CEO agent)', 'CEO agent', planningModel, planningUsd, 'succeeded'),
    ...unaccountedRow('Cut off by a stopped process', 'Worst case, booked', null, leftBehind, 'failed'),
    ...rows,
  ];
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
