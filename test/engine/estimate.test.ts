import { describe, expect, it } from 'vitest';
import { estimateText } from '../../src/blocks/proposal.js';
import type { ChatLlm } from '../../src/engine/llm/client.js';
import { estimate, type HistorySample, outputTokensOf, percentile } from '../../src/engine/money/estimate.js';
import { createModelRegistry } from '../../src/engine/money/models.js';
import { createPricer } from '../../src/engine/money/pricing.js';
import { sampleProposal, TWO_MODEL_LLM } from '../fixtures.js';

const pricer = createPricer('gpt-4o-mini', {});
const sample = (
  kind: HistorySample['kind'],
  costUsd: number,
  agentName = 'someone',
  durationMs = 1000,
): HistorySample => ({ kind, agentName, costUsd, durationMs });

const noLlm = (model: string) => ({ model }) as unknown as ChatLlm;
const registry = () => createModelRegistry(TWO_MODEL_LLM, {}, { llmOf: noLlm });

describe('estimate', () => {
  it('without history gives the worst case from shape and prices, and says it has no typical figure', () => {
    const e = estimate(sampleProposal(), pricer, 2048, []);
    expect(e.calls).toBe(6); // 2 positions, 3 tickets, synthesis
    expect(e.criticalPath).toBe(4);
    expect(e.worstCaseUsd).toBeGreaterThan(6 * 2048 * 0.6e-6); // at least every output token of every call
    expect(e.typicalUsd).toBeNull();
    expect(e.durationMs).toBeNull();
    const text = estimateText(e, 1.5);
    expect(text).toContain('no run history yet');
    expect(text).toContain('duration: no history yet');
    expect(text).not.toContain(':red_circle:');
  });

  it('warns in red before approval when the worst case is above the cap and there is no history', () => {
    const p = sampleProposal({ budget: { maxUsd: 0.001 } });
    const e = estimate(p, pricer, 2048, []);
    expect(e.overCap).toBe(true);
    expect(estimateText(e, 0.001)).toMatch(
      /:red_circle: \*Over the cap: the worst case \(\$0\.\d+\) is above the \$0\.0010 cap/,
    );
  });

  it('with history uses the 25th–75th percentile per step, preferring the same agent', () => {
    const history = [
      ...[1, 2, 3, 4, 5].map((c) => sample('ticket', c / 1000)),
      ...[10, 10, 10].map((c) => sample('ticket', c / 1000, 'ada')),
      ...[1, 1, 1].map((c) => sample('discuss', c / 1000, 'x', 500)),
      ...[5, 6, 7].map((c) => sample('synthesis', c / 1000, 'x', 3000)),
    ];
    const e = estimate(sampleProposal(), pricer, 2048, history);
    // tickets: two by Ada (0.010 each, from her own history); one by Wren, from all 8 ticket
    // samples (p25 0.00275, p75 0.010); positions 2 × 0.001; synthesis p25 0.0055, p75 0.0065
    expect(e.typicalUsd!.low).toBeCloseTo(0.02 + 0.00275 + 0.002 + 0.0055, 9);
    expect(e.typicalUsd!.high).toBeCloseTo(0.02 + 0.01 + 0.002 + 0.0065, 9);
    expect(e.typicalUsd!.samples).toBe(history.length);
    expect(e.durationMs).not.toBeNull();
    expect(e.overCap).toBe(false);
  });

  it('does not mix in a partial history: one step kind without samples means no typical figure', () => {
    const history = [1, 2, 3].map((c) => sample('ticket', c / 1000));
    expect(estimate(sampleProposal(), pricer, 2048, history).typicalUsd).toBeNull();
  });

  it('prices a role on another model with that model, and the others with the default', () => {
    const models = registry();
    const writerOn4o = sampleProposal();
    writerOn4o.roles[1] = { ...writerOn4o.roles[1]!, model: 'gpt-4o' };
    const allOn4o = sampleProposal();
    allOn4o.roles = allOn4o.roles.map((r) => ({ ...r, model: 'gpt-4o' }));

    const allMini = estimate(sampleProposal(), models, 2048, []).worstCaseUsd;
    // The registry prices a plan on the default model exactly as one pricer for every step does.
    expect(allMini).toBeCloseTo(estimate(sampleProposal(), pricer, 2048, []).worstCaseUsd, 12);
    expect(estimate(allOn4o, models, 2048, []).worstCaseUsd).toBeCloseTo(
      estimate(sampleProposal(), createPricer('gpt-4o', {}), 2048, []).worstCaseUsd,
      12,
    );
    // The writer's three calls (its position, the draft, the synthesis) at gpt-4o's prices, the rest at the default's.
    const mixed = estimate(writerOn4o, models, 2048, []).worstCaseUsd;
    expect(mixed).toBeGreaterThan(allMini * 3);
    expect(mixed).toBeLessThan(estimate(allOn4o, models, 2048, []).worstCaseUsd);
  });

  it('compares each step with the history of its own model', () => {
    const p = sampleProposal();
    p.roles[1] = { ...p.roles[1]!, model: 'gpt-4o' };
    const onMini = [
      ...[1, 1, 1].map((c) => sample('ticket', c / 1000)),
      ...[1, 1, 1].map((c) => sample('discuss', c / 1000)),
    ];
    const on4o = (kind: HistorySample['kind'], costUsd: number) => ({ ...sample(kind, costUsd), model: 'gpt-4o' });
    // The writer's steps have no gpt-4o history yet: the default model's says nothing about them.
    expect(estimate(p, registry(), 2048, onMini).typicalUsd).toBeNull();
    const history = [
      ...onMini,
      ...[10, 10, 10].map((c) => on4o('ticket', c / 1000)),
      ...[5, 5, 5].map((c) => on4o('discuss', c / 1000)),
      ...[20, 20, 20].map((c) => on4o('synthesis', c / 1000)),
    ];
    const typical = estimate(p, registry(), 2048, history).typicalUsd!;
    // analyst: two tickets and a position at 0.001; writer: one ticket 0.010, a position 0.005, synthesis 0.020
    expect(typical.low).toBeCloseTo(0.003 + 0.035, 9);
    expect(typical.high).toBeCloseTo(0.003 + 0.035, 9);
  });

  it('counts every turn a role with tools may take: its worst case grows with the tool-call limit, the others do not', () => {
    const pricer = createPricer('gpt-4o-mini', {});
    const plain = sampleProposal();
    const withTools = sampleProposal({
      roles: plain.roles.map((r, i) => (i === 0 ? { ...r, tools: ['web_search'] } : r)),
    });
    const bounds = (maxToolCalls: number) => ({ maxToolCalls, resultMaxChars: 12_000 });
    const noLoop = estimate(plain, pricer, 2048, [], bounds(8)).worstCaseUsd;
    expect(noLoop).toBeCloseTo(estimate(plain, pricer, 2048, []).worstCaseUsd, 12);
    const eight = estimate(withTools, pricer, 2048, [], bounds(8)).worstCaseUsd;
    const two = estimate(withTools, pricer, 2048, [], bounds(2)).worstCaseUsd;
    expect(two).toBeGreaterThan(noLoop);
    expect(eight).toBeGreaterThan(two);
  });

  it('counts a declared output within its bound: a small answer is reserved and estimated small, a dependent gets room for the rendering', () => {
    const pricer = createPricer('gpt-4o-mini', {});
    const plain = sampleProposal({ discussion: { enabled: false, prompt: '' } });
    const small = structuredClone(plain);
    small.tickets[0]!.output = { description: 'How many rivals', fields: [{ name: 'count', type: 'number' }] };
    const count = { output: small.tickets[0]!.output };
    // One number: its call may write far fewer tokens than the configured limit, tools or not.
    expect(outputTokensOf(count, false, 2048)).toBeLessThan(400);
    expect(outputTokensOf(count, true, 2048)).toBe(2048);
    const diff = estimate(plain, pricer, 2048, []).worstCaseUsd - estimate(small, pricer, 2048, []).worstCaseUsd;
    expect(diff).toBeGreaterThan(0);
    // A large table is bounded by the limit, and its dependents and the synthesis get room for its rendering.
    const wide = structuredClone(plain);
    wide.tickets[0]!.output = {
      description: 'Matrix',
      fields: [{ name: 'matrix', type: 'table', columns: ['a', 'b', 'c', 'd', 'e', 'f'], maxItems: 99 }],
    };
    expect(outputTokensOf({ output: wide.tickets[0]!.output }, false, 2048)).toBe(2048);
    expect(estimate(wide, pricer, 2048, []).worstCaseUsd).toBeGreaterThan(
      estimate(plain, pricer, 2048, []).worstCaseUsd,
    );
  });

  it('percentile interpolates', () => {
    expect(percentile([1, 2, 3, 4, 5], 25)).toBe(2);
    expect(percentile([1, 2, 3, 4], 75)).toBeCloseTo(3.25);
  });
});
