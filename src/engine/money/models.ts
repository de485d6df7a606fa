/**
 * The models a run calls, one registry built at start from config: each role's calls are made
 * with its own model's client and reserved and settled at that model's prices. Clients and pricers
 * are made once per model and shared by every step.
 */
import type { Config } from '../../config.js';
import { type ChatLlm, createLlm } from '../llm/client.js';
import type { ModelPricers } from './estimate.js';
import { createPricer, type Pricer } from './pricing.js';

export interface ModelRegistry extends ModelPricers {
  /** LLM_MODEL: what a role without a model of its own, and the CEO agent, run on. */
  readonly defaultModel: string;
  /** The models people may pick per role, the default first (ORCHESTRATE_MODELS). */
  readonly models: readonly string[];
  /** The prices of `model`; null is the default model. Throws UnknownPriceError for a model without a price. */
  pricerFor(model: string | null): Pricer;
  /** The client that calls `model`; null is the default model. */
  llmFor(model: string | null): ChatLlm;
}

export interface ModelRegistryOptions {
  /** The default model's client, where the caller has one already (tests, a replaced LLM). */
  defaultLlm?: ChatLlm;
  /** How a client for another model is made; by default the configured provider with that model. */
  llmOf?: (model: string) => ChatLlm;
}

export function createModelRegistry(
  llm: Config['llm'],
  prices: Config['prices'],
  options: ModelRegistryOptions = {},
): ModelRegistry {
  const llmOf = options.llmOf ?? ((model: string) => createLlm({ ...llm, model }));
  const pricers = new Map<string, Pricer>();
  const clients = new Map<string, ChatLlm>();
  if (options.defaultLlm) clients.set(llm.model, options.defaultLlm);
  // Every model people may pick is priced now: one without a price stops the app at start, not a run.
  for (const model of new Set([llm.model, ...llm.models])) pricers.set(model, createPricer(model, prices));

  // A plan approved before a model left ORCHESTRATE_MODELS still runs on the model it was approved
  // with, as long as that model has a price: what was approved is what runs.
  const pricerFor = (model: string | null): Pricer => {
    const name = model ?? llm.model;
    let pricer = pricers.get(name);
    if (!pricer) {
      pricer = createPricer(name, prices);
      pricers.set(name, pricer);
    }
    return pricer;
  };
  const llmFor = (model: string | null): ChatLlm => {
    const name = model ?? llm.model;
    let client = clients.get(name);
    if (!client) {
      pricerFor(name); // never a client for a model whose calls could not be reserved
      client = llmOf(name);
      clients.set(name, client);
    }
    return client;
  };
  return { defaultModel: llm.model, models: [...llm.models], pricerFor, llmFor };
}
