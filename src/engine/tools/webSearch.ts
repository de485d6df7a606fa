/**
 * The web_search tool: one query to the configured provider (Tavily through @langchain/tavily, or a
 * self-hosted SearXNG over its JSON API), answered to the model as a short numbered list, every result
 * URL recorded in the run's source ledger. Provider failures come back as a sentence, never a throw.
 * @langchain/tavily is loaded at the first Tavily search, not at start.
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import type { ToolSettings } from '../../toolSettings.js';
import type { SourceLedger } from './sources.js';

export type SearchSettings = NonNullable<ToolSettings['search']>;

export interface SearchHit {
  title: string;
  url: string;
  snippet: string;
}

export interface WebSearchOptions {
  settings: SearchSettings;
  ledger: SourceLedger;
  /** The run's signal: cancelling the run ends a search in flight. */
  signal?: AbortSignal;
  timeoutMs?: number;
  maxResults?: number;
}

export const WEB_SEARCH = 'web_search';
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RESULTS = 5;
const SNIPPET_CHARS = 300;

/** Why a search produced no list, in words the model can act on. */
class SearchFailure extends Error {}

const schema = z.object({
  query: z.string().trim().min(1).max(400).describe('What to search the web for, as you would type it'),
  max_results: z.number().int().min(1).max(10).optional().describe('How many results to list (default 5)'),
});

export function searchSummary(settings: SearchSettings): string {
  const provider = settings.provider === 'tavily' ? 'Tavily' : 'SearXNG';
  return `Search the web (${provider}): a numbered list of titles, URLs and snippets for a query.`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function hitsFrom(results: unknown, pick: (r: Record<string, unknown>) => string | undefined): SearchHit[] {
  if (!Array.isArray(results)) return [];
  return results.flatMap((r: Record<string, unknown>) => {
    if (!r || typeof r.url !== 'string' || !/^https?:\/\//i.test(r.url)) return [];
    const title = typeof r.title === 'string' && r.title.trim() ? r.title : r.url;
    return [{ title: oneLine(title, 200), url: r.url, snippet: oneLine(pick(r) ?? '', SNIPPET_CHARS) }];
  });
}

/** Resolves with `work`, or rejects as soon as `signal` aborts (the work itself may carry on unseen). */
function until<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function searchTavily(
  settings: Extract<SearchSettings, { provider: 'tavily' }>,
  query: string,
  maxResults: number,
  signal: AbortSignal,
): Promise<SearchHit[]> {
  const { TavilySearch } = await import('@langchain/tavily');
  // The package's request takes no AbortSignal: the race below ends our wait, not its socket.
  const tavily = new TavilySearch({
    tavilyApiKey: settings.apiKey,
    maxResults,
    ...(settings.url ? { apiBaseUrl: settings.url.replace(/\/+$/, '') } : {}),
  });
  const raw: unknown = await until(tavily.invoke({ query }), signal);
  if (raw && typeof raw === 'object' && 'error' in raw) {
    const message = String(raw.error);
    if (/^No search results found/.test(message)) return [];
    const http = /^Error (\d{3}): (.*)$/s.exec(message);
    if (http) throw new SearchFailure(`Tavily answered HTTP ${http[1]} (${oneLine(http[2]!, 200)})`);
    if (/fetch failed|ECONN|ENOTFOUND/.test(message))
      throw new SearchFailure(`Tavily could not be reached: ${message}`);
    throw new SearchFailure(`Tavily gave no usable answer (${oneLine(message, 200)})`);
  }
  const results = raw && typeof raw === 'object' && 'results' in raw ? raw.results : [];
  return hitsFrom(results, (r) => (typeof r.content === 'string' ? r.content : undefined));
}

async function searchSearxng(base: string, query: string, maxResults: number, signal: AbortSignal) {
  const url = new URL('search', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('q', query);
  url.searchParams.set('format', 'json');
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' } });
  } catch (error) {
    if (signal.aborted) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message;
    throw new SearchFailure(`SearXNG could not be reached${why ? ` (${why})` : ''}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const hint = response.status === 403 ? ': is "json" listed in search.formats of its settings.yml?' : '';
    throw new SearchFailure(`SearXNG answered HTTP ${response.status} ${response.statusText}${hint}`.trim());
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    if (signal.aborted) throw error;
    throw new SearchFailure('SearXNG answered something that is not JSON');
  }
  const results = body && typeof body === 'object' && 'results' in body ? body.results : [];
  return hitsFrom(results, (r) => (typeof r.content === 'string' ? r.content : undefined)).slice(0, maxResults);
}

/** The list the model reads: numbered, one title, URL and snippet each. */
export function formatHits(query: string, hits: readonly SearchHit[]): string {
  if (hits.length === 0) return `No results for "${query}". Try other words, or a broader query.`;
  const lines = hits.map((hit, i) => {
    const snippet = hit.snippet ? `\n   ${hit.snippet}` : '';
    return `${i + 1}. ${hit.title}\n   ${hit.url}${snippet}`;
  });
  return `Results for "${query}":\n${lines.join('\n')}`;
}

export function webSearchTool(options: WebSearchOptions): StructuredToolInterface {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { settings, ledger } = options;
  return tool(
    async ({ query, max_results }, config) => {
      const callers = [options.signal, config.signal].filter((s): s is AbortSignal => Boolean(s));
      for (const caller of callers) caller.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([...callers, timeout]);
      const wanted = max_results ?? options.maxResults ?? DEFAULT_MAX_RESULTS;
      try {
        const hits =
          settings.provider === 'tavily'
            ? await searchTavily(settings, query, wanted, signal)
            : await searchSearxng(settings.url, query, wanted, signal);
        for (const hit of hits) ledger.record(hit.url, 'search', hit.title);
        return formatHits(query, hits);
      } catch (error) {
        const aborted = callers.find((s) => s.aborted);
        if (aborted) throw aborted.reason;
        if (timeout.aborted) return `web_search failed: the search service did not answer within ${timeoutMs} ms.`;
        if (error instanceof SearchFailure) return `web_search failed: ${error.message}.`;
        return `web_search failed: ${oneLine(error instanceof Error ? error.message : String(error), 200)}.`;
      }
    },
    { name: WEB_SEARCH, description: searchSummary(settings), schema },
  );
}
