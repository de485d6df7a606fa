import { describe, expect, it } from 'vitest';
import { rollupMessage } from '../../src/blocks/rollup.js';
import { type RollupStep, rollup } from '../../src/engine/money/rollup.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const step = (
  title: string,
  role: string,
  model: string | null,
  costUsd: number,
  status = 'succeeded',
): RollupStep => ({
  title,
  role,
  model,
  status,
  tokens: { input: 1000, output: 200, cached: 100 },
  costUsd,
  durationMs: 1500,
});

describe('rollup', () => {
  it('totals per role and per model equal the sum of the steps, with planning as its own row', () => {
    const steps = [
      step('A', 'Analyst', 'gpt-4o-mini', 0.01),
      step('B', 'Analyst', 'gpt-4o-mini', 0.02),
      step('C', 'Writer', 'gpt-4o', 0.03),
    ];
    const r = rollup(steps, 0.065, 'gpt-4o-mini');
    expect(r.planningUsd).toBeCloseTo(0.005, 12);
    expect(r.totalUsd).toBeCloseTo(0.065, 12);
    expect(r.byRole.map((t) => [t.key, +t.costUsd.toFixed(6), t.steps])).toEqual([
      ['Analyst', 0.03, 2],
      ['Writer', 0.03, 1],
      ['CEO agent', 0.005, 1],
    ]);
    const sum = (list: { costUsd: number }[]) => list.reduce((a, b) => a + b.costUsd, 0);
    expect(sum(r.byRole)).toBeCloseTo(r.totalUsd, 12);
    expect(sum(r.byModel)).toBeCloseTo(r.totalUsd, 12);
    expect(sum(r.rows)).toBeCloseTo(r.totalUsd, 12);
  });

  it('shows what a dead process’ lease was booked at as a row of its own, not as planning', () => {
    const r = rollup([step('A', 'Analyst', 'm', 0.01)], 0.061, 'm', 0.05);
    expect(r.rows.map((row) => [row.title, +row.costUsd.toFixed(6)])).toEqual([
      ['Planning (CEO agent)', 0.001],
      ['Cut off by a stopped process', 0.05],
      ['A', 0.01],
    ]);
    expect(r.planningUsd).toBeCloseTo(0.001, 12);
    expect(r.totalUsd).toBeCloseTo(0.061, 12);
    // Never more than the steps leave unaccounted for: the rows still add up to the spend.
    expect(rollup([step('A', 'Analyst', 'm', 0.01)], 0.03, 'm', 0.05).totalUsd).toBeCloseTo(0.03, 12);
  });

  it('leaves out skipped steps that cost nothing, but keeps a skipped step that was billed', () => {
    const r = rollup(
      [step('A', 'x', 'm', 0.01), step('B', 'x', null, 0, 'skipped'), step('C', 'x', null, 0.004, 'skipped')],
      0.014,
      'm',
    );
    expect(r.rows.map((s) => s.title)).toEqual(['A', 'C']);
    // The per-model totals still add up to the spend, even for a row that lost its model.
    expect(r.byModel.map((t) => [t.key, t.costUsd])).toEqual([
      ['m', 0.01],
      ['unknown model', 0.004],
    ]);
  });

  it('renders within Block Kit limits for a run of 27 steps', () => {
    const steps = Array.from({ length: 27 }, (_, i) =>
      step(`A rather long step title number ${i} <!here>`, `Role ${i % 8}`, 'gpt-4o-mini', 0.001 * i),
    );
    const m = rollupMessage(rollup(steps, 1, 'gpt-4o-mini'));
    expect(blockKitViolations(m)).toEqual([]);
    expect(JSON.stringify(m.blocks)).toContain('Per role');
    expect(JSON.stringify(m.blocks)).toContain('Per model');
    expect(JSON.stringify(m.blocks)).not.toContain('<!here>');
  });
});
