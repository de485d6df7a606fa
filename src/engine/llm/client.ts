/**
 * The LLM boundary: one small interface over langchain's OpenAI and Anthropic chat models.
 * langchain's own retries are off (maxRetries 0) because every attempt must be reserved
 * against the budget first; the step runner retries with backoff instead. Only the configured
 * provider's package is loaded, at the first call: each, with its SDK, is a few MB of idle memory.
 */
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { type AIMessage, type AIMessageChunk, HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { hasCode, LlmCallError } from '../../errors.js';
import type { TokenUsage } from '../money/pricing.js';
import { keptModels } from './keptModels.js';
import { type LlmTurnRequest, type LlmTurnResult, toolDefinitions } from './toolTurn.js';

export type { AnswerTool, LlmTurnRequest, LlmTurnResult, TurnTool, TurnToolChoice } from './toolTurn.js';

export interface LlmRequest {
  system: string;
  user: string;
  maxTokens: number;
  signal?: AbortSignal;
}

export interface LlmTextResult {
  text: string;
  usage: TokenUsage;
}

export interface LlmStructuredResult<T> {
  value: T | null;
  /** Why the answer did not fit the schema: sentences for a repair prompt. Empty when value is set. */
  violations: string[];
  /** The tool arguments as the model sent them, valid or not (null when there were none). */
  rawArguments: unknown;
  usage: TokenUsage;
}

export interface ChatLlm {
  readonly model: string;
  text(request: LlmRequest): Promise<LlmTextResult>;
  /** `onPartial`, where the model streams: told the tool's arguments as they are written (a partial JSON text). */
  structured<T>(
    schema: z.ZodType<T>,
    name: string,
    request: LlmRequest,
    onPartial?: (partialArguments: string) => void,
  ): Promise<LlmStructuredResult<T>>;
  /** One turn of a conversation with tools bound: the model's next message (text and/or tool calls). */
  turn(request: LlmTurnRequest): Promise<LlmTurnResult>;
}

export function classifyLlmError(error: unknown, signal?: AbortSignal): LlmCallError {
  if (hasCode(error, 'llm_call')) return error;
  const e = error as {
    name?: string;
    status?: number;
    code?: string;
    message?: string;
    error?: { type?: string; code?: string };
  };
  const message = String(e?.message ?? error).slice(0, 300);
  // Only our own signal means "aborted": a provider or proxy error that merely says so (a 502
  // "upstream connection aborted") is classified by its status like any other.
  if (signal?.aborted) return new LlmCallError('the call was aborted', false, true);
  const status = e?.status;
  const quota =
    e?.code === 'insufficient_quota' || e?.error?.code === 'insufficient_quota' || /insufficient_quota/.test(message);
  if (quota) return new LlmCallError('the LLM provider reports insufficient quota', false);
  if (status === 429) return new LlmCallError('the LLM provider is rate limiting (429)', true);
  if (typeof status === 'number' && status >= 500) return new LlmCallError(`the LLM provider failed (${status})`, true);
  if (typeof status === 'number' && status >= 400)
    return new LlmCallError(`the LLM provider refused the request (${status}): ${message}`, false);
  // The SDKs say only "Connection error." and keep the real cause (fetch failed, ECONNRESET) beneath it.
  const causes = [message, ...causeChain(error)].join(' ');
  if (
    /timeout|timed out|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|network|connection error/i.test(
      causes,
    )
  ) {
    return new LlmCallError(`the LLM provider did not answer: ${message}`, true);
  }
  return new LlmCallError(message, false);
}

function causeChain(error: unknown): string[] {
  const out: string[] = [];
  let cause = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause && depth < 4; depth++) {
    const c = cause as { message?: string; code?: string; cause?: unknown };
    out.push(String(c.message ?? ''), String(c.code ?? ''));
    cause = c.cause;
  }
  return out;
}

function usageOf(message: unknown): TokenUsage {
  const meta = (message as AIMessage | undefined)?.usage_metadata;
  return {
    input: meta?.input_tokens ?? 0,
    output: meta?.output_tokens ?? 0,
    cacheRead: meta?.input_token_details?.cache_read ?? 0,
    cacheWrite: meta?.input_token_details?.cache_creation ?? 0,
  };
}

export function contentText(message: AIMessage): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  return content
    .map((part) =>
      typeof part === 'string' ? part : part.type === 'text' ? String((part as { text?: string }).text ?? '') : '',
    )
    .join('');
}

/** A chat model for one call; a promise where the provider's package is still to be loaded. */
export type ModelFactory = (maxTokens: number) => BaseChatModel | Promise<BaseChatModel>;

export function modelFactoryFromConfig(llm: Config['llm']): ModelFactory {
  if (llm.provider === 'anthropic') {
    return async (maxTokens) => {
      const { ChatAnthropic } = await import('@langchain/anthropic');
      return new ChatAnthropic({
        model: llm.model,
        apiKey: llm.apiKey,
        ...(llm.baseUrl ? { anthropicApiUrl: llm.baseUrl } : {}),
        maxTokens,
        maxRetries: 0,
        clientOptions: { timeout: llm.timeoutMs },
      });
    };
  }
  return async (maxTokens) => {
    const { ChatOpenAI } = await import('@langchain/openai');
    return new ChatOpenAI({
      model: llm.model,
      apiKey: llm.apiKey,
      configuration: llm.baseUrl ? { baseURL: llm.baseUrl } : {},
      maxTokens,
      maxRetries: 0,
      timeout: llm.timeoutMs,
    });
  };
}

export class LangchainLlm implements ChatLlm {
  constructor(
    readonly model: string,
    private readonly factory: ModelFactory,
    /** Whether answers may be streamed (the OpenAI-compatible path; the Anthropic path is not streamed yet). */
    readonly streams = false,
  ) {}

  async text(request: LlmRequest): Promise<LlmTextResult> {
    try {
      const model = await this.factory(request.maxTokens);
      const answer = (await model.invoke([new SystemMessage(request.system), new HumanMessage(request.user)], {
        signal: request.signal,
      })) as AIMessage;
      const text = contentText(answer).trim();
      // Kept, since it was paid for, but never passed off as complete.
      const note = cutOff(answer)
        ? `\n\n_[Cut off at the output limit of ${request.maxTokens} tokens (LLM_MAX_OUTPUT_TOKENS).]_`
        : '';
      return { text: `${text}${note}`, usage: usageOf(answer) };
    } catch (error) {
      throw classifyLlmError(error, request.signal);
    }
  }

  async structured<T>(
    schema: z.ZodType<T>,
    name: string,
    request: LlmRequest,
    onPartial?: (partialArguments: string) => void,
  ): Promise<LlmStructuredResult<T>> {
    let result: { raw: unknown; parsed: unknown };
    try {
      result =
        onPartial && this.streams
          ? await this.streamToolCall(schema, name, request, onPartial)
          : await this.invokeToolCall(schema, name, request);
    } catch (error) {
      throw classifyLlmError(error, request.signal);
    }
    const usage = usageOf(result.raw);
    if (cutOff(result.raw)) {
      return {
        value: null,
        rawArguments: null,
        violations: [
          `the answer was cut off at the output limit (${request.maxTokens} tokens) before the ${name} call was complete: make it shorter`,
        ],
        usage,
      };
    }
    // langchain may hand back a parse it did not check against every refinement: check it here.
    const candidate = result.parsed ?? toolArguments(result.raw);
    if (candidate === undefined) {
      return {
        value: null,
        violations: [`the answer must be a call of the ${name} tool with JSON arguments`],
        rawArguments: null,
        usage,
      };
    }
    const checked = schema.safeParse(candidate);
    if (checked.success) return { value: checked.data, violations: [], rawArguments: candidate, usage };
    return {
      value: null,
      rawArguments: candidate,
      violations: checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      usage,
    };
  }

  async turn(request: LlmTurnRequest): Promise<LlmTurnResult> {
    try {
      const model = await this.factory(request.maxTokens);
      const choice = request.toolChoice === 'none' ? 'none' : request.toolChoice?.tool;
      if (request.tools.length && !model.bindTools) throw new LlmCallError('this model cannot call tools', false);
      const runnable = request.tools.length
        ? model.bindTools!(toolDefinitions(request.tools), (choice ? { tool_choice: choice } : {}) as never)
        : model;
      const message = (await runnable.invoke([new SystemMessage(request.system), ...request.messages], {
        signal: request.signal,
      })) as AIMessage;
      return { message, usage: usageOf(message), cutOff: cutOff(message) };
    } catch (error) {
      throw classifyLlmError(error, request.signal);
    }
  }

  private async invokeToolCall<T>(schema: z.ZodType<T>, name: string, request: LlmRequest) {
    const runnable = (await this.factory(request.maxTokens)).withStructuredOutput(
      schema as z.ZodType<Record<string, unknown>>,
      { name, method: 'functionCalling', includeRaw: true },
    );
    return (await runnable.invoke([new SystemMessage(request.system), new HumanMessage(request.user)], {
      signal: request.signal,
    })) as { raw: unknown; parsed: unknown };
  }

  /** The same tool call, streamed: `onPartial` sees the arguments as they arrive; the result is read as a whole. */
  private async streamToolCall<T>(
    schema: z.ZodType<T>,
    name: string,
    request: LlmRequest,
    onPartial: (partialArguments: string) => void,
  ) {
    const tool = {
      type: 'function' as const,
      function: { name, description: name, parameters: z.toJSONSchema(schema) },
    };
    const model = await this.factory(request.maxTokens);
    if (!model.bindTools) throw new LlmCallError('this model cannot call tools', false);
    const bound = model.bindTools([tool], { tool_choice: name } as never);
    let whole: AIMessageChunk | undefined;
    const stream = await bound.stream([new SystemMessage(request.system), new HumanMessage(request.user)], {
      signal: request.signal,
    });
    for await (const chunk of stream) {
      whole = whole ? whole.concat(chunk) : chunk;
      const partial = whole.tool_call_chunks?.[0]?.args;
      if (partial) onPartial(partial);
    }
    return { raw: whole, parsed: undefined };
  }
}

/** Whether the model stopped at its output limit (OpenAI: finish_reason "length"; Anthropic: stop_reason "max_tokens"). */
function cutOff(raw: unknown): boolean {
  const meta = (raw as AIMessage | undefined)?.response_metadata as
    | { finish_reason?: string; stop_reason?: string }
    | undefined;
  return meta?.finish_reason === 'length' || meta?.stop_reason === 'max_tokens';
}

function toolArguments(raw: unknown): unknown {
  const message = raw as AIMessage | undefined;
  const call = message?.tool_calls?.[0];
  if (call) return call.args;
  const invalid = (message as { invalid_tool_calls?: { args?: string }[] } | undefined)?.invalid_tool_calls?.[0];
  if (invalid?.args) {
    try {
      return JSON.parse(invalid.args);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function createLlm(llm: Config['llm']): ChatLlm {
  return new LangchainLlm(llm.model, keptModels(modelFactoryFromConfig(llm)), llm.provider === 'openai');
}
