/**
 * An upper bound on the input tokens of one turn of a tool conversation: the system prompt, every
 * message of the transcript so far (text, the tool calls' names, ids and arguments, the tool
 * results) and the tools' definitions. The transcript grows every turn, and so does the bound:
 * a later turn reserves more than an earlier one.
 */
import type { BaseMessage } from '@langchain/core/messages';
import { type LlmTurnRequest, type TurnTool, toolDefinitions } from '../llm/toolTurn.js';
import { inputTokensUpperBound } from './pricing.js';

/**
 * Room per tool for what a provider adds around its definition (Anthropic's tool-use system prompt
 * is some hundreds of tokens), as the single structured call allows.
 */
const TOOL_FRAMING_BYTES = 1024;

function toolsBytes(tools: readonly TurnTool[]): number {
  return toolDefinitions(tools).reduce(
    (sum, definition) => sum + Buffer.byteLength(JSON.stringify(definition), 'utf8') + TOOL_FRAMING_BYTES,
    0,
  );
}

/**
 * Every part of a message that reaches the wire, as text. JSON of the content blocks and of the
 * tool calls counts their quoting and keys too: more bytes than the model reads, never fewer.
 * An Anthropic turn carries its tool calls both as content blocks and as `tool_calls`; counting
 * both only overstates.
 */
function messageTexts(message: BaseMessage): string[] {
  const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
  const texts = [content];
  const { tool_calls, invalid_tool_calls } = message as { tool_calls?: unknown[]; invalid_tool_calls?: unknown[] };
  if (tool_calls?.length) texts.push(JSON.stringify(tool_calls));
  if (invalid_tool_calls?.length) texts.push(JSON.stringify(invalid_tool_calls));
  const toolCallId = (message as { tool_call_id?: string }).tool_call_id;
  if (toolCallId) texts.push(toolCallId);
  if (message.name) texts.push(message.name);
  return texts;
}

export function turnInputTokensUpperBound(request: LlmTurnRequest): number {
  const texts = [request.system, ...request.messages.flatMap(messageTexts)];
  return inputTokensUpperBound(texts, toolsBytes(request.tools));
}
