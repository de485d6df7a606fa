/**
 * A fake Anthropic Messages API server on 127.0.0.1 (POST {url}/v1/messages), the counterpart of
 * FakeOpenAI. A responder script decides each answer (tool call, text or HTTP error); the server
 * records what was asked, when each request started and ended, and whether the client hung up.
 *
 * Wire facts it follows (checked in @anthropic-ai/sdk 0.122 and @langchain/anthropic 1.5.11):
 * - The SDK joins `baseURL + '/v1/messages'`, so `anthropicApiUrl` / ANTHROPIC_BASE_URL is the bare
 *   origin (http://127.0.0.1:PORT), without /v1: `url` returns exactly that.
 * - ChatAnthropic sends `stream: false` for invoke() and withStructuredOutput() unless it is built
 *   with `streaming: true` or a streaming callback handler is attached, neither of which the app
 *   does. A `stream: true` request is refused with a 400 naming this, so that a change to
 *   streaming shows up as a clear test failure instead of a fake answering the wrong protocol.
 * - Usage goes on the wire as Anthropic reports it: `input_tokens` counts only the uncached input;
 *   cache reads and writes are separate. langchain adds all three into usage_metadata.input_tokens.
 * - Tool use is refused as Anthropic refuses it: a transcript holding tool_use or tool_result blocks
 *   must define tools, every tool_use must be answered by a tool_result in the next message, and
 *   every tool_result must answer a tool_use of the message before (consecutive messages of one
 *   role count as one, as the API merges them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeLlmServer } from './fakeLlmServer.js';

export interface AnthropicContentBlock {
  type: string;
  text?: string;
  [k: string]: unknown;
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: { role: string; content: string | AnthropicContentBlock[] }[];
  system?: string | AnthropicContentBlock[];
  tools?: { name: string; description?: string; input_schema?: unknown; [k: string]: unknown }[];
  tool_choice?: { type: string; name?: string; [k: string]: unknown };
  stream?: boolean;
  [k: string]: unknown;
}

export interface RecordedRequest {
  body: MessagesRequest;
  /** The tool forced by tool_choice {type: 'tool', name}, else the first tool offered, else null. */
  toolName: string | null;
  /** The system prompt: `system` as a string, or its text blocks joined. */
  system: string;
  /** The text of the user messages (text blocks and tool results), joined by newlines. */
  user: string;
  /** The names of the tools offered. */
  tools: string[];
  /** tool_choice's type ("auto", "any", "none"), or the name of the tool it forces; null when unset. */
  toolChoice: string | null;
  /** Every tool_result in the transcript, in order, with the tool of the tool_use it answers. */
  toolResults: { id: string; name: string | null; content: string; isError: boolean }[];
  /** The x-api-key header as sent. */
  apiKey: string | null;
  /** The stop_reason this request was answered with (null for an error answer or a hang-up). */
  stopReason: string | null;
  startedAt: number;
  endedAt: number | null;
  aborted: boolean;
}

/**
 * Token counts to report instead of the estimates. `input` is Anthropic's `input_tokens` (the
 * uncached input only); `cached` is `cache_read_input_tokens` (named as in FakeOpenAI, so the
 * two fakes can share responders); `cacheWrite` is `cache_creation_input_tokens`.
 */
type Usage = { input?: number; output?: number; cached?: number; cacheWrite?: number };
export type FakeReply =
  /** `truncated`: the answer stops at the output limit: the tool input is cut off halfway, stop_reason "max_tokens". */
  | { tool: string; args: unknown; usage?: Usage; truncated?: boolean }
  /** `truncated`: the text is cut off halfway, stop_reason "max_tokens". */
  | { text: string; usage?: Usage; truncated?: boolean }
  /** Several tool_use blocks in one answer (an optional text block before them), as a model calling tools in parallel. */
  | { calls: { tool: string; args: unknown }[]; text?: string; usage?: Usage }
  | { status: number; error?: { message: string; type?: string }; retryAfterSeconds?: number };
export type Responder = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

const defaultResponder: Responder = (req) => {
  if (req.toolName) throw new Error(`FakeAnthropic: a responder is needed for tool ${req.toolName}`);
  return { text: 'ok' };
};

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => {
      if (typeof block === 'string') return block;
      if (block?.type === 'text') return String(block.text ?? '');
      if (block?.type === 'tool_result') return textOf(block.content);
      return '';
    })
    .join('');
};

/** Anthropic's error type for an HTTP status (https://docs.anthropic.com/en/api/errors). */
function errorTypeFor(status: number): string {
  if (status === 400) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * What a lenient partial-JSON parse of the first `budget` characters of JSON.stringify(value)
 * yields, which is what Anthropic hands back for a tool call cut off at max_tokens: whole members
 * while they fit, the member under way cut short (a string to its prefix), nothing after it.
 */
function truncateValue(value: unknown, budget: number): { value: unknown; complete: boolean; used: number } {
  const full = JSON.stringify(value) ?? 'null';
  if (full.length <= budget) return { value, complete: true, used: full.length };
  if (budget <= 1) return { value: undefined, complete: false, used: 0 };
  if (typeof value === 'string') return { value: value.slice(0, budget - 1), complete: false, used: budget };
  if (value === null || typeof value !== 'object') return { value: undefined, complete: false, used: 0 }; // a number or boolean cut short is no value yet
  const entries: [string | null, unknown][] = Array.isArray(value)
    ? value.map((item) => [null, item])
    : Object.entries(value);
  const out: unknown[] | Record<string, unknown> = Array.isArray(value) ? [] : {};
  let used = 1; // the opening bracket
  for (const [key, item] of entries) {
    const head = key === null ? 0 : JSON.stringify(key).length + 1;
    const part = truncateValue(item, budget - used - head);
    if (part.value === undefined) break;
    if (Array.isArray(out)) out.push(part.value);
    else out[key!] = part.value;
    if (!part.complete) break;
    used += head + part.used + 1; // the member and its comma
  }
  return { value: out, complete: false, used: budget };
}

type Block = AnthropicContentBlock & { id?: string; name?: string; tool_use_id?: string; is_error?: boolean };

/** The messages as the API reads them: consecutive messages of one role merged, content as blocks. */
function turnsOf(messages: MessagesRequest['messages']): { role: string; blocks: Block[] }[] {
  const turns: { role: string; blocks: Block[] }[] = [];
  for (const m of messages) {
    const blocks: Block[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    const last = turns[turns.length - 1];
    if (last?.role === m.role) last.blocks.push(...blocks);
    else turns.push({ role: m.role, blocks: [...blocks] });
  }
  return turns;
}

/** Anthropic's own wording for tool blocks that do not pair up (or have no tools to refer to), else null. */
function toolUseProblem(body: MessagesRequest): string | null {
  const turns = turnsOf(body.messages);
  const usesTools = turns.some((t) => t.blocks.some((b) => b.type === 'tool_use' || b.type === 'tool_result'));
  if (usesTools && !body.tools?.length)
    return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
  for (const [i, turn] of turns.entries()) {
    const previous = turns[i - 1];
    const called = new Set(
      previous?.role === 'assistant' ? previous.blocks.filter((b) => b.type === 'tool_use').map((b) => b.id) : [],
    );
    const results = turn.blocks.filter((b) => b.type === 'tool_result');
    const stray = results.find((b) => !called.has(b.tool_use_id));
    if (stray)
      return `messages.${i}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
    if (turn.role !== 'assistant') continue;
    const next = turns[i + 1];
    const answered = new Set(next?.blocks.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id));
    const open = turn.blocks.filter((b) => b.type === 'tool_use' && !answered.has(b.id)).map((b) => b.id);
    // The last assistant message may be a prefill; only one followed by a user turn must be answered.
    if (open.length && next)
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${open.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
  }
  return null;
}

function toolResultsOf(messages: MessagesRequest['messages']): RecordedRequest['toolResults'] {
  const names = new Map<string, string>();
  const results: RecordedRequest['toolResults'] = [];
  for (const turn of turnsOf(messages))
    for (const block of turn.blocks) {
      if (block.type === 'tool_use' && block.id) names.set(block.id, String(block.name ?? ''));
      if (block.type === 'tool_result')
        results.push({
          id: String(block.tool_use_id ?? ''),
          name: names.get(String(block.tool_use_id ?? '')) ?? null,
          content: textOf(block.content),
          isError: block.is_error === true,
        });
    }
  return results;
}

export class FakeAnthropic extends FakeLlmServer<RecordedRequest, FakeReply> {
  private counter = 0;

  constructor(responder?: Responder) {
    super(responder ?? defaultResponder);
  }

  /** The base URL for ChatAnthropic's `anthropicApiUrl` (ANTHROPIC_BASE_URL): no /v1, the SDK adds it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return sendError(res, 404, {
        type: 'not_found_error',
        message: `FakeAnthropic: no route for ${req.method} ${path} (only POST /v1/messages; the base URL must not end in /v1)`,
      });
    }
    let body: MessagesRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest;
      if (!body || typeof body !== 'object') throw new Error('the body must be a JSON object');
      if (typeof body.model !== 'string' || !body.model) throw new Error('model: Field required');
      if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)
        throw new Error('max_tokens: Field required (a positive integer)');
      if (!Array.isArray(body.messages) || body.messages.length === 0)
        throw new Error('messages: at least one message is required');
      const roles = body.messages.map((m) => m?.role);
      if (roles.some((r) => r !== 'user' && r !== 'assistant'))
        throw new Error(
          `messages: roles must be "user" or "assistant" (the system prompt goes in "system"), got ${JSON.stringify(roles)}`,
        );
      const choice = body.tool_choice;
      if (choice?.type === 'tool' && !body.tools?.some((t) => t.name === choice.name))
        throw new Error(`tool_choice: tool "${choice.name}" is not in tools`);
    } catch (error) {
      return sendError(res, 400, {
        type: 'invalid_request_error',
        message: `FakeAnthropic: bad request body: ${(error as Error).message}`,
      });
    }
    const toolUse = toolUseProblem(body);
    if (toolUse) return sendError(res, 400, { type: 'invalid_request_error', message: toolUse });
    if (body.stream) {
      return sendError(res, 400, {
        type: 'invalid_request_error',
        message:
          'FakeAnthropic: stream: true is not implemented (ChatAnthropic did not stream when this fake was written); add SSE answers to the fake',
      });
    }
    const header = req.headers['x-api-key'];
    const record: RecordedRequest = {
      body,
      toolName:
        (body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined) ?? body.tools?.[0]?.name ?? null,
      system: textOf(body.system),
      user: body.messages
        .filter((m) => m.role === 'user')
        .map((m) => textOf(m.content))
        .join('\n'),
      tools: (body.tools ?? []).map((t) => t.name),
      toolChoice: body.tool_choice
        ? body.tool_choice.type === 'tool'
          ? (body.tool_choice.name ?? null)
          : body.tool_choice.type
        : null,
      toolResults: toolResultsOf(body.messages),
      apiKey: typeof header === 'string' ? header : null,
      stopReason: null,
      startedAt: Date.now(),
      endedAt: null,
      aborted: false,
    };
    const reply = await this.answer(record, res, (message) => ({ status: 500, error: { message, type: 'api_error' } }));
    if (!reply) return;

    if ('status' in reply) {
      return sendError(
        res,
        reply.status,
        {
          type: reply.error?.type ?? errorTypeFor(reply.status),
          message: reply.error?.message ?? `HTTP ${reply.status}`,
        },
        reply.retryAfterSeconds,
      );
    }

    const n = ++this.counter;
    const truncated = 'truncated' in reply && reply.truncated === true;
    let content: AnthropicContentBlock[];
    let answerChars: number;
    if ('calls' in reply) {
      content = [
        ...(reply.text ? [{ type: 'text', text: reply.text }] : []),
        ...reply.calls.map((call, i) => ({
          type: 'tool_use',
          id: `toolu_${String(n).padStart(6, '0')}_${i}`,
          name: call.tool,
          input: call.args ?? {},
        })),
      ];
      answerChars =
        (reply.text ?? '').length + reply.calls.reduce((sum, c) => sum + JSON.stringify(c.args ?? {}).length, 0);
    } else if ('text' in reply) {
      const text = truncated ? reply.text.slice(0, Math.floor(reply.text.length / 2)) : reply.text;
      content = [{ type: 'text', text }];
      answerChars = text.length;
    } else {
      const full = JSON.stringify(reply.args ?? {});
      const budget = truncated ? Math.floor(full.length / 2) : full.length;
      const partial = truncated ? truncateValue(reply.args ?? {}, budget).value : reply.args;
      const input = partial && typeof partial === 'object' ? partial : {};
      content = [{ type: 'tool_use', id: `toolu_${String(n).padStart(6, '0')}`, name: reply.tool, input }];
      answerChars = budget;
    }
    const stopReason = truncated
      ? 'max_tokens'
      : 'calls' in reply
        ? 'tool_use'
        : 'text' in reply
          ? 'end_turn'
          : 'tool_use';
    record.stopReason = stopReason;
    const promptChars =
      textOf(body.system).length + body.messages.reduce((sum, m) => sum + textOf(m.content).length, 0);
    const usage = {
      input_tokens: reply.usage?.input ?? Math.max(1, Math.ceil(promptChars / 4)),
      // A cut-off answer used every output token it was allowed.
      output_tokens: reply.usage?.output ?? (truncated ? body.max_tokens : Math.max(1, Math.ceil(answerChars / 4))),
      cache_creation_input_tokens: reply.usage?.cacheWrite ?? 0,
      cache_read_input_tokens: reply.usage?.cached ?? 0,
    };

    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_fake_${n}` });
    res.end(
      JSON.stringify({
        id: `msg_fake_${n}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      }),
    );
  }
}

/** An error answer shaped like Anthropic's: {type: 'error', error: {type, message}}, plus retry-after when given. */
function sendError(
  res: ServerResponse,
  status: number,
  error: { type: string; message: string },
  retryAfterSeconds?: number,
): void {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'request-id': `req_fake_error_${Date.now()}`,
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(JSON.stringify({ type: 'error', error: { type: error.type, message: error.message } }));
}
