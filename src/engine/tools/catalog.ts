/**
 * The tools agents may be given: built once at start from ToolSettings (web_search and web_fetch when
 * configured, the MCP servers' tools that came up), listed one line each for the CEO agent's prompt and
 * the plan's validation, and handed to a step as langchain tools bound to its run (ledger, page cache,
 * cancel).
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { Logger } from '../../logger.js';
import type { ToolSettings } from '../../toolSettings.js';
import type { Resolver } from './addressPolicy.js';
import type { McpOptions, McpTools } from './mcp.js';
import type { SourceLedger } from './sources.js';
import type { FetchPolicy } from './webFetch.js';
import { FetchCache, WEB_FETCH, WEB_FETCH_SUMMARY, webFetchTool } from './webFetchTool.js';
import { searchSummary, WEB_SEARCH, webSearchTool } from './webSearch.js';

export interface ToolSummary {
  name: string;
  /** One line: what the tool does, for a prompt and for people reading the plan. */
  summary: string;
}

/** What a step's tools are bound to: its run's ledger and page cache, and the run's cancel. */
export interface StepRun {
  orchestrationId: string;
  ledger: SourceLedger;
  signal?: AbortSignal;
}

export interface CatalogOptions {
  /** The MCP servers started at app start; null or absent when none are configured. */
  mcp?: McpTools | null;
  /** Stands in for DNS in tests. */
  resolve?: Resolver;
  searchTimeoutMs?: number;
  /** Bounds of the page cache: runs kept, pages kept per run. */
  cache?: { maxRuns?: number; maxPagesPerRun?: number };
}

/**
 * Whether a tool's answer says it failed. The tools answer a failure with a sentence the model can act
 * on ("web_fetch failed: …") rather than a throw, so this is how a step's record tells it from a result.
 */
export function isToolFailure(toolName: string, result: string): boolean {
  return result.startsWith(`${toolName} failed`);
}

/** Room kept in a tool result for the lines web_fetch puts above the page, so its own cut marker survives. */
const FETCH_HEADER_ROOM = 400;

export class ToolCatalog {
  private readonly summaries: ToolSummary[];
  private readonly fetchCache: FetchCache;
  private readonly fetchPolicy: FetchPolicy | null;

  constructor(
    private readonly settings: ToolSettings,
    private readonly options: CatalogOptions = {},
  ) {
    this.fetchCache = new FetchCache(options.cache?.maxRuns, options.cache?.maxPagesPerRun);
    this.fetchPolicy = settings.fetch
      ? {
          maxBytes: settings.fetch.maxBytes,
          timeoutMs: settings.fetch.timeoutMs,
          maxRedirects: 5,
          allowHosts: settings.fetch.allowHosts,
          maxMarkdownChars: Math.max(1000, settings.resultMaxChars - FETCH_HEADER_ROOM),
        }
      : null;
    const builtIn: ToolSummary[] = [];
    if (settings.search) builtIn.push({ name: WEB_SEARCH, summary: searchSummary(settings.search) });
    if (this.fetchPolicy) builtIn.push({ name: WEB_FETCH, summary: WEB_FETCH_SUMMARY });
    const builtInNames = new Set(builtIn.map((t) => t.name));
    const fromMcp = (options.mcp?.available() ?? []).filter((t) => !builtInNames.has(t.name));
    this.summaries = [...builtIn, ...fromMcp];
  }

  /** Starts the configured MCP servers (one down is logged and left out), then builds the catalog. */
  static async start(
    settings: ToolSettings,
    logger: Logger,
    options: Omit<CatalogOptions, 'mcp'> & { mcp?: McpOptions } = {},
  ): Promise<ToolCatalog> {
    const hasMcp = Object.keys(settings.mcpServers).length > 0;
    // The MCP client (and the LangGraph it needs) is loaded only where servers are configured: tens of MB otherwise idle.
    const mcp = hasMcp
      ? await (await import('./mcp.js')).McpTools.start(settings.mcpServers, logger, options.mcp)
      : null;
    return new ToolCatalog(settings, { ...options, mcp });
  }

  /** Every tool that exists, one line each, built-ins first. */
  available(): ToolSummary[] {
    return this.summaries.map((t) => ({ ...t }));
  }

  has(name: string): boolean {
    return this.summaries.some((t) => t.name === name);
  }

  /** The named tools that exist, in the order named, bound to `run`; unknown names are skipped. */
  forStep(run: StepRun, names: readonly string[]): StructuredToolInterface[] {
    const tools: StructuredToolInterface[] = [];
    for (const name of new Set(names)) {
      if (!this.has(name)) continue;
      const made = this.make(name, run);
      if (made) tools.push(made);
    }
    return tools;
  }

  private make(name: string, run: StepRun): StructuredToolInterface | null {
    const { settings, fetchPolicy } = this;
    if (name === WEB_SEARCH && settings.search) {
      return webSearchTool({
        settings: settings.search,
        ledger: run.ledger,
        signal: run.signal,
        timeoutMs: this.options.searchTimeoutMs,
      });
    }
    if (name === WEB_FETCH && fetchPolicy) {
      return webFetchTool({
        policy: fetchPolicy,
        cache: this.fetchCache.forRun(run.orchestrationId),
        ledger: run.ledger,
        signal: run.signal,
        resolve: this.options.resolve,
      });
    }
    return this.options.mcp?.toolFor(name, run.signal) ?? null;
  }

  /** Forgets a finished run's pages. */
  endRun(orchestrationId: string): void {
    this.fetchCache.endRun(orchestrationId);
  }

  /** Stops the MCP servers at shutdown. */
  async close(): Promise<void> {
    await this.options.mcp?.close();
  }
}
