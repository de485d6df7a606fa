/**
 * The tool catalog built from ToolSettings: which tools exist (one line each, for the CEO agent and the
 * plan's validation), the tools one step gets (only those named and available, bound to its run), and
 * the page cache shared by the steps of one run and dropped when the run ends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isToolFailure, ToolCatalog } from '../../../src/engine/tools/catalog.js';
import { RunSourceLedger } from '../../../src/engine/tools/sources.js';
import type { ToolSettings } from '../../../src/toolSettings.js';
import { FakeMcpHttpServer } from '../../fakes/fakeMcpServer.js';
import { FakeSearch } from '../../fakes/fakeSearch.js';
import { FakeWeb } from '../../fakes/fakeWeb.js';
import { captureLogger } from '../../helpers/captureLogger.js';

class CountingWeb extends FakeWeb {
  readonly hits: string[] = [];
  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.hits.push(req.url ?? '');
    return super.handle(req, res);
  }
}

const web = new CountingWeb();
const search = new FakeSearch();
const mcpServer = new FakeMcpHttpServer();
const logs: string[] = [];
let catalog: ToolCatalog;

const NOTHING: ToolSettings = {
  maxToolCalls: 8,
  resultMaxChars: 12_000,
  stepTimeLimitMs: 60_000,
  search: null,
  fetch: null,
  mcpServers: {},
  contextMaxChars: 40_000,
};

beforeAll(async () => {
  await Promise.all([web.start(), search.start(), mcpServer.start()]);
  catalog = await ToolCatalog.start(
    {
      ...NOTHING,
      search: { provider: 'searxng', url: search.base() },
      fetch: { allowHosts: ['127.0.0.1'], maxBytes: 1024 * 1024, timeoutMs: 5000 },
      mcpServers: { notes: { url: mcpServer.url, headers: {} } },
    },
    captureLogger(logs),
  );
});
afterAll(async () => {
  await catalog?.close();
  await Promise.all([web.stop(), search.stop(), mcpServer.kill()]);
});
beforeEach(() => {
  web.hits.length = 0;
});

const run = (orchestrationId: string, signal?: AbortSignal) => ({
  orchestrationId,
  ledger: new RunSourceLedger(),
  signal,
});

describe('ToolCatalog.available', () => {
  it('lists every configured tool once, built-ins first, one line each', () => {
    const tools = catalog.available();
    expect(tools.map((t) => t.name)).toEqual(['web_search', 'web_fetch', 'notes__search_notes', 'notes__add']);
    expect(tools[0]?.summary).toBe(
      'Search the web (SearXNG): a numbered list of titles, URLs and snippets for a query.',
    );
    expect(tools[2]?.summary).toBe('Find notes that contain a word. (MCP server notes)');
    for (const tool of tools) expect(tool.summary).toMatch(/^[^\n]{10,200}$/);
    expect(logs).toContain('info MCP server "notes" is up with 2 tools: notes__search_notes, notes__add');
  });

  it('lists nothing, and gives nothing, when no tool is configured', async () => {
    const bare = await ToolCatalog.start(NOTHING, captureLogger([]));
    expect(bare.available()).toEqual([]);
    expect(bare.has('web_search')).toBe(false);
    expect(bare.forStep(run('o1'), ['web_search', 'web_fetch'])).toEqual([]);
    await bare.close();
  });

  it('names Tavily when Tavily is the provider', () => {
    const tavily = new ToolCatalog({ ...NOTHING, search: { provider: 'tavily', apiKey: 'k', url: null } });
    expect(tavily.available()).toEqual([
      {
        name: 'web_search',
        summary: 'Search the web (Tavily): a numbered list of titles, URLs and snippets for a query.',
      },
    ]);
  });
});

describe('ToolCatalog.forStep', () => {
  it('gives only the tools named that exist, in the order named, each once', () => {
    const tools = catalog.forStep(run('o1'), ['notes__add', 'web_fetch', 'made_up', 'notes__add', 'web_search']);
    expect(tools.map((t) => t.name)).toEqual(['notes__add', 'web_fetch', 'web_search']);
    expect(catalog.forStep(run('o1'), [])).toEqual([]);
  });

  it("binds each tool to the step's run: what it finds goes into that run's ledger", async () => {
    const step = run('o2');
    const [searchTool, fetchTool, addTool] = catalog.forStep(step, ['web_search', 'web_fetch', 'notes__add']);
    expect(await searchTool!.invoke({ query: 'tide pools' })).toContain('1. How Tide Pools Work');
    expect(await fetchTool!.invoke({ url: web.url('/plain') })).toContain('line one');
    expect(await addTool!.invoke({ a: 20, b: 22 })).toBe('42');
    expect(step.ledger.entries().map((e) => [e.url, e.kinds])).toEqual([
      ['https://shore.example/tide-pools', ['search']],
      ['https://marine.example/zones?utm_source=feed', ['search']],
      ['https://tides.example/', ['search']],
      [web.url('/plain'), ['fetched']],
    ]);
  });

  it('shares fetched pages between the steps of one run only, and forgets them when the run ends', async () => {
    const read = (orchestrationId: string) =>
      catalog.forStep(run(orchestrationId), ['web_fetch'])[0]!.invoke({ url: web.url('/notes.md') });
    await read('run-a');
    await read('run-a');
    expect(web.hits).toEqual(['/notes.md']);
    await read('run-b');
    expect(web.hits).toEqual(['/notes.md', '/notes.md']);
    catalog.endRun('run-a');
    await read('run-a');
    expect(web.hits).toHaveLength(3);
  });

  it('answers failures with a sentence that the step record can tell from a result', async () => {
    const [fetchTool, searchTool] = catalog.forStep(run('o4'), ['web_fetch', 'web_search']);
    const refused = await fetchTool!.invoke({ url: 'http://10.0.0.1/' });
    expect(refused).toBe(
      'web_fetch failed: could not read http://10.0.0.1/: refused: 10.0.0.1 is a private address. Do not retry this URL.',
    );
    expect(isToolFailure('web_fetch', refused)).toBe(true);
    expect(isToolFailure('web_search', await searchTool!.invoke({ query: 'tide' }))).toBe(false);
  });

  it("ends every tool's call when the run is cancelled", async () => {
    const cancelled = new AbortController();
    cancelled.abort(new Error('run cancelled'));
    const tools = catalog.forStep(run('o3', cancelled.signal), ['web_search', 'web_fetch', 'notes__add']);
    const args = [{ query: 'x' }, { url: web.url('/plain') }, { a: 1, b: 2 }];
    for (const [i, tool] of tools.entries()) await expect(tool.invoke(args[i]!)).rejects.toThrow('run cancelled');
    expect(web.hits).toEqual([]);
  });
});
