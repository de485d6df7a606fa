/**
 * A fake search API on 127.0.0.1, both kinds web_search speaks: Tavily's (`POST {base}/search`, JSON
 * body, bearer key) and SearXNG's (`GET {base}/search?format=json&q=`). A script decides each answer
 * (results, an HTTP error, or no answer at all); every request is recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback.js';

export interface FakeResult {
  title: string;
  url: string;
  content: string;
}

export type FakeSearchReply =
  | { results: FakeResult[] }
  | { status: number; body?: unknown }
  /** A body that is not JSON, as a proxy in front of the service may send. */
  | { status: number; text: string }
  | { hang: true };

export interface RecordedSearch {
  provider: 'tavily' | 'searxng';
  path: string;
  query: string;
  authorization: string | null;
  /** Tavily: the JSON body; SearXNG: the query-string parameters. */
  params: Record<string, unknown>;
}

export const TIDE_RESULTS: FakeResult[] = [
  { title: 'How Tide Pools Work', url: 'https://shore.example/tide-pools', content: 'Tide pools are rocky hollows…' },
  { title: 'Zones of the shore', url: 'https://marine.example/zones?utm_source=feed', content: 'Four zones.' },
  { title: 'Tide tables', url: 'https://tides.example/', content: 'When the water comes back.' },
];

export class FakeSearch extends LoopbackServer {
  readonly requests: RecordedSearch[] = [];
  reply: (request: RecordedSearch) => FakeSearchReply = () => ({ results: TIDE_RESULTS });

  /** The base URL to configure (ORCHESTRATE_SEARCH_URL), with an optional path prefix. */
  base(prefix = ''): string {
    return `http://127.0.0.1:${this.port}${prefix}`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.endsWith('/search')) return this.json(res, 404, { detail: { error: 'Not Found' } });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const authorization = req.headers.authorization ?? null;
    let request: RecordedSearch;
    if (req.method === 'POST') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      request = {
        provider: 'tavily',
        path: url.pathname,
        query: String(body.query ?? ''),
        authorization,
        params: body,
      };
    } else {
      const params = Object.fromEntries(url.searchParams);
      request = { provider: 'searxng', path: url.pathname, query: params.q ?? '', authorization, params };
      // SearXNG refuses JSON unless its settings allow the format, with a bare 403.
      if (params.format !== 'json') return this.json(res, 403, {});
    }
    this.requests.push(request);
    const reply = this.reply(request);
    if ('hang' in reply) return; // never answers; stop() closes the connection
    if ('text' in reply) {
      res.writeHead(reply.status, { 'content-type': 'text/html' });
      res.end(reply.text);
      return;
    }
    if ('status' in reply) return this.json(res, reply.status, reply.body ?? {});
    if (request.provider === 'tavily') {
      const max = Number(request.params.max_results ?? 5);
      const results = reply.results.slice(0, max).map((r, i) => ({ ...r, score: 0.9 - i / 10, raw_content: null }));
      return this.json(res, 200, { query: request.query, results, images: [], response_time: 0.1 });
    }
    const results = reply.results.map((r) => ({ ...r, engine: 'fake', engines: ['fake'], score: 1 }));
    return this.json(res, 200, { query: request.query, number_of_results: results.length, results });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
