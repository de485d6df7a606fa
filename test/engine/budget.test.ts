import { describe, expect, it } from 'vitest';
import { createPricer, inputTokensUpperBound } from '../../src/engine/money/pricing.js';
import { UnknownPriceError } from '../../src/errors.js';

describe('pricing', () => {
  it('prices known models from the bundled table', () => {
    const pricer = createPricer('gpt-4o-mini', {});
    expect(pricer.cost({ input: 10_000, output: 1_000, cacheRead: 0, cacheWrite: 0 })).toBeCloseTo(0.0021, 6);
    // cached input is cheaper
    expect(pricer.cost({ input: 10_000, output: 1_000, cacheRead: 5_000, cacheWrite: 0 })).toBeLessThan(0.0021);
  });

  it('refuses an unknown model with a message that says how to add a price', () => {
    expect(() => createPricer('my-local-llama', {})).toThrow(UnknownPriceError);
    expect(() => createPricer('my-local-llama', {})).toThrow(/ORCHESTRATE_PRICES/);
  });

  it('uses a configured price, which also overrides the table', () => {
    const pricer = createPricer('my-local-llama', { 'my-local-llama': { inputPerMTok: 1, outputPerMTok: 2 } });
    expect(pricer.cost({ input: 1_000_000, output: 1_000_000, cacheRead: 0, cacheWrite: 0 })).toBeCloseTo(3, 9);
    expect(pricer.worstCase(1_000_000, 500_000)).toBeCloseTo(2, 9);
  });

  it('the worst case bounds every real cost of a call (cached, uncached, short answers)', () => {
    const pricer = createPricer('claude-sonnet-4-5', {});
    const worst = pricer.worstCase(5000, 1000);
    for (const usage of [
      { input: 5000, output: 1000, cacheRead: 0, cacheWrite: 0 },
      { input: 5000, output: 1000, cacheRead: 0, cacheWrite: 5000 },
      { input: 5000, output: 10, cacheRead: 4000, cacheWrite: 0 },
    ]) {
      expect(pricer.cost(usage)).toBeLessThanOrEqual(worst + 1e-12);
    }
  });

  it('bounds input tokens by UTF-8 bytes, which no byte-level tokenizer undercuts', () => {
    expect(inputTokensUpperBound(['abc'])).toBeGreaterThanOrEqual(3);
    expect(inputTokensUpperBound(['é'])).toBeGreaterThan(inputTokensUpperBound(['e']));
  });
});
