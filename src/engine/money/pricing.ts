/**
 * Prices: what a call cost, and the most it could cost, from a maintained offline table
 * (@pydantic/genai-prices) or the operator's overrides. A model without a price is refused, so
 * that no budget is ever enforced blind.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { ConfiguredPrice } from '../../config.js';
import { UnknownPriceError } from '../../errors.js';

export interface TokenUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Pricer {
  readonly model: string;
  cost(usage: TokenUsage): number;
  /** Most a call can cost: every input token at the dearest input rate, every allowed output token. */
  worstCase(inputTokensUpperBound: number, maxOutputTokens: number): number;
}

export function createPricer(model: string, overrides: Record<string, ConfiguredPrice>): Pricer {
  const override = overrides[model];
  if (override) {
    const perToken = (perM: number | undefined, fallback: number) => (perM ?? fallback) / 1_000_000;
    const input = perToken(override.inputPerMTok, 0);
    const output = perToken(override.outputPerMTok, 0);
    const cacheRead = perToken(override.cacheReadPerMTok, override.inputPerMTok);
    const cacheWrite = perToken(override.cacheWritePerMTok, override.inputPerMTok);
    return {
      model,
      cost: (u) => {
        const plain = Math.max(0, u.input - u.cacheRead - u.cacheWrite);
        return plain * input + u.cacheRead * cacheRead + u.cacheWrite * cacheWrite + u.output * output;
      },
      worstCase: (inTok, outTok) => inTok * Math.max(input, cacheRead, cacheWrite) + outTok * output,
    };
  }
  const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, model);
  if (!found) throw new UnknownPriceError(model);
  const price = (usage: Record<string, number>) => calcPrice(usage, model)?.total_price ?? 0;
  const cost = linearCost(found.model.prices, price) ?? ((u: TokenUsage) => price(tableUsage(u)));
  return {
    model,
    cost,
    worstCase: (inTok, outTok) =>
      Math.max(
        cost({ input: inTok, output: outTok, cacheRead: 0, cacheWrite: 0 }),
        cost({ input: inTok, output: outTok, cacheRead: 0, cacheWrite: inTok }),
      ),
  };
}

const tableUsage = (u: TokenUsage) => ({
  input_tokens: u.input,
  output_tokens: u.output,
  cache_read_tokens: u.cacheRead,
  cache_write_tokens: u.cacheWrite,
});

/**
 * A model priced by the token, with no tiers and no dated prices, costs the same per token at any
 * size: its rates are read from the table once, rather than the table searched on every call
 * (about 50 µs a call, three calls a step). Null for any other model, priced by the table each time.
 */
function linearCost(
  prices: unknown,
  price: (usage: Record<string, number>) => number,
): ((u: TokenUsage) => number) | null {
  const plain =
    prices !== null &&
    typeof prices === 'object' &&
    !Array.isArray(prices) &&
    Object.values(prices).every((v) => typeof v === 'number' || v === undefined);
  if (!plain) return null;
  const M = 1_000_000;
  const input = price({ input_tokens: M }) / M;
  const output = price({ output_tokens: M }) / M;
  // Cached tokens are counted among the input tokens too: their rate is what they change.
  const cacheRead = price({ input_tokens: M, cache_read_tokens: M }) / M - input;
  const cacheWrite = price({ input_tokens: M, cache_write_tokens: M }) / M - input;
  const cost = (u: TokenUsage) =>
    u.input * input + u.output * output + u.cacheRead * cacheRead + u.cacheWrite * cacheWrite;
  // Checked against the table where the rates combine, lest its formula hold something unforeseen.
  const probe = { input: 123_457, output: 9_876, cacheRead: 40_000, cacheWrite: 20_000 };
  const expected = price(tableUsage(probe));
  return Math.abs(cost(probe) - expected) <= 1e-9 * Math.max(1, expected) ? cost : null;
}

/**
 * An upper bound on the input tokens of a prompt. Byte-level BPE tokenizers never make a token
 * of less than one byte, so the UTF-8 length plus a per-message framing allowance bounds it.
 */
export function inputTokensUpperBound(texts: readonly string[], extraBytes = 0): number {
  const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0) + extraBytes;
  return bytes + 8 * texts.length + 16;
}
