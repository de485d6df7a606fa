/**
 * The tool loop of one step: the model may call tools, then answers, in plain text or by calling a
 * named answer tool. It is bounded in tool calls, result size and wall-clock time; when a bound is
 * reached, one last turn is made with no tool but the answer, so the step still answers with what
 * it has. Every turn goes through the budget meter, so the hard cap holds turn by turn; a cancel
 * stops the loop between turns and cuts any turn or tool call in flight.
 */
import { type AIMessage, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import type { ToolCall } from '@langchain/core/messages/tool';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { LlmCallError } from '../../errors.js';
import { type MeterContext, meteredTurn } from '../money/meter.js';
import type { TokenUsage } from '../money/pricing.js';
import { type AnswerTool, contentText, type TurnTool, type TurnToolChoice } from './client.js';
import { callTool, duration, type ToolCallRecord, toolError } from './toolCall.js';

export type { ToolCallRecord } from './toolCall.js';

export interface ToolLoopOptions {
  meter: MeterContext;
  system: string;
  /** The prompt, or a transcript to go on from (a repair round passes the previous result's `messages`). */
  user: string | readonly BaseMessage[];
  tools: readonly StructuredToolInterface[];
  maxTokens: number;
  /**
   * Tool calls allowed, counted one by one (a turn may make several). A repair round going on from
   * an earlier transcript passes what is left of the step's allowance: this loop counts only its own.
   */
  maxToolCalls: number;
  resultMaxChars: number;
  timeLimitMs: number;
  signal: AbortSignal;
  /** Wraps each metered turn, e.g. to retry transient failures; each attempt is reserved anew. */
  retry?: <R>(call: () => Promise<R>) => Promise<R>;
}

/** A structured answer: `value` when its arguments fit the schema, else the violations for a repair round. */
export interface StructuredAnswer<T> {
  value: T | null;
  violations: string[];
  rawArguments: unknown;
}

/** Why the loop ended: the model answered on its own, or a bound made it answer. */
export type LoopStop = 'answered' | 'tool_calls' | 'time';

export interface ToolLoopResult<A> {
  answer: A;
  usage: TokenUsage;
  costUsd: number;
  model: string;
  records: ToolCallRecord[];
  turns: number;
  stoppedBy: LoopStop;
  /** The transcript, every tool call answered, so that a repair round can go on from it. */
  messages: BaseMessage[];
}

const cancelled = () => new LlmCallError('the call was aborted', false, true);

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw cancelled();
}

export function runToolLoop(options: ToolLoopOptions & { answer?: undefined }): Promise<ToolLoopResult<string>>;
export function runToolLoop<T>(
  options: ToolLoopOptions & { answer: AnswerTool<T> },
): Promise<ToolLoopResult<StructuredAnswer<T>>>;
export async function runToolLoop<T>(
  options: ToolLoopOptions & { answer?: AnswerTool<T> | undefined },
): Promise<ToolLoopResult<string | StructuredAnswer<T>>> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.timeLimitMs);
  try {
    return await loop(options, deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function loop<T>(
  options: ToolLoopOptions & { answer?: AnswerTool<T> | undefined },
  deadline: AbortSignal,
): Promise<ToolLoopResult<string | StructuredAnswer<T>>> {
  const { answer, signal } = options;
  const retry = options.retry ?? ((call) => call());
  const byName = new Map(options.tools.map((t) => [t.name, t]));
  const offered: TurnTool[] = answer ? [...options.tools, answer as AnswerTool] : [...options.tools];
  const messages: BaseMessage[] =
    typeof options.user === 'string' ? [new HumanMessage(options.user)] : [...options.user];
  const records: ToolCallRecord[] = [];
  const usage: TokenUsage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  let costUsd = 0;
  let turns = 0;
  let limit: LoopStop | null = null;
  let nudged = false;
  const done = (value: string | StructuredAnswer<T>): ToolLoopResult<string | StructuredAnswer<T>> => ({
    answer: value,
    usage,
    costUsd,
    model: options.meter.llm.model,
    records,
    turns,
    stoppedBy: limit ?? 'answered',
    messages,
  });

  for (;;) {
    throwIfCancelled(signal);
    const bound: LoopStop | null = deadline.aborted
      ? 'time'
      : records.length >= options.maxToolCalls
        ? 'tool_calls'
        : null;
    if (!limit && bound) {
      limit = bound;
      messages.push(new HumanMessage(lastTurnNote(bound, options, answer?.name)));
    }
    const final = limit !== null || nudged;
    const toolChoice: TurnToolChoice | undefined = final ? (answer ? { tool: answer.name } : 'none') : undefined;
    const turn = await retry(() =>
      meteredTurn(options.meter, {
        system: options.system,
        messages,
        tools: offered,
        ...(toolChoice ? { toolChoice } : {}),
        maxTokens: options.maxTokens,
        signal,
      }),
    );
    turns += 1;
    usage.input += turn.usage.input;
    usage.output += turn.usage.output;
    usage.cacheRead += turn.usage.cacheRead;
    usage.cacheWrite += turn.usage.cacheWrite;
    costUsd += turn.costUsd;
    const message = withCallIds(turn.message, turns);
    messages.push(message);
    const calls = message.tool_calls ?? [];

    if (answer) {
      const answerCall = calls.find((c) => c.name === answer.name);
      if (answerCall || final) {
        const checked = checkAnswer(answer, answerCall, message, turn.cutOff, options.maxTokens);
        for (const call of calls) {
          if (call !== answerCall) messages.push(toolError(call, 'not run: the answer was given in the same turn'));
          else if (checked.value === null)
            messages.push(
              toolError(
                call,
                `rejected: ${checked.violations.slice(0, 10).join('; ')}. Call ${answer.name} again with valid arguments.`,
              ),
            );
          else messages.push(new ToolMessage({ content: 'accepted', tool_call_id: call.id!, name: call.name }));
        }
        return done(checked);
      }
      if (!calls.length) {
        // A text turn is no answer here: the next turn must call the answer tool, so the loop stays bounded.
        messages.push(new HumanMessage(`Answer now by calling the ${answer.name} tool.`));
        nudged = true;
        continue;
      }
    } else if (!calls.length || final) {
      for (const call of calls) messages.push(toolError(call, 'not run: no more tool calls were allowed'));
      const note = turn.cutOff ? `\n\n_[Cut off at the output limit of ${options.maxTokens} tokens.]_` : '';
      return done(`${contentText(message).trim()}${note}`);
    }

    const room = Math.max(0, options.maxToolCalls - records.length);
    const run = calls.slice(0, room);
    const outcomes = await Promise.all(run.map((call) => callTool(call, byName, options, deadline)));
    throwIfCancelled(signal);
    for (const outcome of outcomes) {
      records.push(outcome.record);
      messages.push(outcome.message);
    }
    for (const call of calls.slice(room))
      messages.push(
        toolError(call, `not run: the limit of ${options.maxToolCalls} tool calls for this step was reached`),
      );
  }
}

/** Told on the last turn, so that the model answers from what it has instead of asking for more. */
function lastTurnNote(bound: LoopStop, options: ToolLoopOptions, answerName: string | undefined): string {
  const why =
    bound === 'time'
      ? `The time limit of this step (${duration(options.timeLimitMs)}) has been reached`
      : `The limit of ${options.maxToolCalls} tool calls for this step has been reached`;
  const how = answerName ? `by calling the ${answerName} tool` : 'in text, with no more tool calls';
  return `${why}. Answer now ${how}, with what you have found so far; say what you could not check.`;
}

/** Some OpenAI-compatible servers send tool calls without ids: a result must name the call it answers. */
function withCallIds(message: AIMessage, turn: number): AIMessage {
  message.tool_calls?.forEach((call, i) => {
    if (!call.id) call.id = `call_${turn}_${i}`;
  });
  return message;
}

function checkAnswer<T>(
  answer: AnswerTool<T>,
  call: ToolCall | undefined,
  message: AIMessage,
  cutOff: boolean,
  maxTokens: number,
): StructuredAnswer<T> {
  if (cutOff)
    return {
      value: null,
      rawArguments: call?.args ?? null,
      violations: [
        `the answer was cut off at the output limit (${maxTokens} tokens) before the ${answer.name} call was complete: make it shorter`,
      ],
    };
  if (!call) {
    const invalid = message.invalid_tool_calls?.find((c) => c.name === answer.name);
    return {
      value: null,
      rawArguments: invalid?.args ?? null,
      violations: [
        invalid
          ? `the arguments of ${answer.name} must be valid JSON`
          : `the answer must be a call of the ${answer.name} tool with JSON arguments`,
      ],
    };
  }
  const checked = answer.schema.safeParse(call.args);
  if (checked.success) return { value: checked.data, violations: [], rawArguments: call.args };
  return {
    value: null,
    rawArguments: call.args,
    violations: checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
  };
}
