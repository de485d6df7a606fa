import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { startService } from '../src/server.js';
import { verifyBotToken } from '../src/slackIdentity.js';
import { FakeSlack } from './fakes/fakeSlack.js';

const slack = new FakeSlack({ botUserId: 'UORCH' });
beforeAll(() => slack.start());
afterAll(() => slack.stop());

const warnings: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...m: unknown[]) => void warnings.push(m.map(String).join(' ')),
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => 'info' as never,
  setName: () => undefined,
};
const config = (apiUrl: string) =>
  loadConfig({
    SLACK_SIGNING_SECRET: 's',
    SLACK_BOT_TOKEN: 'xoxb-revoked-token',
    OPENAI_API_KEY: 'k',
    SLACK_API_URL: apiUrl,
    MONGODB_URI: 'mongodb://127.0.0.1:1/x',
  });

describe('the bot token check at start', () => {
  it('learns the bot identity from auth.test', async () => {
    expect(await verifyBotToken('xoxb-revoked-token', config(slack.url), logger)).toEqual({
      botUserId: 'UORCH',
      botId: 'BBOT',
      teamId: 'T1',
      enterpriseId: null,
    });
  });

  it('stops the app with one line naming SLACK_BOT_TOKEN when Slack refuses it, before touching the database', async () => {
    slack.failNext('auth.test', { error: 'invalid_auth' });
    const error = await startService(config(slack.url), { logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^Configuration error: SLACK_BOT_TOKEN was refused by Slack \(invalid_auth\) — copy the Bot User OAuth Token/,
    );
    expect((error as Error).message).not.toContain('xoxb-revoked-token');
    expect((error as Error).message).not.toContain('\n');
  });

  it('starts anyway, with a warning, when Slack cannot be reached', async () => {
    expect(await verifyBotToken('xoxb-revoked-token', config('http://127.0.0.1:9/api/'), logger)).toBeNull();
    expect(
      warnings.some((w) => w.startsWith('Could not reach Slack at http://127.0.0.1:9/api/ to check SLACK_BOT_TOKEN')),
    ).toBe(true);
  });
});
