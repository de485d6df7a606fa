/**
 * The shape of one turn of a conversation with tools bound (what the client sends, what it hands
 * back), and the one place tools become wire definitions: the client binds exactly these, and the
 * meter bounds a turn's cost by their size, so the two cannot drift apart.
 */

import type { ToolDefinition } from '@langchain/core/language_models/base';
import type { AIMessage, BaseMessage } from '@langchain/core/messages';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import type { z } from 'zod';
import type { TokenUsage } from '../money/pricing.js';

/** A structured answer offered as a tool: the model answers by calling it, and its arguments are the answer. */
export interface AnswerTool<T = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<T>;
}

export type TurnTool = StructuredToolInterface | AnswerTool;

/**
 * `'none'`: the tools stay bound but none may be called (Anthropic refuses a transcript holding
 * tool calls when no tools are defined, so they cannot simply be left out); `{ tool }`: that tool
 * must be called.
 */
export type TurnToolChoice = 'none' | { tool: string };

export interface LlmTurnRequest {
  system: string;
  /** The conversation so far: the human prompt, the model's turns (with their tool calls) and the tool results. */
  messages: readonly BaseMessage[];
  tools: readonly TurnTool[];
  toolChoice?: TurnToolChoice;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface LlmTurnResult {
  /** The model's turn as it answered: text, tool calls, or both. */
  message: AIMessage;
  usage: TokenUsage;
  /** Whether it stopped at the output limit (its text or tool arguments may be incomplete). */
  cutOff: boolean;
}

const definitions = new WeakMap<object, ToolDefinition>();

/** The OpenAI-format definition of each tool (ChatAnthropic converts the same ones), made once per tool. */
export function toolDefinitions(tools: readonly TurnTool[]): ToolDefinition[] {
  return tools.map((tool) => {
    let definition = definitions.get(tool);
    if (!definition) {
      definition = convertToOpenAITool(tool) as ToolDefinition;
      definitions.set(tool, definition);
    }
    return definition;
  });
}
