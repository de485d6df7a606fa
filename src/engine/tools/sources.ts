/**
 * Verified sources, the pure half: what one run really retrieved (search results seen, pages fetched),
 * the URLs a text cites, and each citation marked retrieved or not, so that no source is ever shown
 * as checked unless this run looked at it.
 */

/** How a URL reached the run: listed in search results the model saw, or read with web_fetch. */
export type SourceKind = 'search' | 'fetched';

export interface RetrievedSource {
  /** The URL as first seen (for display); matching always goes through `normalizeSourceUrl`. */
  url: string;
  kinds: SourceKind[];
  title: string | null;
}

/**
 * The URLs retrieved in one run. Tools record into it as they go; it is plain data, so the engine can
 * store `entries()` with the run and rebuild a ledger from them in the next step's job.
 */
export interface SourceLedger {
  record(url: string, kind: SourceKind, title?: string | null): void;
  entries(): RetrievedSource[];
}

export interface SourceCheck {
  /** As cited in the text. */
  url: string;
  retrieved: boolean;
  /** How the run got it; empty when not retrieved. */
  kinds: SourceKind[];
  title: string | null;
}

/** Query parameters that only say where a click came from; a page is the same page without them. */
const TRACKING_PARAM = /^(?:utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|_gl)$/i;

/**
 * The form two URLs of one page share: scheme and host in lower case, no fragment, no trailing slash,
 * no tracking parameters, the other parameters sorted. Text that is not a URL is only trimmed.
 */
export function normalizeSourceUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return url.trim();
  }
  parsed.hash = '';
  for (const key of [...parsed.searchParams.keys()]) if (TRACKING_PARAM.test(key)) parsed.searchParams.delete(key);
  parsed.searchParams.sort();
  const text = parsed.toString();
  const cut = parsed.search ? text.length - parsed.search.length : text.length;
  const base = text.slice(0, cut).replace(/\/+$/, '');
  return parsed.search ? `${base}${parsed.search}` : base;
}

/** A ledger held in memory for one run, optionally resumed from entries stored by an earlier step. */
export class RunSourceLedger implements SourceLedger {
  private readonly byKey = new Map<string, RetrievedSource>();

  constructor(stored: readonly RetrievedSource[] = []) {
    for (const entry of stored) for (const kind of entry.kinds) this.record(entry.url, kind, entry.title);
  }

  record(url: string, kind: SourceKind, title: string | null = null): void {
    const key = normalizeSourceUrl(url);
    if (!/^https?:\/\//i.test(key)) return;
    const known = this.byKey.get(key);
    if (!known) {
      this.byKey.set(key, { url: url.trim(), kinds: [kind], title: title || null });
      return;
    }
    if (!known.kinds.includes(kind)) known.kinds.push(kind);
    if (!known.title && title) known.title = title;
  }

  entries(): RetrievedSource[] {
    return [...this.byKey.values()].map((entry) => ({ ...entry, kinds: [...entry.kinds] }));
  }
}

/** Characters that end a URL in running text: white space, and what Markdown and Slack wrap links in. */
const URL_IN_TEXT = /https?:\/\/(?:\[[0-9a-f:.]+\])?[^\s<>"`|[\]{}]*/gi;
const TRAILING_PUNCTUATION = /[.,;:!?*_~'"]$/;

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/** A URL found in prose, without the punctuation and closing brackets that belong to the sentence. */
function trimUrl(found: string): string {
  let url = found.replace(/&amp;/g, '&');
  for (;;) {
    if (TRAILING_PUNCTUATION.test(url)) url = url.slice(0, -1);
    else if (url.endsWith(')') && count(url, ')') > count(url, '(')) url = url.slice(0, -1);
    else return url;
  }
}

/**
 * The http(s) URLs a Markdown or Slack text cites, each once, in order of first appearance: Markdown
 * links and autolinks, Slack's `<url|text>`, reference definitions and bare URLs alike.
 */
export function citedUrls(markdown: string): string[] {
  const seen = new Set<string>();
  const cited: string[] = [];
  for (const match of markdown.matchAll(URL_IN_TEXT)) {
    const url = trimUrl(match[0]);
    if (!/^https?:\/\/[^/?#]+/i.test(url)) continue;
    const key = normalizeSourceUrl(url);
    if (seen.has(key)) continue;
    seen.add(key);
    cited.push(url);
  }
  return cited;
}

/** Each cited URL marked retrieved when the run saw it in search results or fetched it, else not. */
export function checkSources(cited: readonly string[], retrieved: readonly RetrievedSource[]): SourceCheck[] {
  const byKey = new Map<string, RetrievedSource>();
  for (const entry of retrieved) {
    const key = normalizeSourceUrl(entry.url);
    const known = byKey.get(key);
    byKey.set(key, known ? { ...known, kinds: [...new Set([...known.kinds, ...entry.kinds])] } : entry);
  }
  return cited.map((url) => {
    const hit = byKey.get(normalizeSourceUrl(url));
    return { url, retrieved: Boolean(hit), kinds: hit ? [...hit.kinds] : [], title: hit?.title ?? null };
  });
}

/** How many cited URLs this run did not retrieve: the number shown on the deliverable. */
export function unverifiedCount(checks: readonly SourceCheck[]): number {
  return checks.filter((check) => !check.retrieved).length;
}
