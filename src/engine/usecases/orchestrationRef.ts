/**
 * What `/orchestrate cancel` takes to name an orchestration: its 24-hex id, or a Slack link to its
 * proposal message (or to a reply in that message's thread, which names the same orchestration).
 * Pure.
 */
import { type OrchestrationId, parseOrchestrationId } from '../plan/ids.js';

export type OrchestrationRef =
  | { kind: 'id'; id: OrchestrationId }
  | { kind: 'message'; channelId: string; messageTs: string };

/** A message permalink: https://<workspace>.slack.com/archives/<channel>/p<ts without its dot>[?thread_ts=…]. */
const MESSAGE_LINK = /^https:\/\/[^/\s]+\/archives\/([A-Z0-9_]+)\/p(\d{7,})\/?(?:\?(\S*))?$/i;
const TS = /^\d+\.\d+$/;

/** The ts a permalink's p-number stands for: its last six digits are the fraction. */
function tsOfPermalink(digits: string): string {
  return `${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** The orchestration a token names, or null when it is neither an id nor a message link. */
export function parseOrchestrationRef(token: string): OrchestrationRef | null {
  // Slack wraps links it formats in <…>, with a label after a |.
  const raw = token.trim().replace(/^<([^|>]*)(\|[^>]*)?>$/, '$1');
  const id = parseOrchestrationId(raw.toLowerCase());
  if (id) return { kind: 'id', id };
  const link = MESSAGE_LINK.exec(raw);
  if (!link) return null;
  const [, channelId, digits, query] = link;
  // A reply's link names its thread: the thread's parent is the proposal message.
  const threadTs = new URLSearchParams(query ?? '').get('thread_ts');
  const messageTs = threadTs && TS.test(threadTs) ? threadTs : tsOfPermalink(digits!);
  return { kind: 'message', channelId: channelId!.toUpperCase(), messageTs };
}
