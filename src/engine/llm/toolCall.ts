/**
 * One tool call of a step's tool loop, run so that it cannot break the loop: a tool that throws, is
 * unknown or outlives the step's time limit becomes an error the model is told about; a result too
 * long for the transcript is cut, with a marker saying so; a cancel gives the call up at once.
 */
import { ToolMessage } from '@langchain/core/messages';
import type { ToolCall } from '@langchain/core/messages/tool';
import type { StructuredToolInterface } from '@langchain/core/tools';

export interface ToolCallRecord {
  tool: string;
  /** The arguments as JSON, cut to a few hundred characters: enough to tell the calls apart in a post. */
  arguments: string;
  durationMs: number;
  /** The result's length before any cut (0 when the call failed). */
  resultChars: number;
  truncated: boolean;
  error: string | null;
}

export interface CallLimits {
  /** The step's cancel. */
  signal: AbortSignal;
  resultMaxChars: number;
  timeLimitMs: number;
}

const ARGUMENTS_MAX_CHARS = 300;
const ERROR_MAX_CHARS = 500;

/** A limit as people read it: "300 ms", "5 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Content alone does not say "error" on every provider's wire, so the text does. */
export function toolError(call: ToolCall, reason: string): ToolMessage {
  return new ToolMessage({ content: `Error: ${reason}`, tool_call_id: call.id!, name: call.name, status: 'error' });
}

export async function callTool(
  call: ToolCall,
  tools: ReadonlyMap<string, StructuredToolInterface>,
  options: CallLimits,
  deadline: AbortSignal,
): Promise<{ message: ToolMessage; record: ToolCallRecord }> {
  const started = Date.now();
  const args = JSON.stringify(call.args ?? {});
  const base = {
    tool: call.name,
    arguments: args.length > ARGUMENTS_MAX_CHARS ? `${args.slice(0, ARGUMENTS_MAX_CHARS - 1)}…` : args,
  };
  const callSignal = AbortSignal.any([options.signal, deadline]);
  try {
    const tool = tools.get(call.name);
    if (!tool)
      throw new Error(`there is no tool "${call.name}"; the tools are: ${[...tools.keys()].join(', ') || 'none'}`);
    const text = resultText(await untilAborted(() => tool.invoke(call.args, { signal: callSignal }), callSignal));
    const cut = text.length > options.resultMaxChars;
    const content = cut
      ? `${text.slice(0, options.resultMaxChars)}\n\n[Cut: the result was ${text.length} characters long; only the first ${options.resultMaxChars} are shown.]`
      : text;
    // Built-in tools answer a refusal in words ("web_fetch failed: … private address") rather than
    // throw, so that the model reads why: it still counts as an error in the step's record.
    const failed = text.startsWith(`${call.name} failed`) ? text.slice(0, ERROR_MAX_CHARS) : null;
    return {
      message: new ToolMessage({ content, tool_call_id: call.id!, name: call.name, status: 'success' }),
      record: { ...base, durationMs: Date.now() - started, resultChars: text.length, truncated: cut, error: failed },
    };
  } catch (error) {
    const reason =
      deadline.aborted && !options.signal.aborted
        ? `stopped: the time limit of this step (${duration(options.timeLimitMs)}) was reached`
        : describe(error);
    return {
      message: toolError(call, reason),
      record: { ...base, durationMs: Date.now() - started, resultChars: 0, truncated: false, error: reason },
    };
  }
}

/** A tool that ignores its signal must not hold the loop: the call is given up as soon as the signal fires. */
function untilAborted<R>(start: () => Promise<R>, signal: AbortSignal): Promise<R> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const work = Promise.resolve().then(start);
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined);
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A tool's output as text: a string as it is, content blocks by their text, anything else as JSON. */
function resultText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output))
    return output
      .map((part) =>
        typeof part === 'string' ? part : part?.type === 'text' ? String(part.text ?? '') : JSON.stringify(part),
      )
      .join('\n');
  if (output && typeof output === 'object' && 'content' in output && ToolMessage.isInstance(output))
    return resultText(output.content);
  return JSON.stringify(output) ?? '';
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message || 'the tool failed').slice(0, ERROR_MAX_CHARS);
}
