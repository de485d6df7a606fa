/** Prices (money/pricing.ts): a model priced by the token is priced from rates read once, exactly as the table prices it. */
import { calcPrice } from '@pydantic/genai-prices';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPricer } from '../../../src/engine/money/pricing.js';

const table = (model: string, u: { input: number; output: number; cacheRead: number; cacheWrite: number }) =>
  calcPrice(
    {
      input_tokens: u.input,
      output_tokens: u.output,
      cache_read_tokens: u.cacheRead,
      cache_write_tokens: u.cacheWrite,
    },
    model,
  )?.total_price ?? 0;

/** A usage as a provider reports it: cached tokens are among the input tokens. */
const usage = fc
  .record({
    input: fc.integer({ min: 0, max: 400_000 }),
    output: fc.integer({ min: 0, max: 64_000 }),
    readShare: fc.double({ min: 0, max: 1, noNaN: true }),
    writeShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ input, output, readShare, writeShare }) => {
    const cacheRead = Math.floor(input * readShare);
    const cacheWrite = Math.floor((input - cacheRead) * writeShare);
    return { input, output, cacheRead, cacheWrite };
  });

describe('createPricer, from the table', () => {
  // Priced by the token (gpt-*), and in tiers above 200k input tokens (claude-sonnet-4-5).
  for (const model of ['gpt-4o-mini', 'gpt-4.1', 'gpt-4o', 'claude-sonnet-4-5']) {
    it(`costs what the table says for any usage of ${model}`, () => {
      const pricer = createPricer(model, {});
      fc.assert(
        fc.property(usage, (u) => {
          const expected = table(model, u);
          expect(Math.abs(pricer.cost(u) - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('reserves the dearer of every input token plain or written to the cache, and every output token', () => {
    const pricer = createPricer('claude-sonnet-4-5', {});
    const plain = table('claude-sonnet-4-5', { input: 250_000, output: 8_000, cacheRead: 0, cacheWrite: 0 });
    const written = table('claude-sonnet-4-5', { input: 250_000, output: 8_000, cacheRead: 0, cacheWrite: 250_000 });
    expect(pricer.worstCase(250_000, 8_000)).toBe(Math.max(plain, written));
    const mini = createPricer('gpt-4o-mini', {});
    expect(mini.worstCase(1_000_000, 1_000_000)).toBeCloseTo(0.15 + 0.6, 12);
  });

  it('refuses a model the table has no price for', () => {
    expect(() => createPricer('no-such-model-anywhere', {})).toThrow(/no-such-model-anywhere/);
  });
});
