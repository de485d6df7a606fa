/**
 * The web_fetch tool: the safe fetch core (webFetch.ts) behind a per-run cache, so that two agents of
 * one run never fetch the same page twice and identical fetches in flight share one request. Pages read
 * go into the run's source ledger; a refusal comes back to the model as the reason, in words.
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import type { Resolver } from './addressPolicy.js';
import type { SourceLedger } from './sources.js';
import { type FetchPolicy, type FetchResult, fetchPage, normalizeUrl } from './webFetch.js';

export const WEB_FETCH = 'web_fetch';
export const WEB_FETCH_SUMMARY = 'Read one public web page (http or https) and get its main text as Markdown.';

/** One fetch, shared by every caller that asked for the same URL while it ran. */
interface SharedFetch {
  result: Promise<FetchResult>;
  settled: boolean;
  waiters: number;
  controller: AbortController;
}

/** The pages of one run: kept while the run lives, the oldest dropped past `maxPages`. */
export class RunPageCache {
  private readonly pages = new Map<string, SharedFetch>();

  constructor(private readonly maxPages: number) {}

  /** The page at `url`, fetched once for the whole run; `signal` ends this caller's wait only. */
  async get(url: string, fetchOnce: (signal: AbortSignal) => Promise<FetchResult>, signal?: AbortSignal) {
    signal?.throwIfAborted();
    const key = normalizeUrl(url);
    let shared = this.pages.get(key);
    if (!shared) {
      shared = this.start(key, fetchOnce);
    } else {
      // Touch it, so that the pages a run keeps using are the last ones dropped.
      this.pages.delete(key);
      this.pages.set(key, shared);
    }
    return this.wait(key, shared, signal);
  }

  get size(): number {
    return this.pages.size;
  }

  private start(key: string, fetchOnce: (signal: AbortSignal) => Promise<FetchResult>): SharedFetch {
    const controller = new AbortController();
    const shared: SharedFetch = { result: fetchOnce(controller.signal), settled: false, waiters: 0, controller };
    this.pages.set(key, shared);
    while (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value!);
    shared.result.then((result) => {
      shared.settled = true;
      // A timeout or a server error may pass; only pages and fixed refusals are worth keeping.
      const lasting = result.ok || result.reason.startsWith('refused');
      if (!lasting && this.pages.get(key) === shared) this.pages.delete(key);
    });
    return shared;
  }

  private wait(key: string, shared: SharedFetch, signal?: AbortSignal): Promise<FetchResult> {
    if (shared.settled) return shared.result;
    shared.waiters += 1;
    let left = false;
    const leave = () => {
      if (!left) shared.waiters -= 1;
      left = true;
    };
    if (!signal) return shared.result.finally(leave);
    return new Promise<FetchResult>((resolve, reject) => {
      const onAbort = () => {
        leave();
        if (shared.waiters === 0 && !shared.settled) {
          // Nobody waits for it any more: stop the request, and let a later call start afresh.
          shared.controller.abort(signal.reason);
          if (this.pages.get(key) === shared) this.pages.delete(key);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.result.then((result) => {
        signal.removeEventListener('abort', onAbort);
        leave();
        resolve(result);
      });
    });
  }
}

/** Every run's page cache, keyed by orchestration, the least recently used run dropped past `maxRuns`. */
export class FetchCache {
  private readonly runs = new Map<string, RunPageCache>();

  constructor(
    private readonly maxRuns = 32,
    private readonly maxPagesPerRun = 64,
  ) {}

  forRun(orchestrationId: string): RunPageCache {
    let cache = this.runs.get(orchestrationId);
    if (cache) this.runs.delete(orchestrationId);
    else cache = new RunPageCache(this.maxPagesPerRun);
    this.runs.set(orchestrationId, cache);
    while (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value!);
    return cache;
  }

  endRun(orchestrationId: string): void {
    this.runs.delete(orchestrationId);
  }

  has(orchestrationId: string): boolean {
    return this.runs.has(orchestrationId);
  }
}

export interface WebFetchOptions {
  policy: FetchPolicy;
  cache: RunPageCache;
  ledger: SourceLedger;
  /** The run's signal: cancelling the run ends a fetch in flight. */
  signal?: AbortSignal;
  /** Stands in for DNS in tests. */
  resolve?: Resolver;
}

/** What the model reads for a fetch: the page with where it came from, or why there is none. */
export function describeFetch(result: FetchResult): string {
  if (!result.ok) {
    const hint = result.reason.startsWith('refused') ? ' Do not retry this URL.' : '';
    return `web_fetch failed: could not read ${result.url}: ${result.reason}.${hint}`;
  }
  const lines = [`# ${result.title ?? result.finalUrl}`, `URL: ${result.finalUrl}`];
  if (result.finalUrl !== result.url) lines.push(`(redirected from ${result.url})`);
  if (result.truncated) lines.push('(the page was cut at the size limit; only its start is below)');
  return `${lines.join('\n')}\n\n${result.markdown}`;
}

const schema = z.object({
  url: z.string().trim().min(1).describe('The full http(s) URL of the page to read'),
});

export function webFetchTool(options: WebFetchOptions): StructuredToolInterface {
  const { policy, cache, ledger, resolve } = options;
  return tool(
    async ({ url }, config) => {
      const callers = [options.signal, config.signal].filter((s): s is AbortSignal => Boolean(s));
      const signal = callers.length > 0 ? AbortSignal.any(callers) : undefined;
      const result = await cache.get(url, (shared) => fetchPage(url, policy, shared, resolve), signal);
      if (result.ok) {
        ledger.record(result.url, 'fetched', result.title);
        ledger.record(result.finalUrl, 'fetched', result.title);
      }
      // The cached result names the URL first asked for; this caller may have written it differently.
      return describeFetch(result.ok ? result : { ...result, url });
    },
    { name: WEB_FETCH, description: WEB_FETCH_SUMMARY, schema },
  );
}
