/**
 * The text of a file people added as context: plain text, Markdown, CSV and PDF (through pdfjs),
 * or, for anything else, the reason it cannot be read, in words that name the file. No I/O but
 * the bytes given; pdfjs is loaded the first time a PDF is read.
 */
import { createRequire } from 'node:module';

/** Larger files are refused before they are downloaded: their text would be cut to a fraction anyway. */
export const FILE_MAX_BYTES = 10 * 1024 * 1024;

export type FileKind = 'text' | 'markdown' | 'csv' | 'pdf';

export interface FileInput {
  name: string;
  mimetype: string;
  bytes: Uint8Array;
}

export interface ReadOptions {
  /** Bytes a file may have; FILE_MAX_BYTES unless said. */
  maxBytes?: number;
  /** Text past this is not extracted (a PDF stops at the page that reaches it), and the result says it was cut. */
  maxChars?: number;
  signal?: AbortSignal;
}

export type FileText = { ok: true; kind: FileKind; text: string; truncated: boolean } | { ok: false; reason: string };

const EXTENSIONS: Record<string, FileKind> = {
  txt: 'text',
  text: 'text',
  log: 'text',
  md: 'markdown',
  markdown: 'markdown',
  csv: 'csv',
  tsv: 'csv',
  pdf: 'pdf',
};
const MIMETYPES: Record<string, FileKind> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/csv': 'csv',
  'text/tab-separated-values': 'csv',
  'application/csv': 'csv',
  'application/pdf': 'pdf',
};
export const SUPPORTED_KINDS = 'plain text, Markdown, CSV or PDF';

const extensionOf = (name: string) => /\.([a-z0-9]{1,10})$/i.exec(name)?.[1]?.toLowerCase() ?? '';

/**
 * What a file is, by its name first: Slack labels many text files application/octet-stream, and a
 * Markdown file text/plain. The mimetype decides only for a name without a known extension.
 */
export function kindOf(name: string, mimetype: string): FileKind | null {
  return EXTENSIONS[extensionOf(name)] ?? MIMETYPES[mimetype.split(';')[0]!.trim().toLowerCase()] ?? null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A file name as people see it in a reason: quoted, on one line, never a wall of text. */
export function shownName(name: string): string {
  const flat = name.replace(/\s+/g, ' ').trim() || 'a file without a name';
  return `"${flat.length > 80 ? `${flat.slice(0, 79)}…` : flat}"`;
}

export function tooBig(name: string, size: number, limit: number): string {
  return `${shownName(name)} is ${formatBytes(size)}, over the ${formatBytes(limit)} limit for one file.`;
}

export function unsupported(name: string, mimetype: string): string {
  const ext = extensionOf(name);
  const what = ext ? `.${ext} files` : mimetype ? `Files of type ${mimetype}` : 'Files of this kind';
  return `${shownName(name)}: ${what} cannot be read. Add ${SUPPORTED_KINDS}, or paste the text in the notes.`;
}

export async function extractText(file: FileInput, options: ReadOptions = {}): Promise<FileText> {
  const { name, mimetype, bytes } = file;
  const maxBytes = options.maxBytes ?? FILE_MAX_BYTES;
  const maxChars = options.maxChars ?? Number.POSITIVE_INFINITY;
  if (bytes.length > maxBytes) return { ok: false, reason: tooBig(name, bytes.length, maxBytes) };
  const kind = kindOf(name, mimetype);
  if (!kind) return { ok: false, reason: unsupported(name, mimetype) };
  if (bytes.length === 0) return { ok: false, reason: `${shownName(name)} is empty.` };
  if (kind === 'pdf') return pdfText(name, bytes, maxChars, options.signal);
  const text = decodeText(bytes);
  if (text === null) {
    return {
      ok: false,
      reason: `${shownName(name)} does not look like text (it holds binary data), so it cannot be read.`,
    };
  }
  const clean = text.replace(/\r\n?/g, '\n').trim();
  if (!clean) return { ok: false, reason: `${shownName(name)} has no text in it.` };
  return { ok: true, kind, text: clean.slice(0, maxChars), truncated: clean.length > maxChars };
}

/** Share of control characters above which a "text" file is taken for binary data. */
const CONTROL_SHARE = 0.01;

/**
 * UTF-8 (or UTF-16 with its byte-order mark), else Windows-1252, which is what spreadsheets on
 * Windows still export CSV in. Null for binary data: a NUL byte or many control characters.
 */
function decodeText(bytes: Uint8Array): string | null {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = new TextDecoder('utf-16le').decode(bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = new TextDecoder('utf-16be').decode(bytes);
  else {
    if (bytes.includes(0)) return null;
    try {
      // Decoding drops a UTF-8 byte-order mark by itself.
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = windows1252(bytes);
    }
  }
  const sample = text.slice(0, 65_536);
  let controls = 0;
  for (let i = 0; i < sample.length; i++) {
    const code = sample.charCodeAt(i);
    // Tab, line feed, form feed and carriage return are text; the other C0 controls are not.
    if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) controls++;
  }
  return controls > sample.length * CONTROL_SHARE ? null : text;
}

/**
 * Node's own 'windows-1252' decoder is Latin-1 (nodejs/node#56542): 0x80-0x9F come out as C1
 * controls instead of €, quotes and dashes. Those 32 are mapped here; the rest of Latin-1 agrees.
 */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

function windows1252(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    const chunk = bytes.subarray(i, i + 8192);
    out += String.fromCharCode(...chunk).replace(/[\u0080-\u009f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);
  }
  return out;
}

// ---- PDF ---------------------------------------------------------------------------------------

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | null = null;

/**
 * pdfjs builds a DOMMatrix when its module loads, and gets one from the optional @napi-rs/canvas
 * package; where that package is missing (it ships prebuilt for some platforms only) the import
 * itself would throw. Reading text never draws, so a plain affine matrix is enough there.
 */
class AffineMatrix {
  a = 1;
  b = 0;
  c = 0;
  d = 1;
  e = 0;
  f = 0;
  constructor(init?: ArrayLike<number>) {
    if (init && init.length >= 6) {
      const [a = 1, b = 0, c = 0, d = 1, e = 0, f = 0] = Array.from(init);
      Object.assign(this, { a, b, c, d, e, f });
    }
  }
  multiplySelf(m: AffineMatrix): this {
    const { a, b, c, d, e, f } = this;
    this.a = a * m.a + c * m.b;
    this.b = b * m.a + d * m.b;
    this.c = a * m.c + c * m.d;
    this.d = b * m.c + d * m.d;
    this.e = a * m.e + c * m.f + e;
    this.f = b * m.e + d * m.f + f;
    return this;
  }
  preMultiplySelf(m: AffineMatrix): this {
    const copy = new AffineMatrix([m.a, m.b, m.c, m.d, m.e, m.f]).multiplySelf(this);
    Object.assign(this, { a: copy.a, b: copy.b, c: copy.c, d: copy.d, e: copy.e, f: copy.f });
    return this;
  }
  translateSelf(x = 0, y = 0): this {
    return this.multiplySelf(new AffineMatrix([1, 0, 0, 1, x, y]));
  }
  scaleSelf(x = 1, y = x): this {
    return this.multiplySelf(new AffineMatrix([x, 0, 0, y, 0, 0]));
  }
  invertSelf(): this {
    const { a, b, c, d, e, f } = this;
    const det = a * d - b * c;
    Object.assign(this, { a: d / det, b: -b / det, c: -c / det, d: a / det });
    Object.assign(this, { e: -(this.a * e + this.c * f), f: -(this.b * e + this.d * f) });
    return this;
  }
}

function loadPdfJs(): Promise<PdfJs> {
  pdfjs ??= (async () => {
    const global = globalThis as Record<string, unknown>;
    if (!global.DOMMatrix) {
      try {
        createRequire(import.meta.url)('@napi-rs/canvas');
      } catch {
        global.DOMMatrix = AffineMatrix;
      }
    }
    const lib = await import('pdfjs-dist/legacy/build/pdf.mjs');
    // pdfjs runs its parser in this thread when it finds the worker module here: no worker file
    // is looked up by path, which breaks once the app is bundled or run from another directory.
    const workerPath: string = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
    global.pdfjsWorker ??= await import(workerPath);
    return lib;
  })();
  return pdfjs;
}

async function pdfText(name: string, bytes: Uint8Array, maxChars: number, signal?: AbortSignal): Promise<FileText> {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024));
  if (!head.includes('%PDF-'))
    return { ok: false, reason: `${shownName(name)} is not a PDF (it does not start like one).` };
  if (signal?.aborted) return { ok: false, reason: `${shownName(name)} took too long to read.` };
  const lib = await loadPdfJs();
  const task = lib.getDocument({
    // pdfjs takes the buffer over: give it a copy, so the caller's bytes stay whole.
    data: bytes.slice(),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    useWorkerFetch: false,
    isOffscreenCanvasSupported: false,
    enableXfa: false,
    verbosity: 0,
  });
  const stop = () => void task.destroy();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const doc = await task.promise;
    const pages: string[] = [];
    let length = 0;
    let truncated = false;
    for (let n = 1; n <= doc.numPages; n++) {
      if (signal?.aborted) return { ok: false, reason: `${shownName(name)} took too long to read.` };
      if (length >= maxChars) {
        truncated = true;
        break;
      }
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const lines = content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('');
      page.cleanup();
      const clean = lines.replace(/[ \t]+\n/g, '\n').trim();
      if (clean) {
        pages.push(clean);
        length += clean.length + 2;
      }
    }
    const text = pages.join('\n\n');
    if (!text.replace(/\s/g, '')) {
      return {
        ok: false,
        reason: `${shownName(name)} has no text layer (a scan, or images only). Run it through OCR, or paste the text in the notes.`,
      };
    }
    return { ok: true, kind: 'pdf', text: text.slice(0, maxChars), truncated: truncated || text.length > maxChars };
  } catch (error) {
    if (signal?.aborted) return { ok: false, reason: `${shownName(name)} took too long to read.` };
    const kind = (error as { name?: string }).name;
    if (kind === 'PasswordException') {
      return { ok: false, reason: `${shownName(name)} is protected by a password. Remove it and add the file again.` };
    }
    return { ok: false, reason: `${shownName(name)} is not a PDF that can be read (it is damaged or not a PDF).` };
  } finally {
    signal?.removeEventListener('abort', stop);
    await task.destroy().catch(() => undefined);
  }
}
