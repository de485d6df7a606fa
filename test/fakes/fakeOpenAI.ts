/**
 * A fake OpenAI-compatible chat-completions server on 127.0.0.1. A responder script decides each
 * answer (a tool call, several tool calls with or without text, text, or an HTTP error); the
 * server records what was asked (the tools offered, the tool choice, the tool results sent back),
 * when each request started and ended, and whether the client hung up (an aborted call).
 *
 * Like OpenAI, it refuses a transcript whose tool calls and tool results do not pair up: every
 * assistant tool call must be answered by a `tool` message before the next other message, and a
 * `tool` message must answer a call of the assistant message before it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeLlmServer } from './fakeLlmServer.js';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: any }[];
  tools?: any[];
  tool_choice?: any;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  [k: string]: unknown;
}

/** A tool result the client sent back: the id of the call it answers, that call's tool, and the text. */
export interface ToolResult {
  id: string;
  name: string | null;
  content: string;
}

export interface RecordedRequest {
  body: ChatRequest;
  /** The tool forced by tool_choice, else the first tool offered, else null. */
  toolName: string | null;
  /** The names of the tools offered. */
  tools: string[];
  /** tool_choice as a word ("none", "auto", "required"), or the name of the tool it forces; null when unset. */
  toolChoice: string | null;
  /** Every tool result in the transcript, in order. */
  toolResults: ToolResult[];
  system: string;
  user: string;
  startedAt: number;
  endedAt: number | null;
  aborted: boolean;
}

type Usage = { input: number; output: number; cached?: number };
export type FakeReply =
  /** `truncated`: the answer stops at the output limit, as a model's does: half its arguments, finish_reason "length". */
  | { tool: string; args: unknown; usage?: Usage; truncated?: boolean }
  | { text: string; usage?: Usage; truncated?: boolean }
  /** Several tool calls in one answer (an optional text before them), as a model calling tools in parallel. */
  | { calls: { tool: string; args: unknown }[]; text?: string; usage?: Usage }
  | { status: number; error?: { message: string; type?: string; code?: string }; retryAfterSeconds?: number };
export type Responder = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

const defaultResponder: Responder = (req) => {
  if (req.toolName) throw new Error(`FakeOpenAI: a responder is needed for tool ${req.toolName}`);
  return { text: 'ok' };
};

const textOf = (content: any): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((p) => (typeof p === 'string' ? p : (p?.text ?? ''))).join('')
      : '';

/** OpenAI's own wording for a transcript whose tool calls and results do not pair up, else null. */
function toolPairingProblem(messages: ChatRequest['messages']): string | null {
  let open: string[] = [];
  let answerable = new Set<string>();
  for (const m of messages as { role: string; tool_calls?: { id: string }[]; tool_call_id?: string }[]) {
    if (m.role === 'tool') {
      if (!m.tool_call_id || !answerable.has(m.tool_call_id))
        return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
      open = open.filter((id) => id !== m.tool_call_id);
      continue;
    }
    if (open.length)
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(', ')}`;
    open = (m.role === 'assistant' ? (m.tool_calls ?? []) : []).map((c) => c.id);
    answerable = new Set(open);
  }
  return open.length
    ? `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(', ')}`
    : null;
}

function toolResultsOf(messages: ChatRequest['messages']): ToolResult[] {
  const names = new Map<string, string>();
  const results: ToolResult[] = [];
  for (const m of messages as {
    role: string;
    content: unknown;
    tool_calls?: { id: string; function?: { name?: string } }[];
    tool_call_id?: string;
  }[]) {
    for (const call of m.tool_calls ?? []) names.set(call.id, call.function?.name ?? '');
    if (m.role === 'tool')
      results.push({
        id: m.tool_call_id ?? '',
        name: names.get(m.tool_call_id ?? '') ?? null,
        content: textOf(m.content),
      });
  }
  return results;
}

export class FakeOpenAI extends FakeLlmServer<RecordedRequest, FakeReply> {
  /** Pause between the pieces of a streamed answer, as a model writing it takes time. */
  streamPieceDelayMs = 0;

  private counter = 0;

  constructor(responder?: Responder) {
    super(responder ?? defaultResponder);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      return sendError(res, 404, {
        message: `FakeOpenAI: no route for ${req.method} ${path} (only POST /v1/chat/completions)`,
        type: 'invalid_request_error',
      });
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      if (!body || typeof body !== 'object' || !Array.isArray(body.messages))
        throw new Error("'messages' must be an array");
      const forced = body.tool_choice?.function?.name;
      if (forced && !body.tools?.some((t) => t?.function?.name === forced))
        throw new Error(`tool_choice names "${forced}", which is not in tools`);
    } catch (error) {
      return sendError(res, 400, {
        message: `FakeOpenAI: bad request body: ${(error as Error).message}`,
        type: 'invalid_request_error',
      });
    }
    const pairing = toolPairingProblem(body.messages);
    if (pairing) return sendError(res, 400, { message: pairing, type: 'invalid_request_error' });
    const record: RecordedRequest = {
      body,
      toolName: body.tool_choice?.function?.name ?? body.tools?.[0]?.function?.name ?? null,
      tools: (body.tools ?? []).map((t) => String(t?.function?.name ?? '')),
      toolChoice: typeof body.tool_choice === 'string' ? body.tool_choice : (body.tool_choice?.function?.name ?? null),
      toolResults: toolResultsOf(body.messages),
      system: body.messages
        .filter((m) => m.role === 'system' || m.role === 'developer')
        .map((m) => textOf(m.content))
        .join('\n'),
      user: body.messages
        .filter((m) => m.role === 'user')
        .map((m) => textOf(m.content))
        .join('\n'),
      startedAt: Date.now(),
      endedAt: null,
      aborted: false,
    };
    const reply = await this.answer(record, res, (message) => ({
      status: 500,
      error: { message, type: 'server_error' },
    }));
    if (!reply) return;

    if ('status' in reply) {
      return sendError(res, reply.status, reply.error ?? { message: `HTTP ${reply.status}` }, reply.retryAfterSeconds);
    }

    const id = `chatcmpl-${++this.counter}`;
    const promptChars = body.messages.reduce((n, m) => n + textOf(m.content).length, 0);
    const truncated = 'truncated' in reply && reply.truncated === true;
    const multi = 'calls' in reply ? reply : null;
    const calls = multi
      ? multi.calls.map((c, i) => ({
          id: `call_${this.counter}_${i}`,
          type: 'function',
          function: { name: c.tool, arguments: JSON.stringify(c.args ?? {}) },
        }))
      : null;
    const fullText = calls
      ? `${multi?.text ?? ''}${calls.map((c) => c.function.arguments).join('')}`
      : 'text' in reply
        ? (reply.text ?? '')
        : JSON.stringify((reply as { args?: unknown }).args ?? {});
    const answerText = truncated ? fullText.slice(0, Math.floor(fullText.length / 2)) : fullText;
    const usage = {
      prompt_tokens: reply.usage?.input ?? Math.ceil(promptChars / 4),
      completion_tokens: reply.usage?.output ?? Math.ceil(answerText.length / 4),
      prompt_tokens_details: { cached_tokens: reply.usage?.cached ?? 0 },
    };
    const message = calls
      ? { role: 'assistant', content: multi?.text ?? null, refusal: null, tool_calls: calls }
      : 'text' in reply
        ? { role: 'assistant', content: reply.text, refusal: null }
        : {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: `call_${this.counter}`,
                type: 'function',
                function: { name: (reply as { tool: string }).tool, arguments: answerText },
              },
            ],
          };
    const finish = truncated ? 'length' : calls ? 'tool_calls' : 'text' in reply ? 'stop' : 'tool_calls';
    const full = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };

    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: unknown, finish_reason: string | null, extra: object = {}) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model, choices: [{ index: 0, delta, finish_reason }], ...extra })}\n\n`,
        );
      // Written piece by piece, as a model streams: the first delta names the tool, the rest carry text.
      const pieces = answerText.match(/[\s\S]{1,300}/g) ?? [''];
      if (calls) {
        chunk({ role: 'assistant', content: multi?.text ?? null }, null);
        for (const [index, call] of calls.entries()) {
          chunk({ tool_calls: [{ index, ...call, function: { name: call.function.name, arguments: '' } }] }, null);
          for (const piece of call.function.arguments.match(/[\s\S]{1,300}/g) ?? [])
            chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null);
        }
      } else if ('text' in reply) {
        for (const [i, piece] of pieces.entries())
          chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null);
      } else {
        const call = message.tool_calls![0]!;
        chunk(
          {
            role: 'assistant',
            tool_calls: [{ index: 0, ...call, function: { name: call.function.name, arguments: '' } }],
          },
          null,
        );
        for (const piece of pieces) {
          if (this.streamPieceDelayMs) await new Promise((r) => setTimeout(r, this.streamPieceDelayMs));
          chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null);
        }
      }
      chunk({}, finish);
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model, choices: [], usage: full })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage: full,
      }),
    );
  }
}

/** An error answer shaped like OpenAI's: {error: {message, type, code}}, plus Retry-After when given. */
function sendError(
  res: ServerResponse,
  status: number,
  error: { message: string; type?: string; code?: string },
  retryAfterSeconds?: number,
): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  const type =
    error.type ?? (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error');
  res.writeHead(status, headers);
  res.end(JSON.stringify({ error: { message: error.message, type, code: error.code ?? null } }));
}
