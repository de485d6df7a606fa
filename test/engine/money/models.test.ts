/** The models a run calls: one client and one pricer per model, the default model where a role names none. */
import { describe, expect, it } from 'vitest';
import type { ChatLlm } from '../../../src/engine/llm/client.js';
import { createModelRegistry } from '../../../src/engine/money/models.js';
import { createPricer } from '../../../src/engine/money/pricing.js';
import { UnknownPriceError } from '../../../src/errors.js';
import { TWO_MODEL_LLM } from '../../fixtures.js';

const LLM = TWO_MODEL_LLM;
const usage = { input: 1000, output: 1000, cacheRead: 0, cacheWrite: 0 };

describe('the model registry', () => {
  it("prices each model at its own rates, and a role without a model at the default's", () => {
    const models = createModelRegistry(LLM, {});
    expect(models.defaultModel).toBe('gpt-4o-mini');
    expect(models.models).toEqual(['gpt-4o-mini', 'gpt-4o']);
    expect(models.pricerFor(null).model).toBe('gpt-4o-mini');
    expect(models.pricerFor('gpt-4o').cost(usage)).toBeCloseTo(createPricer('gpt-4o', {}).cost(usage), 12);
    expect(models.pricerFor('gpt-4o').cost(usage)).toBeGreaterThan(models.pricerFor(null).cost(usage) * 10);
  });

  it('makes one client per model, calling that model, and shares it', () => {
    const made: string[] = [];
    const llmOf = (model: string) => {
      made.push(model);
      return { model } as unknown as ChatLlm;
    };
    const given = { model: 'gpt-4o-mini' } as unknown as ChatLlm;
    const models = createModelRegistry(LLM, {}, { defaultLlm: given, llmOf });
    expect(models.llmFor(null)).toBe(given);
    expect(models.llmFor('gpt-4o-mini')).toBe(given);
    const other = models.llmFor('gpt-4o');
    expect(other.model).toBe('gpt-4o');
    expect(models.llmFor('gpt-4o')).toBe(other);
    expect(made).toEqual(['gpt-4o']);
  });

  it('builds a real client for another model from the configured provider', () => {
    expect(createModelRegistry(LLM, {}).llmFor('gpt-4o').model).toBe('gpt-4o');
  });

  it('refuses at start a pickable model without a price, and never calls one', () => {
    expect(() => createModelRegistry({ ...LLM, models: ['gpt-4o-mini', 'no-such-model-xyz'] }, {})).toThrow(
      UnknownPriceError,
    );
    const made: string[] = [];
    const llmOf = (model: string) => {
      made.push(model);
      return { model } as unknown as ChatLlm;
    };
    const models = createModelRegistry(LLM, {}, { llmOf });
    expect(() => models.llmFor('no-such-model-xyz')).toThrow(UnknownPriceError);
    expect(made).toEqual([]);
  });
});
