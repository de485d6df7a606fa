/**
 * Checks the bot token with Slack once at start (auth.test), so that a wrong or revoked token
 * stops the app with one line instead of failing every request later, and hands Bolt the
 * bot's identity so that it does not ask again (its own check, left to itself, can crash the
 * process with an unhandled rejection).
 */
import { WebClient } from '@slack/web-api';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

export interface BotIdentity {
  botUserId: string;
  botId: string;
  /** The workspace the token belongs to: with one workspace, every document's. */
  teamId: string;
  enterpriseId: string | null;
}

/** Slack's answers that mean the token itself is wrong: retrying will not help. */
const REFUSALS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'no_permission',
]);

export function slackRefusal(error: unknown): string | null {
  const code = (error as { data?: { error?: string } } | null)?.data?.error;
  return code && REFUSALS.has(code) ? code : null;
}

/** The bot's identity, or null when Slack could not be reached (the app starts anyway, and says so). */
export async function verifyBotToken(botToken: string, config: Config, logger: Logger): Promise<BotIdentity | null> {
  const client = new WebClient(botToken, {
    slackApiUrl: config.slack.apiUrl,
    logger,
    timeout: 10_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2000 },
  });
  try {
    const res = await client.auth.test();
    return {
      botUserId: res.user_id ?? '',
      botId: res.bot_id ?? '',
      teamId: res.team_id ?? '',
      enterpriseId: res.enterprise_id || null,
    };
  } catch (error) {
    const refusal = slackRefusal(error);
    if (refusal) {
      throw new ConfigError(
        `Configuration error: SLACK_BOT_TOKEN was refused by Slack (${refusal}) — copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions, and reinstall the app if it was revoked. See README.md → Configuration.`,
      );
    }
    logger.warn(
      `Could not reach Slack at ${config.slack.apiUrl} to check SLACK_BOT_TOKEN (${(error as Error).message}); starting anyway. Check the network or SLACK_API_URL.`,
    );
    return null;
  }
}
