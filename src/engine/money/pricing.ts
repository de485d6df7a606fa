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
  if (!calcPrice({ input_tokens: 1, output_tokens: 1 }, model)) throw new UnknownPriceError(model);
  const price = (usage: Record<string, number>) => calcPrice(usage, model)?.total_price ?? 0;
  return {
    model,
    cost: (u) =>
      price({
        input_tokens: u.input,
        output_tokens: u.output,
        cache_read_tokens: u.cacheRead,
        cache_write_tokens: u.cacheWrite,
      }),
    worstCase: (inTok, outTok) =>
      Math.max(
        price({ input_tokens: inTok, output_tokens: outTok }),
        price({ input_tokens: inTok, cache_write_tokens: inTok, output_tokens: outTok }),
      ),
  };
}

/**
 * An upper bound on the input tokens of a prompt. Byte-level BPE tokenizers never make a token
 * of less than one byte, so the UTF-8 length plus a per-message framing allowance bounds it.
 */
export function inputTokensUpperBound(texts: readonly string[], extraBytes = 0): number {
  const bytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t, 'utf8'), 0) + extraBytes;
  return bytes + 8 * texts.length + 16;
}
