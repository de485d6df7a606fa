/**
 * web_search against a fake search API on 127.0.0.1, as Tavily (through @langchain/tavily, its base URL
 * pointed at the fake) and as SearXNG: what the model reads, what the ledger records, and a sentence
 * rather than a crash when the provider fails.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RunSourceLedger } from '../../../src/engine/tools/sources.js';
import { type SearchSettings, webSearchTool } from '../../../src/engine/tools/webSearch.js';
import { FakeSearch, TIDE_RESULTS } from '../../fakes/fakeSearch.js';

const search = new FakeSearch();
beforeAll(() => search.start());
afterAll(() => search.stop());
afterEach(() => {
  search.requests.length = 0;
  search.reply = () => ({ results: TIDE_RESULTS });
  vi.restoreAllMocks();
});

/** A port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const KEY = 'tvly-test-key-123';
const tavily = (): SearchSettings => ({ provider: 'tavily', apiKey: KEY, url: search.base('/tavily') });
const searxng = (): SearchSettings => ({ provider: 'searxng', url: search.base('/searx/') });

function searchTool(settings: SearchSettings, extra: { timeoutMs?: number; signal?: AbortSignal } = {}) {
  const ledger = new RunSourceLedger();
  return { ledger, tool: webSearchTool({ settings, ledger, ...extra }) };
}

describe.each([
  ['tavily', tavily],
  ['searxng', searxng],
] as const)('web_search through %s', (provider, settings) => {
  it('answers with a numbered list of titles, URLs and snippets, and records every URL as seen', async () => {
    const { tool, ledger } = searchTool(settings());
    const text = await tool.invoke({ query: 'tide pools' });
    expect(text).toBe(
      [
        'Results for "tide pools":',
        '1. How Tide Pools Work',
        '   https://shore.example/tide-pools',
        '   Tide pools are rocky hollows…',
        '2. Zones of the shore',
        '   https://marine.example/zones?utm_source=feed',
        '   Four zones.',
        '3. Tide tables',
        '   https://tides.example/',
        '   When the water comes back.',
      ].join('\n'),
    );
    expect(ledger.entries()).toEqual(TIDE_RESULTS.map((r) => ({ url: r.url, kinds: ['search'], title: r.title })));
    expect(search.requests).toHaveLength(1);
    expect(search.requests[0]).toMatchObject({ provider, query: 'tide pools' });
  });

  it('lists at most the results asked for', async () => {
    const { tool, ledger } = searchTool(settings());
    const text = await tool.invoke({ query: 'tide', max_results: 1 });
    expect(text).toContain('1. How Tide Pools Work');
    expect(text).not.toContain('2.');
    expect(ledger.entries()).toHaveLength(1);
  });

  it('says so when nothing is found', async () => {
    search.reply = () => ({ results: [] });
    const { tool, ledger } = searchTool(settings());
    expect(await tool.invoke({ query: 'zzzz' })).toBe('No results for "zzzz". Try other words, or a broader query.');
    expect(ledger.entries()).toEqual([]);
  });

  it('answers with a sentence when the service does not answer in time', async () => {
    search.reply = () => ({ hang: true });
    const { tool } = searchTool(settings(), { timeoutMs: 300 });
    expect(await tool.invoke({ query: 'slow' })).toBe(
      'web_search failed: the search service did not answer within 300 ms.',
    );
  });

  it('ends at once when the run is cancelled, and refuses to start when it already is', async () => {
    search.reply = () => ({ hang: true });
    const run = new AbortController();
    const { tool } = searchTool(settings(), { signal: run.signal, timeoutMs: 60_000 });
    const pending = tool.invoke({ query: 'slow' });
    await vi.waitFor(() => expect(search.requests).toHaveLength(1));
    run.abort(new Error('cancelled by a person'));
    await expect(pending).rejects.toThrow('cancelled by a person');
    await expect(tool.invoke({ query: 'again' })).rejects.toThrow('cancelled by a person');
    await expect(
      searchTool(settings()).tool.invoke({ query: 'x' }, { signal: AbortSignal.abort(new Error('step over')) }),
    ).rejects.toThrow('step over');
  });
});

describe('web_search through Tavily', () => {
  it('sends the key as a bearer token and the query to the configured base URL', async () => {
    await searchTool(tavily()).tool.invoke({ query: 'tide pools', max_results: 2 });
    expect(search.requests[0]).toMatchObject({
      path: '/tavily/search',
      authorization: `Bearer ${KEY}`,
      params: { query: 'tide pools', max_results: 2 },
    });
  });

  it.each([
    [
      401,
      { detail: { error: 'Unauthorized: missing or invalid API key.' } },
      'Tavily answered HTTP 401 (Unauthorized: missing or invalid API key.)',
    ],
    [
      432,
      { detail: { error: 'This request exceeds your plan limit.' } },
      'Tavily answered HTTP 432 (This request exceeds your plan limit.)',
    ],
    [500, { detail: {} }, 'Tavily answered HTTP 500 (Unknown error)'],
  ])('reports HTTP %i to the model in words', async (status, body, words) => {
    // @langchain/tavily prints the failed Response with console.log; keep test output clean.
    vi.spyOn(console, 'log').mockImplementation(() => {});
    search.reply = () => ({ status, body });
    const { tool, ledger } = searchTool(tavily());
    expect(await tool.invoke({ query: 'q' })).toBe(`web_search failed: ${words}.`);
    expect(ledger.entries()).toEqual([]);
  });

  it('says so when an error page is not JSON', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    search.reply = () => ({ status: 502, text: '<html>Bad gateway</html>' });
    expect(await searchTool(tavily()).tool.invoke({ query: 'q' })).toMatch(
      /^web_search failed: Tavily gave no usable answer \(.*JSON.*\)\.$/,
    );
  });

  it('says so when the service cannot be reached', async () => {
    const { tool } = searchTool({ provider: 'tavily', apiKey: KEY, url: `http://127.0.0.1:${await closedPort()}` });
    expect(await tool.invoke({ query: 'q' })).toMatch(
      /^web_search failed: Tavily could not be reached: fetch failed\.$/,
    );
  });
});

describe('web_search through SearXNG', () => {
  it('asks the JSON API under the configured base path', async () => {
    await searchTool(searxng()).tool.invoke({ query: 'tide & pools' });
    expect(search.requests[0]).toMatchObject({
      path: '/searx/search',
      authorization: null,
      params: { q: 'tide & pools', format: 'json' },
    });
  });

  it('reports HTTP errors in words, with a hint when the instance refuses JSON', async () => {
    search.reply = () => ({ status: 403 });
    expect(await searchTool(searxng()).tool.invoke({ query: 'q' })).toBe(
      'web_search failed: SearXNG answered HTTP 403 Forbidden: is "json" listed in search.formats of its settings.yml?.',
    );
    search.reply = () => ({ status: 429 });
    expect(await searchTool(searxng()).tool.invoke({ query: 'q' })).toBe(
      'web_search failed: SearXNG answered HTTP 429 Too Many Requests.',
    );
  });

  it('says so when the instance cannot be reached', async () => {
    const { tool } = searchTool({ provider: 'searxng', url: `http://127.0.0.1:${await closedPort()}/` });
    expect(await tool.invoke({ query: 'q' })).toBe('web_search failed: SearXNG could not be reached (ECONNREFUSED).');
  });
});
