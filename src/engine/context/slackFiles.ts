/**
 * A file's bytes from Slack, with the bot token: files.info for what the file is, then its private
 * download URL. The token is sent only to Slack's own file host (or the configured API host, which
 * is how tests reach a fake), redirects included, and never appears in a reason or a log line.
 */
import { WebClient } from '@slack/web-api';
import { FILE_MAX_BYTES, formatBytes, kindOf, shownName, tooBig, unsupported } from './fileText.js';

export type SlackFile =
  | { ok: true; id: string; name: string; mimetype: string; bytes: Uint8Array }
  | { ok: false; id: string; name: string; reason: string };

export interface FetchOptions {
  /** What the person saw in the form, used to name the file when Slack will not say. */
  name?: string;
  maxBytes?: number;
  signal?: AbortSignal;
}

/** Redirects followed from the download URL; Slack itself uses at most one. */
const MAX_REDIRECTS = 2;

interface FileInfo {
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  mode?: string;
  is_external?: boolean;
  url_private?: string;
  url_private_download?: string;
}

/** Why files.info said no, in words a person can act on. */
const INFO_ERRORS: Record<string, string> = {
  file_not_found: 'Slack says the file no longer exists.',
  file_deleted: 'the file was deleted.',
  missing_scope: 'the app lacks the files:read permission; an admin must add it and reinstall the app.',
  not_authed: 'Slack refused the app’s token.',
  invalid_auth: 'Slack refused the app’s token.',
  access_denied: 'the app has no access to this file.',
};

/**
 * Where the token may go: https on files.slack.com, or files.<the API's host> (GovSlack and the
 * like), or the configured API URL's own origin, whatever its scheme (a fake on 127.0.0.1).
 */
export function isSlackFileUrl(url: URL, slackApiUrl: string): boolean {
  const api = new URL(slackApiUrl);
  if (url.origin === api.origin) return true;
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  return url.hostname === 'files.slack.com' || url.hostname === `files.${api.hostname}`;
}

/**
 * A client of its own for the one files.info call: a form's answer is due within three seconds,
 * so no retries and no waiting out a rate limit (the listener's client may retry for minutes).
 */
function oneShotClient(client: WebClient, timeoutMs: number): WebClient {
  return new WebClient(client.token, {
    slackApiUrl: client.slackApiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: timeoutMs,
  });
}

export async function fetchSlackFile(client: WebClient, id: string, options: FetchOptions = {}): Promise<SlackFile> {
  const maxBytes = options.maxBytes ?? FILE_MAX_BYTES;
  let name = options.name ?? id;
  const refuse = (reason: string): SlackFile => ({ ok: false, id, name, reason });
  const token = client.token;
  if (!token) return refuse(`${shownName(name)} could not be fetched: the app has no bot token to ask Slack with.`);

  let file: FileInfo;
  try {
    const answer = await oneShotClient(client, 5_000).files.info({ file: id });
    file = (answer.file ?? {}) as FileInfo;
  } catch (error) {
    const code = (error as { data?: { error?: string }; code?: string }).data?.error;
    const why = code ? (INFO_ERRORS[code] ?? `Slack answered ${code}.`) : 'Slack did not answer.';
    return refuse(`${shownName(name)} could not be fetched: ${why}`);
  }
  name = file.name || file.title || name;
  const mimetype = file.mimetype ?? '';
  if (file.is_external || file.mode === 'external') {
    return refuse(`${shownName(name)} is a link to a file kept outside Slack. Download it and add the file itself.`);
  }
  if (file.mode === 'hidden_by_limit') {
    return refuse(`${shownName(name)} is hidden by the workspace's file storage limit, so it cannot be read.`);
  }
  // Refused before the download: no bytes are fetched for a file that would be refused anyway.
  if (!kindOf(name, mimetype)) return refuse(unsupported(name, mimetype));
  if (typeof file.size === 'number' && file.size > maxBytes) return refuse(tooBig(name, file.size, maxBytes));
  const url = file.url_private_download ?? file.url_private;
  if (!url) return refuse(`${shownName(name)} could not be fetched: Slack gave no download address for it.`);

  const downloaded = await download(url, token, client.slackApiUrl, maxBytes, options.signal);
  if ('reason' in downloaded) return refuse(`${shownName(name)} ${downloaded.reason}`);
  return { ok: true, id, name, mimetype, bytes: downloaded.bytes };
}

type Downloaded = { bytes: Uint8Array } | { reason: string };

async function download(
  start: string,
  token: string,
  slackApiUrl: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Downloaded> {
  let url: URL;
  try {
    url = new URL(start);
  } catch {
    return { reason: 'could not be fetched: Slack gave a download address that is not a URL.' };
  }
  for (let hop = 0; ; hop++) {
    if (!isSlackFileUrl(url, slackApiUrl)) {
      return { reason: `could not be fetched: its download leads to ${url.host}, which is not Slack's file host.` };
    }
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${token}` },
        redirect: 'manual',
        ...(signal ? { signal } : {}),
      });
    } catch {
      return {
        reason: signal?.aborted ? 'took too long to download.' : 'could not be downloaded: Slack did not answer.',
      };
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (!location || hop >= MAX_REDIRECTS) {
        return { reason: 'could not be downloaded: Slack sent it on through too many redirects.' };
      }
      url = new URL(location, url);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      const denied = response.status === 401 || response.status === 403;
      return {
        reason: denied
          ? `could not be downloaded: Slack refused the app access to it (HTTP ${response.status}).`
          : `could not be downloaded: Slack answered HTTP ${response.status}.`,
      };
    }
    // Slack answers a token it will not honour with its sign-in page, status 200, not with an error.
    if ((response.headers.get('content-type') ?? '').startsWith('text/html')) {
      await response.body?.cancel();
      return { reason: 'could not be downloaded: Slack answered with its sign-in page instead of the file.' };
    }
    return readCapped(response, maxBytes, signal);
  }
}

/** The body, stopped as soon as it passes the limit, whatever Content-Length claimed. */
async function readCapped(response: Response, maxBytes: number, signal?: AbortSignal): Promise<Downloaded> {
  const over = () => ({ reason: `is over the ${formatBytes(maxBytes)} limit for one file.` });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    return over();
  }
  if (!response.body) return { bytes: new Uint8Array() };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        return over();
      }
      chunks.push(value);
    }
  } catch {
    return {
      reason: signal?.aborted ? 'took too long to download.' : 'could not be downloaded: the transfer broke off.',
    };
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes };
}
