/**
 * Sorting Slack Web API failures: the ones that may pass by themselves (network, 5xx, a rate
 * limit past the client's window) are worth retrying the job for; the rest are Slack's refusal.
 */
import { ErrorCode } from '@slack/web-api';

const TRANSIENT_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/** Slack's answers to a post that mean the bot cannot post in that channel. */
export const CHANNEL_REFUSALS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);

export function isTransientSlackError(error: unknown): boolean {
  const e = error as { code?: string; data?: { error?: string }; message?: string } | null;
  if (!e) return false;
  if (e.code === ErrorCode.RequestError || e.code === ErrorCode.HTTPError || e.code === ErrorCode.RateLimitedError) {
    return true;
  }
  if (e.code === ErrorCode.PlatformError) return TRANSIENT_PLATFORM_ERRORS.has(e.data?.error ?? '');
  // What the client throws once its retries for a 429 are spent.
  return /rate limit was exceeded/i.test(e.message ?? '');
}
