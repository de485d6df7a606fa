/**
 * Chat models kept for reuse, one per output limit: a kept model keeps its HTTP connections
 * alive, so a call after the first skips building a client and connecting (a step hand-off is
 * on the run's critical path). Models hold no state between calls; a few limits are kept at most.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';

const KEPT = 16;

export function keptModels(
  build: (maxTokens: number) => BaseChatModel | Promise<BaseChatModel>,
): (maxTokens: number) => Promise<BaseChatModel> {
  const kept = new Map<number, Promise<BaseChatModel>>();
  return (maxTokens) => {
    let model = kept.get(maxTokens);
    if (!model) {
      if (kept.size >= KEPT) kept.delete(kept.keys().next().value!);
      model = Promise.resolve(build(maxTokens));
      kept.set(maxTokens, model);
      model.catch(() => kept.delete(maxTokens));
    }
    return model;
  };
}
