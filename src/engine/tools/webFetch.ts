/**
 * The web_fetch tool's core: one page fetched safely (public addresses only, checked after DNS and on
 * every redirect, the connection pinned to the checked address, size and time limits, text only) and
 * handed back as Markdown. Never throws for a bad page: every failure is `{ ok: false, reason }`.
 */

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { allowSet, checkHost, type Resolver, systemResolver } from './addressPolicy.js';
import { isTextType, pageToMarkdown } from './pageToMarkdown.js';

export interface FetchPolicy {
  /** The body is cut at this size, and the result says it was cut. */
  maxBytes: number;
  /** The whole request, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Exact host names or IPs that may be reached even when private (ORCHESTRATE_FETCH_ALLOW_HOSTS). */
  allowHosts: readonly string[];
  /** The Markdown handed back is cut to this, with a marker saying so. */
  maxMarkdownChars: number;
}

export type FetchResult =
  | {
      ok: true;
      url: string;
      finalUrl: string;
      title: string | null;
      markdown: string;
      truncated: boolean;
      contentType: string;
      bytes: number;
    }
  | { ok: false; url: string; reason: string };

const USER_AGENT = 'OrchestrateForSlack/0.1 (web_fetch; +https://github.com/orchestrate-for-slack)';
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The cache key for a URL: host in lower case, no fragment, nothing else changed or sorted. */
export function normalizeUrl(url: string): string {
  try {
    const parsed = new URL(url.trim());
    parsed.hash = '';
    parsed.hostname = parsed.hostname.toLowerCase();
    return parsed.toString();
  } catch {
    return url.trim();
  }
}

/** The URL when it may be fetched at all (scheme, no credentials), else why not. */
function checkUrl(text: string): URL | string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'refused: this is not a valid absolute URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `refused: only http and https URLs are fetched, not ${parsed.protocol}`;
  }
  if (parsed.username || parsed.password) return 'refused: URLs carrying credentials (user:password@) are not fetched';
  return parsed;
}

/** A lookup that answers every question with the address already checked, so the socket goes there. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function send(target: URL, address: string, family: 4 | 6, signal: AbortSignal): Promise<IncomingMessage> {
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        agent: false,
        signal,
        lookup: pinnedLookup(address, family),
        headers: {
          'user-agent': USER_AGENT,
          accept: 'text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,*/*;q=0.1',
          'accept-encoding': 'gzip, deflate, br',
        },
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

/** The body decoded from its content-encoding, or null for an encoding we do not read. */
function decoded(res: IncomingMessage): Readable | null {
  const encoding = (res.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity' || encoding === '') return res;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : null;
  return decoder ? pipeline(res, decoder, () => {}) : null;
}

/** Reads at most `maxBytes` of the body, then closes the connection. */
async function readBody(
  res: IncomingMessage,
  body: Readable,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ data: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const onAbort = () => {
    res.destroy(signal.reason);
    body.destroy(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = maxBytes - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    body.destroy();
    res.destroy();
  }
  signal.throwIfAborted();
  return { data: Buffer.concat(chunks, size), truncated };
}

function charsetOf(contentTypeHeader: string, data: Buffer): string {
  const fromHeader = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentTypeHeader)?.[1];
  if (fromHeader) return fromHeader;
  const head = data.subarray(0, 2048).toString('latin1');
  return /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ?? 'utf-8';
}

function decodeText(data: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(data);
  } catch {
    return new TextDecoder('utf-8').decode(data);
  }
}

/** The content type when none was sent: HTML or plain text by a look at the bytes, null when binary. */
function sniff(data: Buffer): string | null {
  const head = data.subarray(0, 1024);
  if (head.includes(0)) return null;
  return /^\s*<(?:!doctype html|html|head|body)/i.test(head.toString('latin1')) ? 'text/html' : 'text/plain';
}

function cutMarkdown(markdown: string, max: number, bodyCut: number | null): { text: string; cut: boolean } {
  let text = markdown;
  let cut = false;
  if (text.length > max) {
    text = `${text.slice(0, max)}\n\n[… cut: the page continues past ${max} characters]`;
    cut = true;
  } else if (bodyCut !== null) {
    text = `${text}\n\n[… cut: the page is longer than ${bodyCut} bytes; only its start was read]`;
  }
  return { text, cut: cut || bodyCut !== null };
}

type Outcome = Omit<Extract<FetchResult, { ok: true }>, 'url' | 'ok'> | { reason: string };

async function fetchWithin(url: string, policy: FetchPolicy, signal: AbortSignal, resolve: Resolver): Promise<Outcome> {
  const allowed = allowSet(policy.allowHosts);
  let current = url;
  let from: string | null = null;
  for (let hop = 0; ; hop++) {
    const after = from ? ` (after a redirect from ${from})` : '';
    const target = checkUrl(current);
    if (typeof target === 'string') return { reason: `${target}${after}` };
    const host = await checkHost(target.hostname, allowed, resolve, signal);
    if (!host.ok) return { reason: `${host.reason}${after}` };
    const res = await send(target, host.address, host.family, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.has(status) && location) {
      res.destroy();
      if (hop >= policy.maxRedirects) return { reason: `gave up: more than ${policy.maxRedirects} redirects` };
      from = target.toString();
      current = new URL(location, target).toString();
      continue;
    }
    if (status < 200 || status >= 300) {
      res.destroy();
      return { reason: `the server answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}` };
    }
    const header = res.headers['content-type'] ?? '';
    const declared = header.split(';')[0]!.trim().toLowerCase();
    if (declared && !isTextType(declared)) {
      res.destroy();
      return { reason: `refused: the content type ${declared} is not text` };
    }
    const body = decoded(res);
    if (!body) {
      res.destroy();
      return { reason: `refused: the content encoding ${res.headers['content-encoding']} is not supported` };
    }
    const { data, truncated } = await readBody(res, body, policy.maxBytes, signal);
    const contentType = declared || sniff(data);
    if (!contentType) return { reason: 'refused: the page sent no content type and looks binary' };
    const finalUrl = target.toString();
    const page = await pageToMarkdown(decodeText(data, charsetOf(header, data)), contentType, finalUrl);
    const cut = cutMarkdown(page.markdown, policy.maxMarkdownChars, truncated ? policy.maxBytes : null);
    return {
      finalUrl,
      title: page.title,
      markdown: cut.text,
      truncated: cut.cut,
      contentType,
      bytes: data.length,
    };
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
    return message ? `${error.code} (${message})` : error.code;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Fetches one page under `policy`. `signal` is the caller's: its abort ends the fetch at once.
 * `resolve` stands in for DNS in tests.
 */
export async function fetchPage(
  url: string,
  policy: FetchPolicy,
  signal?: AbortSignal,
  resolve: Resolver = systemResolver,
): Promise<FetchResult> {
  let timeout: AbortSignal | undefined;
  try {
    if (signal?.aborted) return { ok: false, url, reason: 'cancelled: the fetch was aborted by its caller' };
    timeout = AbortSignal.timeout(policy.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const outcome = await fetchWithin(url, policy, combined, resolve);
    return 'reason' in outcome ? { ok: false, url, reason: outcome.reason } : { ok: true, url, ...outcome };
  } catch (error) {
    if (signal?.aborted) return { ok: false, url, reason: 'cancelled: the fetch was aborted by its caller' };
    if (timeout?.aborted)
      return { ok: false, url, reason: `timed out: no complete answer within ${policy.timeoutMs} ms` };
    return { ok: false, url, reason: `the fetch failed: ${describe(error)}` };
  }
}
