import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretsOf } from '../src/config.js';

const base = {
  SLACK_SIGNING_SECRET: 'secret',
  SLACK_BOT_TOKEN: 'xoxb-1-2-3',
  OPENAI_API_KEY: 'sk-test',
};

const errorOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies defaults: HTTP on 3000, slack.com, OpenAI gpt-4o-mini, embedded database', () => {
    const c = loadConfig(base);
    expect(c.port).toBe(3000);
    expect(c.slack.apiUrl).toBe('https://slack.com/api/');
    expect(c.slack.appToken).toBeNull();
    expect(c.llm).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'sk-test', baseUrl: null });
    expect(c.mongodbUri).toBeNull();
  });

  it('reads approvers, budgets and the Anthropic provider', () => {
    const c = loadConfig({
      ...base,
      LLM_PROVIDER: 'anthropic',
      ANTHROPIC_API_KEY: 'ak',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/',
      ORCHESTRATE_APPROVERS: 'U01, W02,,',
      ORCHESTRATE_DEFAULT_BUDGET_USD: '3',
      SLACK_API_URL: 'http://127.0.0.1:1/api',
    });
    expect(c.llm).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      apiKey: 'ak',
      baseUrl: 'http://127.0.0.1:9/',
    });
    expect(c.approvers).toEqual(['U01', 'W02']);
    expect(c.budget.defaultUsd).toBe(3);
    // The SDK adds /v1/messages: a base copied with /v1 is taken as meant.
    expect(
      loadConfig({
        ...base,
        LLM_PROVIDER: 'anthropic',
        ANTHROPIC_API_KEY: 'ak',
        ANTHROPIC_BASE_URL: 'https://proxy.example/anthropic/v1/',
      }).llm.baseUrl,
    ).toBe('https://proxy.example/anthropic');
    expect(c.slack.apiUrl).toBe('http://127.0.0.1:1/api/');
  });

  it('stops with one line naming a missing setting and how to fix it', () => {
    const message = errorOf({ SLACK_SIGNING_SECRET: 's', OPENAI_API_KEY: 'k' });
    expect(message).toMatch(/^Configuration error: SLACK_BOT_TOKEN is missing/);
    expect(message).toContain('OAuth & Permissions');
    expect(message).not.toContain('\n');
  });

  describe('OAuth distribution', () => {
    const oauth = {
      SLACK_SIGNING_SECRET: 's',
      OPENAI_API_KEY: 'k',
      SLACK_CLIENT_ID: '1111.2222',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'a-state-secret-of-some-length',
    };

    it('serves many workspaces without a bot token when all three settings are there', () => {
      const c = loadConfig(oauth);
      expect(c.slack.botToken).toBeNull();
      expect(c.slack.oauth).toEqual({
        clientId: '1111.2222',
        clientSecret: 'client-secret',
        stateSecret: 'a-state-secret-of-some-length',
      });
      expect(secretsOf(c)).toEqual(expect.arrayContaining(['client-secret', 'a-state-secret-of-some-length']));
    });

    it('names the missing one when only part of OAuth is set', () => {
      const { SLACK_STATE_SECRET: _, ...partial } = oauth;
      const message = errorOf(partial);
      expect(message).toMatch(
        /^Configuration error: SLACK_STATE_SECRET is missing \(SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: OAuth needs all three\) — any random string/,
      );
      expect(message).not.toContain('\n');
    });

    it('refuses a bot token or Socket Mode beside OAuth, and a client id that is not one', () => {
      expect(errorOf({ ...oauth, SLACK_BOT_TOKEN: 'xoxb-1' })).toMatch(
        /^Configuration error: SLACK_BOT_TOKEN must be unset with OAuth/,
      );
      expect(errorOf({ ...oauth, SLACK_APP_TOKEN: 'xapp-1' })).toMatch(
        /^Configuration error: SLACK_APP_TOKEN must be unset with OAuth/,
      );
      expect(errorOf({ ...oauth, SLACK_CLIENT_ID: 'my-app' })).toMatch(/SLACK_CLIENT_ID must be the Client ID/);
      expect(errorOf({ ...oauth, SLACK_STATE_SECRET: 'short' })).toMatch(
        /SLACK_STATE_SECRET must be at least 16 characters/,
      );
    });
  });

  it('names a wrong setting', () => {
    expect(errorOf({ ...base, SLACK_BOT_TOKEN: 'xoxp-user' })).toMatch(
      /SLACK_BOT_TOKEN must be a bot token starting with xoxb-/,
    );
    expect(errorOf({ ...base, PORT: 'eighty' })).toMatch(/PORT must be a port number/);
    expect(errorOf({ ...base, LLM_PROVIDER: 'gemini' })).toMatch(/LLM_PROVIDER must be "openai" or "anthropic"/);
    expect(errorOf({ ...base, ORCHESTRATE_DEFAULT_BUDGET_USD: '-2' })).toMatch(
      /ORCHESTRATE_DEFAULT_BUDGET_USD must be greater than 0/,
    );
    expect(errorOf({ ...base, ORCHESTRATE_PRICES: '{oops' })).toMatch(/ORCHESTRATE_PRICES must be JSON/);
    expect(errorOf({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-1', LLM_PROVIDER: 'anthropic' })).toMatch(
      /ANTHROPIC_API_KEY is missing/,
    );
    expect(errorOf({ ...base, ORCHESTRATE_APPROVERS: 'U012ABCDEF, alice@example.com' })).toMatch(
      /^Configuration error: ORCHESTRATE_APPROVERS must be Slack user ids such as U012ABCDEF/,
    );
  });

  it('reads prices from a file, and names an unreadable one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prices-'));
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ 'my-model': { inputPerMTok: 1, outputPerMTok: 2 } }));
    expect(loadConfig({ ...base, ORCHESTRATE_PRICES_FILE: file }).prices).toEqual({
      'my-model': { inputPerMTok: 1, outputPerMTok: 2 },
    });
    expect(errorOf({ ...base, ORCHESTRATE_PRICES_FILE: join(dir, 'missing.json') })).toMatch(
      /ORCHESTRATE_PRICES_FILE cannot be read/,
    );
  });

  it('never puts a secret in its message', () => {
    const message = errorOf({ ...base, SLACK_SIGNING_SECRET: 'hunter2-signing', PORT: 'x' });
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('xoxb-1-2-3');
  });

  it('refuses a lock lifetime that one LLM call could outlast, naming both settings', () => {
    expect(errorOf({ ...base, LLM_TIMEOUT_MS: '60000', ORCHESTRATE_LOCK_LIFETIME_MS: '30000' })).toMatch(
      /ORCHESTRATE_LOCK_LIFETIME_MS must be longer than LLM_TIMEOUT_MS \(60000 ms\)/,
    );
  });

  it('turns each tool on only when configured, and says which setting a tool is missing', () => {
    expect(loadConfig(base).tools).toMatchObject({ search: null, fetch: null, mcpServers: {}, maxToolCalls: 8 });
    expect(errorOf({ ...base, ORCHESTRATE_SEARCH_PROVIDER: 'tavily' })).toMatch(
      /^Configuration error: TAVILY_API_KEY is missing/,
    );
    expect(errorOf({ ...base, ORCHESTRATE_SEARCH_PROVIDER: 'searxng' })).toMatch(/ORCHESTRATE_SEARCH_URL is missing/);
    expect(errorOf({ ...base, ORCHESTRATE_MCP_SERVERS: '{"files": {"cmd": "x"}}' })).toMatch(
      /ORCHESTRATE_MCP_SERVERS needs, for each server name/,
    );
    const c = loadConfig({
      ...base,
      ORCHESTRATE_WEB_FETCH: 'on',
      ORCHESTRATE_FETCH_ALLOW_HOSTS: '127.0.0.1, localhost',
      ORCHESTRATE_MCP_SERVERS:
        '{"notes":{"url":"http://127.0.0.1:9/mcp","headers":{"Authorization":"Bearer mcp-secret-1"}}}',
    });
    expect(c.tools.fetch?.allowHosts).toEqual(['127.0.0.1', 'localhost']);
    expect(secretsOf(c)).toContain('Bearer mcp-secret-1');
  });

  it('lists the models people may pick, the default first, and refuses one without a price', () => {
    expect(loadConfig({ ...base, ORCHESTRATE_MODELS: 'gpt-4o, gpt-4o-mini' }).llm.models).toEqual([
      'gpt-4o-mini',
      'gpt-4o',
    ]);
    expect(errorOf({ ...base, ORCHESTRATE_MODELS: 'my-own-model' })).toMatch(
      /ORCHESTRATE_MODELS names my-own-model, which has no known price; add it to ORCHESTRATE_PRICES/,
    );
  });
});
