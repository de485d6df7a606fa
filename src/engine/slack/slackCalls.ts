/**
 * What a failed Slack call means for a message: refused for good, not taken yet (try again), or
 * unknown (it may have landed: look before sending again). And how a landed post is found again:
 * by the key every post carries in its metadata.
 */
import { type ChatPostMessageArguments, ErrorCode, type FilesUploadV2Arguments, type WebClient } from '@slack/web-api';
import { describeError, ErrorCodes, hasCode } from '../../errors.js';
import type { FilePayload, PostPayload, SlackPostDoc } from '../../models/slackPost.js';

export const POST_EVENT_TYPE = 'orchestrate_post';

export type CallFailure =
  | { kind: 'rate_limited'; retryAfterMs: number }
  /** Slack answered: the message was not taken, but may be later (an outage). */
  | { kind: 'transient'; reason: string }
  /** No answer, or a 5xx: the message may have landed. */
  | { kind: 'unknown'; reason: string }
  | { kind: 'refused'; reason: string };

const TRANSIENT_ANSWERS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

export function classifyFailure(error: unknown): CallFailure {
  const e = error as { code?: string; retryAfter?: number; data?: { error?: string } } | null;
  // Uninstalled: no retry will find a token for it.
  if (hasCode(error, ErrorCodes.NotInstalled)) return { kind: 'refused', reason: 'not_installed' };
  if (e?.code === ErrorCode.RateLimitedError) return { kind: 'rate_limited', retryAfterMs: (e.retryAfter ?? 1) * 1000 };
  if (e?.code === ErrorCode.PlatformError) {
    const answer = e.data?.error ?? 'unknown_error';
    return TRANSIENT_ANSWERS.has(answer) ? { kind: 'transient', reason: answer } : { kind: 'refused', reason: answer };
  }
  if (e?.code === ErrorCode.HTTPError || e?.code === ErrorCode.RequestError) {
    return { kind: 'unknown', reason: describeError(error) };
  }
  return { kind: 'unknown', reason: describeError(error) };
}

interface FoundMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: { key?: unknown } };
}

/**
 * The ts of the message carrying `key` in the thread (or, for a top-level post, among the
 * channel's recent messages), or null. Needs the history scopes; without them it finds nothing.
 */
export async function findPosted(
  slack: WebClient,
  where: { channelId: string; threadTs: string | null; since: Date },
  key: string,
): Promise<string | null> {
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const common = { channel: where.channelId, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) };
    const res = where.threadTs
      ? await slack.conversations.replies({ ...common, ts: where.threadTs })
      : await slack.conversations.history({ ...common, oldest: String(Math.floor(where.since.getTime() / 1000) - 60) });
    const found = (res.messages as FoundMessage[] | undefined)?.find(
      (m) => m.metadata?.event_type === POST_EVENT_TYPE && m.metadata.event_payload?.key === key,
    );
    if (found?.ts) return found.ts;
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!res.has_more || !cursor) return null;
  }
  return null;
}

/** Posts a stored message, carrying its key in the metadata so that it can be found again. */
export async function postMessage(slack: WebClient, doc: SlackPostDoc, message: PostPayload): Promise<string> {
  const args = {
    channel: doc.channelId,
    ...(doc.threadTs ? { thread_ts: doc.threadTs } : {}),
    ...(message.broadcast && doc.threadTs ? { reply_broadcast: true } : {}),
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: doc.key } },
    unfurl_links: false,
    unfurl_media: false,
  };
  const res = await slack.chat.postMessage(args as ChatPostMessageArguments);
  return res.ts ?? '';
}

/** Uploads a stored file into its thread (files upload v2: get a URL, send the bytes, complete). */
export async function uploadFile(slack: WebClient, doc: SlackPostDoc, file: FilePayload): Promise<string> {
  const args = {
    channel_id: doc.channelId,
    ...(doc.threadTs ? { thread_ts: doc.threadTs } : {}),
    file: Buffer.from(file.base64, 'base64'),
    filename: file.filename,
    title: file.title,
    ...(file.altText ? { alt_text: file.altText } : {}),
    ...(file.comment ? { initial_comment: file.comment } : {}),
  };
  const res = await slack.filesUploadV2(args as FilesUploadV2Arguments);
  const uploaded = (res as { files?: { files?: { id?: string }[] }[] }).files?.[0]?.files?.[0]?.id;
  return uploaded ?? 'file';
}
