/**
 * Verified sources: the URLs a text cites are found in every form people and models write them, and
 * each is marked retrieved only when this run saw it in search results or fetched it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSources,
  citedUrls,
  normalizeSourceUrl,
  RunSourceLedger,
  unverifiedCount,
} from '../../../src/engine/tools/sources.js';

describe('normalizeSourceUrl', () => {
  it.each([
    ['HTTPS://Example.COM/Docs/#intro', 'https://example.com/Docs'],
    ['https://example.com/', 'https://example.com'],
    ['https://example.com', 'https://example.com'],
    ['https://example.com/a/?utm_source=x&utm_medium=y&id=3', 'https://example.com/a?id=3'],
    ['https://example.com/a?b=2&a=1&fbclid=abc&gclid=z', 'https://example.com/a?a=1&b=2'],
    ['https://example.com:443/a', 'https://example.com/a'],
    ['  https://example.com/a  ', 'https://example.com/a'],
    ['not a url', 'not a url'],
  ])('%s → %s', (url, normal) => {
    expect(normalizeSourceUrl(url)).toBe(normal);
  });

  it('keeps what tells pages apart: path case, other parameters, scheme', () => {
    expect(normalizeSourceUrl('https://e.com/A')).not.toBe(normalizeSourceUrl('https://e.com/a'));
    expect(normalizeSourceUrl('https://e.com/a?page=2')).not.toBe(normalizeSourceUrl('https://e.com/a?page=3'));
    expect(normalizeSourceUrl('http://e.com/a')).not.toBe(normalizeSourceUrl('https://e.com/a'));
  });
});

describe('citedUrls', () => {
  it('finds Markdown links, autolinks, Slack links, references and bare URLs, once each, in order', () => {
    const text = [
      'Tide pools are rich ([Shore Society](https://shore.example/tide-pools "Tide pools")).',
      'See <https://marine.example/zones> and <https://tides.example/|the tide tables>.',
      'Also https://news.example/story?id=7, and https://news.example/story?id=7#top again.',
      '**https://bold.example/x**',
      '[1]: https://ref.example/paper.pdf',
      'Wikipedia: https://en.wikipedia.org/wiki/Tide_pool_(ecology).',
      'Not a link: ftp://files.example/x, mailto:a@b.example, www.bare.example',
    ].join('\n');
    expect(citedUrls(text)).toEqual([
      'https://shore.example/tide-pools',
      'https://marine.example/zones',
      'https://tides.example/',
      'https://news.example/story?id=7',
      'https://bold.example/x',
      'https://ref.example/paper.pdf',
      'https://en.wikipedia.org/wiki/Tide_pool_(ecology)',
    ]);
  });

  it('reads Slack-escaped ampersands as the ampersands they stand for', () => {
    expect(citedUrls('<https://e.example/s?a=1&amp;b=2|results>')).toEqual(['https://e.example/s?a=1&b=2']);
  });

  it('finds nothing in text without links', () => {
    expect(citedUrls('No sources here. https:// alone is not one.')).toEqual([]);
  });
});

describe('checkSources', () => {
  const ledger = new RunSourceLedger();
  ledger.record('https://shore.example/tide-pools/', 'search', 'How Tide Pools Work');
  ledger.record('https://shore.example/tide-pools', 'fetched', null);
  ledger.record('https://Marine.example/zones?utm_source=feed', 'search', 'Zones');

  it('marks what the run saw or read as retrieved, with how, and an invented source as not retrieved', () => {
    const answer =
      'Pools: [Shore](https://shore.example/tide-pools#zones). Zones: <https://marine.example/zones|zones>. ' +
      'Tides: https://made-up.example/tides.';
    const checks = checkSources(citedUrls(answer), ledger.entries());
    expect(checks).toEqual([
      {
        url: 'https://shore.example/tide-pools#zones',
        retrieved: true,
        kinds: ['search', 'fetched'],
        title: 'How Tide Pools Work',
      },
      { url: 'https://marine.example/zones', retrieved: true, kinds: ['search'], title: 'Zones' },
      { url: 'https://made-up.example/tides', retrieved: false, kinds: [], title: null },
    ]);
    expect(unverifiedCount(checks)).toBe(1);
  });

  it('survives being stored and rebuilt between steps', () => {
    const resumed = new RunSourceLedger(JSON.parse(JSON.stringify(ledger.entries())));
    expect(resumed.entries()).toEqual(ledger.entries());
    resumed.record('https://later.example/page', 'fetched');
    expect(checkSources(['https://later.example/page'], resumed.entries())[0]?.retrieved).toBe(true);
    expect(ledger.entries()).toHaveLength(2);
  });

  it('ignores what is not a web URL', () => {
    const only = new RunSourceLedger();
    only.record('file:///etc/passwd', 'fetched');
    only.record('not a url', 'search');
    expect(only.entries()).toEqual([]);
  });
});

/** URLs as a model writes them: a host, a path, maybe parameters; no characters that end a sentence. */
const word = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/);
const urlArb = fc
  .record({
    host: fc.domain(),
    path: fc.array(word, { maxLength: 3 }),
    params: fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), word), { maxLength: 2 }),
  })
  .map(({ host, path, params }) => {
    const query = params.filter(([k]) => !k.startsWith('utm')).map(([k, v]) => `${k}=${v}`);
    return `https://${host}/${path.join('/')}${query.length ? `?${query.join('&')}` : ''}`;
  });
const written = (url: string, form: number, label: string) =>
  [`[${label}](${url})`, `<${url}|${label}>`, `<${url}>`, `${url}.`, `(${url})`, `**${url}**`, `${url}, `][form]!;
/** The same page as another agent might have recorded it: other host case, a fragment, a slash, tracking. */
const variant = (url: string) => {
  const parsed = new URL(url);
  parsed.hostname = parsed.hostname.toUpperCase();
  parsed.searchParams.append('utm_campaign', 'x');
  parsed.hash = 'section';
  return parsed.toString().replace(/\?/, '/?');
};

describe('properties', () => {
  it('every URL written in any supported form is found, and is retrieved exactly when the ledger holds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(urlArb, fc.nat(6), fc.boolean()), { minLength: 1, maxLength: 6 }),
        fc.stringMatching(/^[A-Za-z ]{0,12}$/),
        (cited, label) => {
          const ledger = new RunSourceLedger();
          for (const [url, , seen] of cited) if (seen) ledger.record(variant(url), 'fetched');
          const text = cited.map(([url, form]) => `Claim. ${written(url, form, label)}`).join('\n');
          const found = citedUrls(text);
          const keys = (urls: string[]) => [...new Set(urls.map(normalizeSourceUrl))];
          expect(keys(found)).toEqual(keys(cited.map(([url]) => url)));
          const retrieved = new Set(cited.filter(([, , seen]) => seen).map(([url]) => normalizeSourceUrl(url)));
          for (const check of checkSources(found, ledger.entries())) {
            expect(check.retrieved).toBe(retrieved.has(normalizeSourceUrl(check.url)));
          }
        },
      ),
    );
  });

  it('normalizing twice changes nothing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          urlArb,
          urlArb.map(variant),
          fc.constantFrom(
            'https://e.example/a%20b/?q=a+b&q=c#f',
            'HTTP://E.example:80/x/?utm_source=a&b=%2F',
            'https://user@e.example/~x/(y)?',
            'https://[2001:db8::1]:8443/p/?z&a=',
            'https://xn--bcher-kva.example/',
          ),
        ),
        (u) => {
          expect(normalizeSourceUrl(normalizeSourceUrl(u))).toBe(normalizeSourceUrl(u));
        },
      ),
    );
  });
});
