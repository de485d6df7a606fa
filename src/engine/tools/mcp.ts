/**
 * The MCP servers of ORCHESTRATE_MCP_SERVERS, started once at app start through @langchain/mcp-adapters
 * (one client per server, so one server down costs only its own tools) and shared by every run. Their
 * tools are named `server__tool`; a call that fails answers the model with a sentence, and a server
 * that crashed is started again on a later call.
 */
import { tool as defineTool, type StructuredToolInterface } from '@langchain/core/tools';
import { MultiServerMCPClient } from '@langchain/mcp-adapters';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type Logger, redact } from '../../logger.js';
import type { McpServerSetting } from '../../toolSettings.js';

export interface McpOptions {
  /** A server that has not listed its tools by then is reported down. */
  connectTimeoutMs?: number;
  /** One tool call's limit. */
  callTimeoutMs?: number;
  /** After a server failed, calls answer "down" for this long before one tries to start it again. */
  retryAfterMs?: number;
}

export interface McpServerReport {
  name: string;
  up: boolean;
  /** Prefixed names of the tools it offered at start. */
  tools: string[];
  /** Why it is down, with no header or environment value in it. */
  reason: string | null;
}

interface McpToolEntry {
  server: string;
  /** The tool's own name on its server. */
  original: string;
  description: string;
  schema: StructuredToolInterface['schema'];
}

interface ServerState {
  name: string;
  setting: McpServerSetting;
  secrets: string[];
  client: MultiServerMCPClient | null;
  tools: Map<string, StructuredToolInterface>;
  /** Why calls cannot reach it now, or null while it answers. */
  down: string | null;
  downSince: number;
  reconnecting: Promise<void> | null;
}

const NAME_UNSAFE = /[^a-zA-Z0-9_-]/g;

/** A model-safe tool name (letters, digits, _ and -, at most 64), prefixed so it never clashes with built-ins. */
export function mcpToolName(server: string, tool: string): string {
  return `${server}__${tool}`.replace(NAME_UNSAFE, '_').slice(0, 64);
}

function secretsOf(setting: McpServerSetting): string[] {
  const values =
    'url' in setting
      ? [setting.url, new URL(setting.url).href, ...Object.values(setting.headers)]
      : Object.values(setting.env);
  return values.filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
}

function connectionOf(setting: McpServerSetting) {
  if ('url' in setting) {
    return { transport: 'http' as const, url: setting.url, headers: setting.headers, automaticSSEFallback: false };
  }
  // Only a minimal environment plus the configured one: the app's own secrets must not reach the child.
  const env = { ...getDefaultEnvironment(), ...setting.env };
  return { transport: 'stdio' as const, command: setting.command, args: setting.args, env, stderr: 'inherit' as const };
}

/** Why a server or a call failed, without the adapters' prefixes, the server's URL or any secret. */
function reasonOf(error: unknown, state: Pick<ServerState, 'setting' | 'secrets'>): string {
  let text = error instanceof Error ? error.message : String(error);
  text = text
    .replace(/^Failed to (?:connect to|create SSE transport for) [^"]*"[^"]*":\s*/, '')
    .replace(/^Error calling tool \S+:\s*/, '')
    .replace(/^(?:Type|Mcp)?Error:\s*/, '');
  if (/Connection closed|Not connected/.test(text)) text = `its process exited or closed the connection (${text})`;
  else if (/fetch failed|ECONNREFUSED/.test(text) && 'url' in state.setting) {
    text = `cannot reach ${new URL(state.setting.url).host} (${text})`;
  } else if (/ENOENT/.test(text) && 'command' in state.setting) {
    text = `cannot start the command ${state.setting.command} (not found)`;
  }
  return redact(text, state.secrets).replace(/\s+/g, ' ').trim().slice(0, 300);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The text of an MCP tool's content: text blocks joined, anything else named rather than dumped. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content || '(the tool returned nothing)';
  if (!Array.isArray(content)) return JSON.stringify(content ?? null);
  const parts = content.map((block: { type?: string; text?: string }) =>
    block?.type === 'text' && typeof block.text === 'string'
      ? block.text
      : `[${block?.type ?? 'unknown'} content left out]`,
  );
  return parts.join('\n') || '(the tool returned nothing)';
}

export class McpTools {
  private readonly entries = new Map<string, McpToolEntry>();

  private constructor(
    private readonly servers: Map<string, ServerState>,
    private readonly logger: Logger,
    private readonly options: Required<McpOptions>,
  ) {
    for (const state of servers.values()) {
      for (const [original, inner] of state.tools) {
        const name = mcpToolName(state.name, original);
        if (this.entries.has(name)) continue;
        this.entries.set(name, { server: state.name, original, description: inner.description, schema: inner.schema });
      }
    }
  }

  /** Starts every configured server at once; the ones that fail are logged (name and reason) and left out. */
  static async start(
    settings: Record<string, McpServerSetting>,
    logger: Logger,
    options: McpOptions = {},
  ): Promise<McpTools> {
    const resolved = { connectTimeoutMs: 10_000, callTimeoutMs: 60_000, retryAfterMs: 30_000, ...options };
    const states = await Promise.all(
      Object.entries(settings).map(async ([name, setting]): Promise<ServerState> => {
        const state: ServerState = {
          name,
          setting,
          secrets: secretsOf(setting),
          client: null,
          tools: new Map(),
          down: null,
          downSince: 0,
          reconnecting: null,
        };
        try {
          await McpTools.connect(state, resolved.connectTimeoutMs);
          const names = [...state.tools.keys()].map((tool) => mcpToolName(name, tool));
          logger.info(`MCP server "${name}" is up with ${names.length} tools: ${names.join(', ') || 'none'}`);
        } catch (error) {
          state.down = reasonOf(error, state);
          logger.warn(`MCP server "${name}" is down at start, its tools are left out: ${state.down}`);
        }
        return state;
      }),
    );
    return new McpTools(new Map(states.map((s) => [s.name, s])), logger, resolved);
  }

  private static async connect(state: ServerState, timeoutMs: number): Promise<void> {
    const client = new MultiServerMCPClient({
      mcpServers: { [state.name]: connectionOf(state.setting) },
      onConnectionError: 'throw',
      throwOnLoadError: false,
    });
    try {
      const tools = await withTimeout(client.getTools(), timeoutMs, 'it did not list its tools');
      state.client = client;
      state.tools = new Map(tools.map((t) => [t.name, t]));
      state.down = null;
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
  }

  /** The tools of the servers that were up at start: prefixed name and one line each. */
  available(): Array<{ name: string; summary: string }> {
    return [...this.entries].map(([name, entry]) => {
      const first = entry.description.split('\n')[0]!.trim() || `the ${entry.original} tool`;
      return {
        name,
        summary: `${first.length > 160 ? `${first.slice(0, 159)}…` : first} (MCP server ${entry.server})`,
      };
    });
  }

  report(): McpServerReport[] {
    return [...this.servers.values()].map((s) => ({
      name: s.name,
      up: s.down === null,
      tools: [...this.entries].filter(([, e]) => e.server === s.name).map(([name]) => name),
      reason: s.down,
    }));
  }

  /** The tool named `name` for one step; `runSignal` (the run's cancel) ends its calls as well. */
  toolFor(name: string, runSignal?: AbortSignal): StructuredToolInterface | null {
    const entry = this.entries.get(name);
    if (!entry) return null;
    return defineTool(
      async (args: Record<string, unknown>, config) => {
        const callers = [runSignal, config.signal].filter((s): s is AbortSignal => Boolean(s));
        for (const caller of callers) caller.throwIfAborted();
        return this.call(name, entry, args, callers);
      },
      { name, description: entry.description || entry.original, schema: entry.schema as Record<string, unknown> },
    );
  }

  private async call(
    name: string,
    entry: McpToolEntry,
    args: Record<string, unknown>,
    callers: AbortSignal[],
  ): Promise<string> {
    const state = this.servers.get(entry.server)!;
    const failed = (why: string) => `${name} failed (MCP server "${entry.server}"): ${why}`;
    if (state.down !== null) {
      if (Date.now() - state.downSince < this.options.retryAfterMs)
        return failed(`the server is down (${state.down}).`);
      await this.restart(state);
      if (state.down !== null) return failed(`the server is down (${state.down}).`);
    }
    const inner = state.tools.get(entry.original);
    if (!inner) return failed('the server no longer offers this tool.');
    const timeout = AbortSignal.timeout(this.options.callTimeoutMs);
    try {
      const content = await inner.invoke(args, { signal: AbortSignal.any([...callers, timeout]) });
      return contentText(content);
    } catch (error) {
      const aborted = callers.find((s) => s.aborted);
      if (aborted) throw aborted.reason;
      if (timeout.aborted) return failed(`no answer within ${this.options.callTimeoutMs} ms.`);
      const message = error instanceof Error ? error.message : String(error);
      if (/returned an error:/.test(message))
        return failed(redact(message.replace(/^.*?returned an error:\s*/s, ''), state.secrets));
      // The server answered, with a protocol error (unknown tool, bad arguments): it is up, the call was wrong.
      const code = /MCP error (-?\d+)/.exec(message)?.[1];
      if (code && code !== '-32000' && code !== '-32001') return failed(`${reasonOf(error, state)}.`);
      state.down = reasonOf(error, state);
      state.downSince = Date.now();
      this.logger.warn(`MCP server "${state.name}" failed during a call: ${state.down}`);
      return failed(`${state.down}.`);
    }
  }

  /** One attempt at starting a server again; concurrent callers share it. */
  private restart(state: ServerState): Promise<void> {
    state.reconnecting ??= (async () => {
      const old = state.client;
      state.client = null;
      await old?.close().catch(() => {});
      try {
        await McpTools.connect(state, this.options.connectTimeoutMs);
        this.logger.info(`MCP server "${state.name}" is up again`);
      } catch (error) {
        state.down = reasonOf(error, state);
        state.downSince = Date.now();
      }
    })().finally(() => {
      state.reconnecting = null;
    });
    return state.reconnecting;
  }

  /** Stops every server (stdio processes end) at shutdown. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.servers.values()].map(async (state) => {
        const client = state.client;
        state.client = null;
        state.down = 'the app is shutting down';
        state.downSince = Number.POSITIVE_INFINITY;
        await client?.close().catch(() => {});
      }),
    );
  }
}
