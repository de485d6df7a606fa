/**
 * web_fetch against a fake web server on 127.0.0.1: Markdown of the main content, and every safety rule
 * (private addresses after DNS and after redirects, schemes, credentials, size, type, time, abort).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal } from '../../../src/engine/tools/addressPolicy.js';
import { type FetchPolicy, type FetchResult, fetchPage, normalizeUrl } from '../../../src/engine/tools/webFetch.js';
import { ARTICLE_TITLE, BIG_SIZE, FakeWeb } from '../../fakes/fakeWeb.js';

const web = new FakeWeb();
beforeAll(() => web.start());
afterAll(() => web.stop());

const POLICY: FetchPolicy = {
  maxBytes: 2 * 1024 * 1024,
  timeoutMs: 2000,
  maxRedirects: 5,
  allowHosts: ['127.0.0.1'],
  maxMarkdownChars: 20_000,
};

const NAMES: Record<string, string[]> = {
  'news.example': ['10.1.2.3'],
  'inner.example': ['192.168.1.5'],
  'mixed.example': ['93.184.215.14', '127.0.0.2'],
  'pinned.example': ['127.0.0.1'],
};
const asked: string[] = [];
/** The only DNS in this file: names above, nothing else; the real resolver is never reached. */
const resolve = async (host: string): Promise<string[]> => {
  asked.push(host);
  const found = NAMES[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

const fetchWith = (url: string, policy: Partial<FetchPolicy> = {}, signal?: AbortSignal) =>
  fetchPage(url, { ...POLICY, ...policy }, signal, resolve);

function ok(result: FetchResult): Extract<FetchResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a page, got: ${result.reason}`);
  return result;
}
function reason(result: FetchResult): string {
  if (result.ok) throw new Error(`expected a refusal, got a page from ${result.finalUrl}`);
  return result.reason;
}

describe('fetchPage: pages', () => {
  it('turns an HTML page into Markdown of its main content, with its title, without nav or footer', async () => {
    const page = ok(await fetchWith(web.url('/article')));
    expect(page.title).toBe(ARTICLE_TITLE);
    expect(page.contentType).toBe('text/html');
    expect(page.finalUrl).toBe(web.url('/article'));
    expect(page.truncated).toBe(false);
    expect(page.markdown).toContain('Tide pools are rocky hollows');
    expect(page.markdown).toMatch(/## Zones of the shore/);
    expect(page.markdown).toContain(`[more about zones](${web.url('/more')})`);
    for (const noise of ['NAV_LINK_SHOP', 'NAV_LINK_ABOUT', 'FOOTER_COPYRIGHT', 'SCRIPT_TEXT']) {
      expect(page.markdown).not.toContain(noise);
    }
  });

  it('reads a gzip body, and falls back to the whole body when Readability finds nothing', async () => {
    expect(ok(await fetchWith(web.url('/article.gz'))).markdown).toContain('Tide pools are rocky hollows');
    expect(ok(await fetchWith(web.url('/bare'))).markdown).toContain('Just one line.');
  });

  it('passes plain text and Markdown through, keeping a Markdown title', async () => {
    expect(ok(await fetchWith(web.url('/plain')))).toMatchObject({ markdown: 'line one\nline two\n', title: null });
    const notes = ok(await fetchWith(web.url('/notes.md')));
    expect(notes).toMatchObject({ title: 'Field notes', contentType: 'text/markdown' });
    expect(notes.markdown).toContain('- crabs');
  });

  it('cuts long Markdown with a marker saying so', async () => {
    const page = ok(await fetchWith(web.url('/long'), { maxMarkdownChars: 100 }));
    expect(page.truncated).toBe(true);
    expect(page.markdown).toMatch(/^x{100}\n\n\[… cut: the page continues past 100 characters\]$/);
  });

  it('follows an allowed redirect and reports where it ended', async () => {
    web.redirectTo = web.url('/plain');
    const page = ok(await fetchWith(web.url('/redirect')));
    expect(page.finalUrl).toBe(web.url('/plain'));
    expect(page.url).toBe(web.url('/redirect'));
  });

  it('connects to the address it checked: a name only the injected resolver knows reaches the fake server', async () => {
    asked.length = 0;
    const port = new URL(web.url('/')).port;
    const page = ok(await fetchWith(`http://Pinned.Example:${port}/plain`, { allowHosts: ['pinned.example'] }));
    expect(page.markdown).toBe('line one\nline two\n');
    expect(asked).toEqual(['pinned.example']);
  });

  it('says why for an HTTP error and for a redirect loop', async () => {
    expect(reason(await fetchWith(web.url('/missing')))).toBe('the server answered HTTP 404 Not Found');
    expect(reason(await fetchWith(web.url('/loop')))).toBe('gave up: more than 5 redirects');
  });
});

describe('fetchPage: addresses', () => {
  it.each([
    ['http://10.0.0.1/', '10.0.0.1 is a private address'],
    ['http://172.16.4.1/', '172.16.4.1 is a private address'],
    ['http://192.168.0.1/', '192.168.0.1 is a private address'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is the cloud metadata address'],
    ['http://169.254.3.4/', '169.254.3.4 is a link-local address'],
    ['http://100.64.0.1/', '100.64.0.1 is a shared (CGNAT) address'],
    ['http://0.0.0.0/', '0.0.0.0 is the unspecified address'],
    ['http://224.0.0.1/', '224.0.0.1 is a multicast address'],
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://[::1]/', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 maps to 127.0.0.1, a loopback address'],
    ['http://[::ffff:169.254.169.254]/', 'maps to 169.254.169.254, the cloud metadata address'],
    ['http://[fd12::1]/', 'fd12::1 is a unique-local address'],
    ['http://[fe80::1]/', 'fe80::1 is a link-local address'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal is an internal host name'],
    ['http://localhost/', 'localhost is an internal host name'],
    ['http://news.example/', 'news.example resolves to 10.1.2.3, a private address'],
    ['http://mixed.example/', 'mixed.example resolves to 127.0.0.2, a loopback address'],
  ])('refuses %s', async (url, why) => {
    const text = reason(await fetchWith(url, { allowHosts: [] }));
    expect(text).toMatch(/^refused: /);
    expect(text).toContain(why);
  });

  it('refuses the fake server itself when 127.0.0.1 is not allowed, and allows only the exact host', async () => {
    const text = reason(await fetchWith(web.url('/article'), { allowHosts: [] }));
    expect(text).toBe('refused: 127.0.0.1 is a loopback address');
    expect(reason(await fetchWith('http://127.0.0.2/'))).toBe('refused: 127.0.0.2 is a loopback address');
    expect(reason(await fetchWith('http://10.0.0.1/'))).toBe('refused: 10.0.0.1 is a private address');
  });

  it('checks every redirect again: to the metadata address, and to a name that resolves privately', async () => {
    web.redirectTo = 'http://169.254.169.254/latest/meta-data/';
    expect(reason(await fetchWith(web.url('/redirect')))).toBe(
      `refused: 169.254.169.254 is the cloud metadata address (after a redirect from ${web.url('/redirect')})`,
    );
    web.redirectTo = 'http://inner.example/admin';
    expect(reason(await fetchWith(web.url('/redirect')))).toContain(
      'refused: inner.example resolves to 192.168.1.5, a private address (after a redirect from',
    );
    web.redirectTo = 'file:///etc/passwd';
    expect(reason(await fetchWith(web.url('/redirect')))).toContain('only http and https URLs are fetched, not file:');
  });

  it('says so when a name does not resolve', async () => {
    expect(reason(await fetchWith('https://nowhere.example/'))).toBe('could not resolve nowhere.example');
  });

  it('sorts addresses: public unicast passes, the rest say what they are', () => {
    expect(addressRefusal('93.184.215.14')).toBeNull();
    expect(addressRefusal('2606:4700::1111')).toBeNull();
    expect(addressRefusal('::ffff:10.0.0.1')).toBe('maps to 10.0.0.1, a private address');
    expect(addressRefusal('fd00:ec2::254')).toBe('the cloud metadata address');
  });
});

describe('fetchPage: schemes, sizes, types, time', () => {
  it.each([
    ['file:///etc/passwd', 'only http and https URLs are fetched, not file:'],
    ['ftp://ftp.example/pub/', 'only http and https URLs are fetched, not ftp:'],
    ['http://user:pass@news.example/', 'URLs carrying credentials (user:password@) are not fetched'],
    ['not a url', 'this is not a valid absolute URL'],
  ])('refuses %s', async (url, why) => {
    expect(reason(await fetchWith(url))).toBe(`refused: ${why}`);
  });

  it('cuts a 50 MB page at the limit, says it was cut, and hangs up on the server', async () => {
    const page = ok(await fetchWith(web.url('/big'), { maxBytes: 1024 * 1024, maxMarkdownChars: 2_000_000 }));
    expect(page.bytes).toBe(1024 * 1024);
    expect(page.truncated).toBe(true);
    expect(page.markdown).toMatch(/\[… cut: the page is longer than 1048576 bytes; only its start was read\]$/);
    await web.bigClosed;
    expect(web.bigSent).toBeLessThan(BIG_SIZE);
  });

  it.each(['image/png', 'application/octet-stream'])('refuses a binary type, naming it: %s', async (type) => {
    const path = type === 'image/png' ? '/png' : '/octet';
    expect(reason(await fetchWith(web.url(path)))).toBe(`refused: the content type ${type} is not text`);
  });

  it('ends a page slower than timeoutMs with a timeout', async () => {
    expect(reason(await fetchWith(web.url('/slow'), { timeoutMs: 200 }))).toBe(
      'timed out: no complete answer within 200 ms',
    );
  });

  it('ends at once when the caller aborts, and refuses to start when already aborted', async () => {
    web.expectSlow();
    const controller = new AbortController();
    const pending = fetchWith(web.url('/slow'), { timeoutMs: 60_000 }, controller.signal);
    await web.slowAsked;
    controller.abort();
    expect(reason(await pending)).toBe('cancelled: the fetch was aborted by its caller');
    expect(reason(await fetchWith(web.url('/plain'), {}, AbortSignal.abort()))).toMatch(/^cancelled/);
  });
});

describe('normalizeUrl', () => {
  it('lowercases the host and drops the fragment, leaving the rest alone', () => {
    expect(normalizeUrl('HTTPS://Example.COM/A/b?z=1&a=2#Section')).toBe('https://example.com/A/b?z=1&a=2');
    expect(normalizeUrl('not a url')).toBe('not a url');
  });
});
