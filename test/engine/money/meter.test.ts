/**
 * The meter books what a call really cost, but never more than was reserved for it: a provider or
 * proxy reporting usage beyond the request's own bounds cannot push spend past the cap.
 */
import { describe, expect, it } from 'vitest';
import type { ChatLlm } from '../../../src/engine/llm/client.js';
import { meteredText } from '../../../src/engine/money/meter.js';
import { createPricer } from '../../../src/engine/money/pricing.js';
import { load, seed, useDatabase } from '../usecases/support.js';

useDatabase();

const pricer = createPricer('metered-model', {
  'metered-model': { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 },
});
const lyingLlm = (output: number): ChatLlm => ({
  model: 'metered-model',
  text: async () => ({ text: 'ok', usage: { input: 10, output, cacheRead: 0, cacheWrite: 0 } }),
  structured: async () => {
    throw new Error('not used');
  },
  turn: async () => {
    throw new Error('not used');
  },
});

describe('meteredText', () => {
  it('books at most the reservation when the provider reports more than max_tokens allowed, and says so', async () => {
    const id = await seed({ maxUsd: 10_000, spentUsd: 0 });
    const warnings: string[] = [];
    const request = { system: 's', user: 'u', maxTokens: 10 };
    const worst = pricer.worstCase(Buffer.byteLength('s') + Buffer.byteLength('u') + 2 * 8 + 16, request.maxTokens);
    const result = await meteredText(
      { orchestrationId: id, llm: lyingLlm(5000), pricer, warn: (line) => warnings.push(line) },
      request,
    );
    expect(result.costUsd).toBeCloseTo(worst, 9);
    const doc = await load(id);
    expect(doc.budget.spentUsd).toBeCloseTo(worst, 9);
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
    expect(warnings.join('\n')).toMatch(/reported usage costing .* above the call's worst case/);
  });

  it('books the real cost when it is within the reservation, without a warning', async () => {
    const id = await seed({ maxUsd: 10_000, spentUsd: 0 });
    const warnings: string[] = [];
    const result = await meteredText(
      { orchestrationId: id, llm: lyingLlm(3), pricer, warn: (line) => warnings.push(line) },
      { system: 's', user: 'u', maxTokens: 10 },
    );
    expect(result.costUsd).toBeCloseTo(13, 6);
    expect(warnings).toEqual([]);
  });
});
