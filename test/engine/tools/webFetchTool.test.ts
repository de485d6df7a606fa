/**
 * The web_fetch tool against fake pages on 127.0.0.1: what the model reads for a page and for each
 * refusal, the pages recorded in the run's ledger, and the per-run cache (one request per page per run,
 * identical fetches in flight shared, a caller's cancel ending only its own wait).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RunSourceLedger } from '../../../src/engine/tools/sources.js';
import type { FetchPolicy } from '../../../src/engine/tools/webFetch.js';
import { FetchCache, RunPageCache, webFetchTool } from '../../../src/engine/tools/webFetchTool.js';
import { ARTICLE_TITLE, FakeWeb } from '../../fakes/fakeWeb.js';

/** The fake web, counting the requests that reach it. */
class CountingWeb extends FakeWeb {
  readonly hits: string[] = [];
  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.hits.push(req.url ?? '');
    return super.handle(req, res);
  }
}

const web = new CountingWeb();
beforeAll(() => web.start());
afterAll(() => web.stop());
beforeEach(() => {
  web.hits.length = 0;
});

const POLICY: FetchPolicy = {
  maxBytes: 2 * 1024 * 1024,
  timeoutMs: 5000,
  maxRedirects: 5,
  allowHosts: ['127.0.0.1'],
  maxMarkdownChars: 20_000,
};
const NAMES: Record<string, string[]> = { 'news.example': ['10.1.2.3'], 'inner.example': ['192.168.1.5'] };
/** The only DNS here: the names above; the real resolver is never asked. */
const resolve = async (host: string) => {
  const found = NAMES[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

function fetchTool(options: { policy?: Partial<FetchPolicy>; cache?: RunPageCache; signal?: AbortSignal } = {}) {
  const ledger = new RunSourceLedger();
  const tool = webFetchTool({
    policy: { ...POLICY, ...options.policy },
    cache: options.cache ?? new RunPageCache(16),
    ledger,
    resolve,
    signal: options.signal,
  });
  return { ledger, tool, read: (url: string, signal?: AbortSignal) => tool.invoke({ url }, { signal }) };
}

describe('web_fetch: pages', () => {
  it('answers with the title, the URL and the main text as Markdown, and records the page as fetched', async () => {
    const { read, ledger } = fetchTool();
    const text = await read(web.url('/article'));
    expect(text).toMatch(new RegExp(`^# ${ARTICLE_TITLE}\nURL: ${web.url('/article')}\n\n`));
    expect(text).toContain('Tide pools are rocky hollows');
    expect(text).not.toContain('NAV_LINK_SHOP');
    expect(ledger.entries()).toEqual([{ url: web.url('/article'), kinds: ['fetched'], title: ARTICLE_TITLE }]);
  });

  it('says where a redirect led, and records both addresses', async () => {
    web.redirectTo = web.url('/notes.md');
    const { read, ledger } = fetchTool();
    const text = await read(web.url('/redirect'));
    expect(text).toMatch(
      new RegExp(`^# Field notes\nURL: ${web.url('/notes.md')}\n\\(redirected from ${web.url('/redirect')}\\)`),
    );
    expect(ledger.entries().map((e) => e.url)).toEqual([web.url('/redirect'), web.url('/notes.md')]);
  });

  it('cuts a 50 MB page at the limit and tells the model so', async () => {
    const { read, ledger } = fetchTool({ policy: { maxBytes: 256 * 1024, maxMarkdownChars: 1_000_000 } });
    const text = await read(web.url('/big'));
    expect(text).toContain('(the page was cut at the size limit; only its start is below)');
    expect(text).toMatch(/\[… cut: the page is longer than 262144 bytes; only its start was read\]$/);
    expect(text.length).toBeLessThan(300 * 1024);
    expect(ledger.entries()).toHaveLength(1);
  });
});

describe('web_fetch: refusals, told to the model in words', () => {
  it.each([
    ['http://10.0.0.1/', 'refused: 10.0.0.1 is a private address'],
    ['http://169.254.169.254/latest/meta-data/', 'refused: 169.254.169.254 is the cloud metadata address'],
    ['http://[::1]/', 'refused: ::1 is a loopback address'],
    ['http://news.example/today', 'refused: news.example resolves to 10.1.2.3, a private address'],
  ])('%s', async (url, why) => {
    const { read, ledger } = fetchTool({ policy: { allowHosts: [] } });
    expect(await read(url)).toBe(`web_fetch failed: could not read ${url}: ${why}. Do not retry this URL.`);
    expect(ledger.entries()).toEqual([]);
  });

  it('127.0.0.1 when it is not allowed', async () => {
    const { read } = fetchTool({ policy: { allowHosts: [] } });
    expect(await read(web.url('/article'))).toBe(
      `web_fetch failed: could not read ${web.url('/article')}: refused: 127.0.0.1 is a loopback address. Do not retry this URL.`,
    );
    expect(web.hits).toEqual([]);
  });

  it('a redirect to a private address', async () => {
    web.redirectTo = 'http://inner.example/admin';
    const { read, ledger } = fetchTool();
    expect(await read(web.url('/redirect'))).toBe(
      `web_fetch failed: could not read ${web.url('/redirect')}: refused: inner.example resolves to 192.168.1.5, a private address ` +
        `(after a redirect from ${web.url('/redirect')}). Do not retry this URL.`,
    );
    expect(ledger.entries()).toEqual([]);
  });

  it('a binary content type', async () => {
    const { read } = fetchTool();
    expect(await read(web.url('/png'))).toBe(
      `web_fetch failed: could not read ${web.url('/png')}: refused: the content type image/png is not text. Do not retry this URL.`,
    );
  });

  it('a page that is not there, without telling the model to give up on it', async () => {
    const { read } = fetchTool();
    expect(await read(web.url('/missing'))).toBe(
      `web_fetch failed: could not read ${web.url('/missing')}: the server answered HTTP 404 Not Found.`,
    );
  });
});

describe('web_fetch: the per-run cache', () => {
  it('fetches a page once for two agents of one run, however its URL is written', async () => {
    const cache = new RunPageCache(16);
    const first = fetchTool({ cache });
    const second = fetchTool({ cache });
    const a = await first.read(web.url('/article'));
    const b = await second.read(`${web.url('/article')}#zones`);
    expect(b).toBe(a);
    expect(web.hits).toEqual(['/article']);
    expect(second.ledger.entries().map((e) => e.kinds)).toEqual([['fetched']]);
  });

  it('shares one request between identical fetches in flight', async () => {
    const cache = new RunPageCache(16);
    const [a, b] = await Promise.all([
      fetchTool({ cache }).read(web.url('/plain')),
      fetchTool({ cache }).read(web.url('/plain')),
    ]);
    expect(a).toBe(b);
    expect(web.hits).toEqual(['/plain']);
  });

  it('asks again after a failure that may pass, not after a page or a refusal', async () => {
    const cache = new RunPageCache(16);
    const { read } = fetchTool({ cache });
    await read(web.url('/missing'));
    await read(web.url('/missing'));
    await read(web.url('/png'));
    await read(web.url('/png'));
    expect(web.hits).toEqual(['/missing', '/missing', '/png']);
  });

  it("ends a cancelled caller's wait at once while another caller still gets the answer", async () => {
    const cache = new RunPageCache(16);
    web.expectSlow();
    const leaving = new AbortController();
    const policy = { timeoutMs: 500 };
    const left = fetchTool({ cache, policy }).read(web.url('/slow'), leaving.signal);
    const stays = fetchTool({ cache, policy }).read(web.url('/slow'));
    await web.slowAsked;
    leaving.abort(new Error('step cancelled'));
    await expect(left).rejects.toThrow('step cancelled');
    expect(await stays).toBe(
      `web_fetch failed: could not read ${web.url('/slow')}: timed out: no complete answer within 500 ms.`,
    );
    expect(web.hits).toEqual(['/slow']);
  });

  it('stops the request when its only caller is cancelled, and fetches afresh next time', async () => {
    const cache = new RunPageCache(16);
    const run = new AbortController();
    web.expectSlow();
    const pending = fetchTool({ cache, signal: run.signal, policy: { timeoutMs: 60_000 } }).read(web.url('/slow'));
    await web.slowAsked;
    run.abort(new Error('run cancelled'));
    await expect(pending).rejects.toThrow('run cancelled');
    await expect(fetchTool({ cache, signal: run.signal }).read(web.url('/plain'))).rejects.toThrow('run cancelled');
    expect(cache.size).toBe(0);
  });

  it('keeps runs apart, forgets an ended run, and holds a bounded number of runs and pages', async () => {
    const caches = new FetchCache(2, 2);
    const read = (run: string, path: string) => fetchTool({ cache: caches.forRun(run) }).read(web.url(path));
    await read('run-a', '/plain');
    await read('run-b', '/plain');
    expect(web.hits).toEqual(['/plain', '/plain']);
    caches.endRun('run-a');
    await read('run-a', '/plain');
    expect(web.hits).toHaveLength(3);
    await read('run-c', '/plain');
    expect(caches.has('run-b')).toBe(false);
    expect(caches.has('run-a') && caches.has('run-c')).toBe(true);
    for (const path of ['/plain', '/notes.md', '/article']) await read('run-c', path);
    expect(caches.forRun('run-c').size).toBe(2);
    web.hits.length = 0;
    await read('run-c', '/plain');
    expect(web.hits).toEqual(['/plain']);
  });

  it('answers a URL that is no URL at all with a sentence', async () => {
    expect(await fetchTool().read('not a url')).toBe(
      'web_fetch failed: could not read not a url: refused: this is not a valid absolute URL. Do not retry this URL.',
    );
  });
});
