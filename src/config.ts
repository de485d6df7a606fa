/**
 * Configuration, read once at start and validated with zod. A missing or wrong setting
 * becomes one ConfigError line naming the setting and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { type ConfiguredPrice, DEFAULT_MODEL, EnvSchema } from './configSchema.js';
import { createPricer } from './engine/money/pricing.js';
import { ConfigError } from './errors.js';
import { type ToolSettings, toolSettingsFrom } from './toolSettings.js';

export type { ConfiguredPrice };
export { ConfigError };

const HINTS: Record<string, string> = {
  SLACK_SIGNING_SECRET: 'copy it from your Slack app: Basic Information → App Credentials → Signing Secret',
  SLACK_BOT_TOKEN: 'copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions after installing the app',
  SLACK_CLIENT_SECRET: 'copy it from Basic Information → App Credentials → Client Secret',
  SLACK_STATE_SECRET: 'any random string of 16 characters or more, e.g. the output of openssl rand -hex 24',
  SLACK_APP_TOKEN: 'create an app-level token with connections:write under Basic Information, or unset it to use HTTP',
};

export interface Config {
  slack: {
    signingSecret: string;
    /** One workspace's token; null with OAuth, where each workspace's comes from its installation. */
    botToken: string | null;
    appToken: string | null;
    apiUrl: string;
    /** Distribution through OAuth (many workspaces); null for one workspace on SLACK_BOT_TOKEN. */
    oauth: { clientId: string; clientSecret: string; stateSecret: string } | null;
  };
  port: number;
  mongodbUri: string | null;
  llm: {
    provider: 'openai' | 'anthropic';
    model: string;
    maxOutputTokens: number;
    /** The CEO agent's answer is the whole plan as JSON: it needs more room than a step's. */
    planMaxOutputTokens: number;
    timeoutMs: number;
    apiKey: string;
    baseUrl: string | null;
    /** The models people may pick per role (ORCHESTRATE_MODELS), the default model first; each has a price. */
    models: string[];
  };
  tools: ToolSettings;
  approvers: string[];
  budget: { defaultUsd: number; maxUsd: number; questionUsd: number };
  engine: {
    maxParallel: number;
    stepAttempts: number;
    retryBaseMs: number;
    processEveryMs: number;
    lockLifetimeMs: number;
  };
  /** Finished orchestrations older than this many days are deleted; null keeps everything. */
  retentionDays: number | null;
  steering: {
    /** A run paused for people after its discussion goes on by itself after this long. */
    pauseHours: number;
    /** The CEO agent may ask clarifying questions before it plans an ambiguous goal. */
    clarify: boolean;
  };
  slackPacing: {
    /** Least time between two posts in one channel (Slack: about one a second); workspace-wide updates 1.2× that. */
    paceMs: number;
    /** Least time between two updates of one message, however many changes arrive. */
    coalesceMs: number;
  };
  prices: Record<string, ConfiguredPrice>;
  /** The operators' job dashboard at /admin/jobs: off (null) unless both are set. */
  admin: { user: string; password: string } | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable in a .env file means "not set", not "set to the empty string".
  const cleaned: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  if (cleaned.ORCHESTRATE_PRICES_FILE && !cleaned.ORCHESTRATE_PRICES) {
    try {
      cleaned.ORCHESTRATE_PRICES = readFileSync(cleaned.ORCHESTRATE_PRICES_FILE, 'utf8');
    } catch {
      throw new ConfigError(
        `Configuration error: ORCHESTRATE_PRICES_FILE cannot be read (${cleaned.ORCHESTRATE_PRICES_FILE}); point it at a JSON price file or unset it. See README.md → Configuration.`,
      );
    }
  }
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    const hint = HINTS[name] && /missing|xox|xapp|empty/.test(issue.message) ? ` — ${HINTS[name]}` : '';
    throw new ConfigError(`Configuration error: ${name} ${issue.message}${hint}. See README.md → Configuration.`);
  }
  const e = result.data;
  const openai = e.LLM_PROVIDER === 'openai';
  const model = e.LLM_MODEL ?? DEFAULT_MODEL[e.LLM_PROVIDER];
  const models = [...new Set([model, ...e.ORCHESTRATE_MODELS])];
  for (const m of models) {
    try {
      createPricer(m, e.ORCHESTRATE_PRICES);
    } catch {
      const setting = m === model ? 'LLM_MODEL' : 'ORCHESTRATE_MODELS';
      throw new ConfigError(
        `Configuration error: ${setting} names ${m}, which has no known price; add it to ORCHESTRATE_PRICES, e.g. {"${m}":{"inputPerMTok":1,"outputPerMTok":2}} (USD per million tokens), so that budgets can be enforced. See README.md → Configuration.`,
      );
    }
  }
  return {
    slack: {
      signingSecret: e.SLACK_SIGNING_SECRET,
      botToken: e.SLACK_BOT_TOKEN ?? null,
      appToken: e.SLACK_APP_TOKEN ?? null,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      oauth:
        e.SLACK_CLIENT_ID && e.SLACK_CLIENT_SECRET && e.SLACK_STATE_SECRET
          ? { clientId: e.SLACK_CLIENT_ID, clientSecret: e.SLACK_CLIENT_SECRET, stateSecret: e.SLACK_STATE_SECRET }
          : null,
    },
    port: e.PORT,
    mongodbUri: e.MONGODB_URI ?? null,
    llm: {
      provider: e.LLM_PROVIDER,
      model,
      maxOutputTokens: e.LLM_MAX_OUTPUT_TOKENS,
      planMaxOutputTokens: e.LLM_PLAN_MAX_OUTPUT_TOKENS,
      timeoutMs: e.LLM_TIMEOUT_MS,
      apiKey: (openai ? e.OPENAI_API_KEY : e.ANTHROPIC_API_KEY)!,
      // The Anthropic SDK appends /v1/messages itself: a base that already ends in /v1 would 404.
      baseUrl: (openai ? e.OPENAI_BASE_URL : e.ANTHROPIC_BASE_URL?.replace(/\/v1\/?$/, '')) ?? null,
      models,
    },
    tools: toolSettingsFrom(e),
    approvers: e.ORCHESTRATE_APPROVERS,
    budget: {
      defaultUsd: e.ORCHESTRATE_DEFAULT_BUDGET_USD,
      maxUsd: e.ORCHESTRATE_MAX_BUDGET_USD,
      questionUsd: e.ORCHESTRATE_QUESTION_BUDGET_USD,
    },
    engine: {
      maxParallel: e.ORCHESTRATE_MAX_PARALLEL,
      stepAttempts: e.ORCHESTRATE_STEP_ATTEMPTS,
      retryBaseMs: e.ORCHESTRATE_RETRY_BASE_MS,
      processEveryMs: e.ORCHESTRATE_PROCESS_EVERY_MS,
      lockLifetimeMs: e.ORCHESTRATE_LOCK_LIFETIME_MS,
    },
    retentionDays: e.ORCHESTRATE_RETENTION_DAYS ?? null,
    steering: { pauseHours: e.ORCHESTRATE_PAUSE_HOURS, clarify: e.ORCHESTRATE_CLARIFY === 'on' },
    slackPacing: { paceMs: e.ORCHESTRATE_SLACK_PACE_MS, coalesceMs: e.ORCHESTRATE_SLACK_COALESCE_MS },
    prices: e.ORCHESTRATE_PRICES,
    admin: e.ADMIN_USER && e.ADMIN_PASSWORD ? { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD } : null,
    logLevel: e.LOG_LEVEL,
  };
}

/** Values that must never reach a log line. */
export function secretsOf(config: Config): string[] {
  const { slack, llm, admin, tools } = config;
  const searchKey = tools.search?.provider === 'tavily' ? tools.search.apiKey : null;
  // MCP headers and environments carry tokens (Authorization, API keys): none may be logged.
  const mcpSecrets = Object.values(tools.mcpServers).flatMap((s) => Object.values('headers' in s ? s.headers : s.env));
  return [
    slack.signingSecret,
    slack.botToken,
    slack.appToken,
    slack.oauth?.clientSecret,
    slack.oauth?.stateSecret,
    llm.apiKey,
    admin?.password,
    searchKey,
    ...mcpSecrets,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 6);
}
