/**
 * A fake web server on 127.0.0.1 for web_fetch: an article with nav and footer, plain text, binary
 * types, redirects to anywhere, a page that never answers, and a 50 MB page streamed with back-pressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { LoopbackServer } from './loopback.js';

export const ARTICLE_TITLE = 'How Tide Pools Work';
export const ARTICLE_HTML = `<!doctype html>
<html><head><title>${ARTICLE_TITLE}</title><script>var tracking = 'SCRIPT_TEXT';</script></head>
<body>
  <nav><a href="/">Home</a> <a href="/shop">NAV_LINK_SHOP</a> <a href="/about">NAV_LINK_ABOUT</a></nav>
  <main><article>
    <h1>${ARTICLE_TITLE}</h1>
    <p>Tide pools are rocky hollows on the shore that keep seawater when the tide goes out. They are
    home to anemones, sea stars, crabs and small fish, which must survive heat, waves and changing salt.</p>
    <h2>Zones of the shore</h2>
    <p>The splash zone, the high tide zone, the middle tide zone and the low tide zone each hold different
    creatures. The lower the zone, the longer it stays under water and the richer its life becomes.</p>
    <p>Read <a href="/more">more about zones</a> before visiting, and always watch the incoming tide, because
    water can rise quickly and cut off the way back to the beach for careless visitors.</p>
  </article></main>
  <footer>FOOTER_COPYRIGHT 2025 Example Shore Society. All rights reserved.</footer>
</body></html>`;

export const BIG_SIZE = 50 * 1024 * 1024;

export class FakeWeb extends LoopbackServer {
  /** Where /redirect sends its client (set per test). */
  redirectTo = 'http://169.254.169.254/';
  /** Bytes of the 50 MB page written before the client hung up, and a promise of that moment. */
  bigSent = 0;
  bigClosed: Promise<void> = Promise.resolve();
  /** Resolves when /slow has been asked for. */
  slowAsked: Promise<void> = Promise.resolve();
  private slowSeen: () => void = () => {};

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  expectSlow(): void {
    this.slowAsked = new Promise((resolve) => {
      this.slowSeen = resolve;
    });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    switch (path) {
      case '/article':
        return this.send(res, 'text/html; charset=utf-8', ARTICLE_HTML);
      case '/article.gz':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        res.end(gzipSync(ARTICLE_HTML));
        return;
      case '/bare':
        return this.send(res, 'text/html', '<html><body><p>Just one line.</p></body></html>');
      case '/plain':
        return this.send(res, 'text/plain', 'line one\nline two\n');
      case '/notes.md':
        return this.send(res, 'text/markdown', '# Field notes\n\n- crabs\n- stars\n');
      case '/long':
        return this.send(res, 'text/plain', 'x'.repeat(5000));
      case '/png':
        return this.send(res, 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
      case '/octet':
        return this.send(res, 'application/octet-stream', Buffer.from([0, 1, 2, 3]));
      case '/missing':
        return this.send(res, 'text/plain', 'no such page', 404);
      case '/redirect':
        res.writeHead(302, { location: this.redirectTo });
        res.end();
        return;
      case '/loop':
        res.writeHead(301, { location: '/loop' });
        res.end();
        return;
      case '/slow':
        this.slowSeen();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('starting…');
        return; // never ends; stop() closes the connection
      case '/big':
        return this.streamBig(res);
      default:
        return this.send(res, 'text/plain', 'not found', 404);
    }
  }

  private send(res: ServerResponse, type: string, body: string | Buffer, status = 200): void {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  }

  private streamBig(res: ServerResponse): void {
    this.bigSent = 0;
    let closed = () => {};
    this.bigClosed = new Promise((resolve) => {
      closed = resolve;
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BIG_SIZE) });
    res.on('close', closed);
    const pump = () => {
      while (this.bigSent < BIG_SIZE && !res.destroyed) {
        this.bigSent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }
}
