/**
 * What web_fetch hands the model from a page's text: the main content of HTML as Markdown (Readability
 * over a linkedom DOM, then turndown, the whole body when Readability finds nothing), other text as is.
 * The three libraries are loaded at the first HTML page, not at start (linkedom alone is about 10 MB).
 */
import type { Readability } from '@mozilla/readability';
import type TurndownService from 'turndown';

export interface PageText {
  title: string | null;
  markdown: string;
}

/** The content types web_fetch reads; everything else (images, PDFs, archives, octet streams) is refused. */
export function isTextType(contentType: string): boolean {
  return (
    contentType.startsWith('text/') ||
    /^application\/(?:[\w.-]+\+)?(?:json|xml)$/.test(contentType) ||
    ['application/javascript', 'application/ecmascript', 'application/x-ndjson'].includes(contentType)
  );
}

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

const importHtmlLibraries = () => Promise.all([import('@mozilla/readability'), import('linkedom'), import('turndown')]);
let htmlLibraries: ReturnType<typeof importHtmlLibraries> | undefined;

/** Readability, linkedom and turndown, imported once, on first use (a failed import is tried again next time). */
function loadHtmlLibraries(): ReturnType<typeof importHtmlLibraries> {
  if (!htmlLibraries) {
    htmlLibraries = importHtmlLibraries().catch((error: unknown) => {
      htmlLibraries = undefined;
      throw error;
    });
  }
  return htmlLibraries;
}

function turndown(Service: typeof TurndownService): TurndownService {
  const service = new Service({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
  service.remove(['script', 'style', 'noscript', 'iframe', 'object', 'embed', 'template']);
  return service;
}

function clean(text: string | null | undefined): string | null {
  const trimmed = text?.replace(/\s+/g, ' ').trim();
  return trimmed ? trimmed : null;
}

/** Main content of an HTML page as Markdown, with its title. */
export async function htmlToMarkdown(html: string, url: string): Promise<PageText> {
  const [{ Readability }, { parseHTML }, { default: Turndown }] = await loadHtmlLibraries();
  const { document } = parseHTML(html);
  const pageTitle = clean(document.title);
  let article: ReturnType<Readability['parse']> = null;
  try {
    // Readability reads the base URL to make links absolute; linkedom leaves it empty.
    Object.defineProperty(document, 'baseURI', { value: url, configurable: true });
    Object.defineProperty(document, 'documentURI', { value: url, configurable: true });
    article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse();
  } catch {
    article = null;
  }
  const title = clean(article?.title) ?? pageTitle;
  const service = turndown(Turndown);
  const main = article?.content && clean(article.textContent) ? service.turndown(article.content) : '';
  if (main.trim()) return { title, markdown: main.trim() };
  // Readability found nothing: the whole body, freshly parsed since Readability changed the first DOM.
  const body = parseHTML(html).document.body?.innerHTML ?? html;
  return { title, markdown: service.turndown(body).trim() };
}

/** The first `# heading` of a Markdown document, as its title. */
function markdownTitle(text: string): string | null {
  return clean(/^#\s+(.+)$/m.exec(text)?.[1]);
}

/** A page's text as Markdown, by its content type (already known to be text). */
export async function pageToMarkdown(text: string, contentType: string, url: string): Promise<PageText> {
  if (HTML_TYPES.has(contentType)) return htmlToMarkdown(text, url);
  if (contentType === 'text/markdown' || contentType === 'text/x-markdown') {
    return { title: markdownTitle(text), markdown: text };
  }
  return { title: null, markdown: text };
}
