/**
 * Configuration, read once at start and validated with zod. A missing or wrong setting
 * becomes one ConfigError line naming the setting and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { createPricer } from './engine/money/pricing.js';
import { ConfigError } from './errors.js';
import { commaList, jsonSetting, positiveInt, positiveNumber } from './settingSchemas.js';
import { ToolEnvSchema, type ToolSettings, toolSettingProblems, toolSettingsFrom } from './toolSettings.js';

export { ConfigError };

/** Slack user ids (U… or W…), comma-separated; a name or an email would silently match nobody. */
const userIds = commaList.refine((ids) => ids.every((id) => /^[UW][A-Z0-9]{2,}$/.test(id)), {
  message:
    "must be Slack user ids such as U012ABCDEF, comma-separated (a profile's ⋮ menu → Copy member ID), not names or emails",
});

const PriceSchema = z.object({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
  cacheReadPerMTok: z.number().nonnegative().optional(),
  cacheWritePerMTok: z.number().nonnegative().optional(),
});
export type ConfiguredPrice = z.infer<typeof PriceSchema>;

const EnvSchema = z
  .object({
    SLACK_SIGNING_SECRET: z.string({ error: 'is missing' }).min(1, 'is empty'),
    SLACK_BOT_TOKEN: z.string({ error: 'is missing' }).regex(/^xoxb-/, 'must be a bot token starting with xoxb-'),
    SLACK_APP_TOKEN: z
      .string()
      .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
      .optional(),
    SLACK_API_URL: z.url('must be a URL such as https://slack.com/api/').default('https://slack.com/api/'),
    PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(3000),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
    LLM_PROVIDER: z.enum(['openai', 'anthropic'], { error: 'must be "openai" or "anthropic"' }).default('openai'),
    LLM_MODEL: z.string().min(1).optional(),
    LLM_MAX_OUTPUT_TOKENS: positiveInt(2048),
    LLM_PLAN_MAX_OUTPUT_TOKENS: positiveInt(8192),
    LLM_TIMEOUT_MS: positiveInt(120_000),
    OPENAI_API_KEY: z.string().min(1).optional(),
    OPENAI_BASE_URL: z.url('must be a URL such as https://api.openai.com/v1').optional(),
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    ANTHROPIC_BASE_URL: z.url('must be a URL such as https://api.anthropic.com').optional(),
    ORCHESTRATE_APPROVERS: userIds,
    ORCHESTRATE_DEFAULT_BUDGET_USD: positiveNumber(2),
    ORCHESTRATE_MAX_BUDGET_USD: positiveNumber(50),
    ORCHESTRATE_MAX_PARALLEL: positiveInt(4),
    ORCHESTRATE_STEP_ATTEMPTS: positiveInt(3),
    ORCHESTRATE_RETRY_BASE_MS: positiveInt(2000),
    ORCHESTRATE_PROCESS_EVERY_MS: positiveInt(5000),
    ORCHESTRATE_LOCK_LIFETIME_MS: positiveInt(10 * 60_000),
    ORCHESTRATE_PAUSE_HOURS: positiveNumber(24),
    ORCHESTRATE_CLARIFY: z.enum(['on', 'off'], { error: 'must be "on" or "off"' }).default('on'),
    ORCHESTRATE_SLACK_PACE_MS: z.coerce.number({ error: 'must be a number' }).int().min(0).default(1000),
    ORCHESTRATE_SLACK_COALESCE_MS: z.coerce.number({ error: 'must be a number' }).int().min(0).default(1500),
    ORCHESTRATE_PRICES_FILE: z.string().optional(),
    ORCHESTRATE_PRICES: jsonSetting(
      z.record(z.string(), PriceSchema),
      '{"my-model":{"inputPerMTok":1,"outputPerMTok":2}}',
      'each model needs numeric inputPerMTok and outputPerMTok (USD per million tokens)',
    ),
    ADMIN_USER: z
      .string()
      .regex(/^[^:]+$/, 'must not contain ":"')
      .optional(),
    ADMIN_PASSWORD: z
      .string()
      .min(12, 'must be at least 12 characters (it guards write access to the job queue)')
      .optional(),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .extend(ToolEnvSchema.shape)
  .superRefine((env, ctx) => {
    for (const [setting, message] of toolSettingProblems(env))
      ctx.addIssue({ code: 'custom', path: [setting], message });
    // A job's lock is renewed every third of its lifetime while it runs; one call must still fit
    // in a lifetime, so that a missed renewal (a database blip) never lets a second instance
    // start the same plan or step while the first one's call is still out.
    if (env.LLM_TIMEOUT_MS >= env.ORCHESTRATE_LOCK_LIFETIME_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ORCHESTRATE_LOCK_LIFETIME_MS'],
        message: `must be longer than LLM_TIMEOUT_MS (${env.LLM_TIMEOUT_MS} ms), so that one LLM call fits in a job's lock`,
      });
    }
    if (env.LLM_PROVIDER === 'openai' && !env.OPENAI_API_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['OPENAI_API_KEY'],
        message: 'is missing (LLM_PROVIDER is openai; any non-empty value works for a local OpenAI-compatible server)',
      });
    }
    if (env.LLM_PROVIDER === 'anthropic' && !env.ANTHROPIC_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['ANTHROPIC_API_KEY'], message: 'is missing (LLM_PROVIDER is anthropic)' });
    }
    if (env.ADMIN_USER && !env.ADMIN_PASSWORD) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PASSWORD'],
        message: 'is missing (ADMIN_USER is set: the dashboard needs both, or neither)',
      });
    }
    if (env.ADMIN_PASSWORD && !env.ADMIN_USER) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_USER'],
        message: 'is missing (ADMIN_PASSWORD is set: the dashboard needs both, or neither)',
      });
    }
    if (env.ORCHESTRATE_DEFAULT_BUDGET_USD > env.ORCHESTRATE_MAX_BUDGET_USD) {
      ctx.addIssue({
        code: 'custom',
        path: ['ORCHESTRATE_DEFAULT_BUDGET_USD'],
        message: `must not exceed ORCHESTRATE_MAX_BUDGET_USD (${env.ORCHESTRATE_MAX_BUDGET_USD})`,
      });
    }
  });

const HINTS: Record<string, string> = {
  SLACK_SIGNING_SECRET: 'copy it from your Slack app: Basic Information → App Credentials → Signing Secret',
  SLACK_BOT_TOKEN: 'copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions after installing the app',
  SLACK_APP_TOKEN: 'create an app-level token with connections:write under Basic Information, or unset it to use HTTP',
};

export interface Config {
  slack: { signingSecret: string; botToken: string; appToken: string | null; apiUrl: string };
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
  budget: { defaultUsd: number; maxUsd: number };
  engine: {
    maxParallel: number;
    stepAttempts: number;
    retryBaseMs: number;
    processEveryMs: number;
    lockLifetimeMs: number;
  };
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
  const model = e.LLM_MODEL ?? (openai ? 'gpt-4o-mini' : 'claude-sonnet-4-5');
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
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN ?? null,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
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
    budget: { defaultUsd: e.ORCHESTRATE_DEFAULT_BUDGET_USD, maxUsd: e.ORCHESTRATE_MAX_BUDGET_USD },
    engine: {
      maxParallel: e.ORCHESTRATE_MAX_PARALLEL,
      stepAttempts: e.ORCHESTRATE_STEP_ATTEMPTS,
      retryBaseMs: e.ORCHESTRATE_RETRY_BASE_MS,
      processEveryMs: e.ORCHESTRATE_PROCESS_EVERY_MS,
      lockLifetimeMs: e.ORCHESTRATE_LOCK_LIFETIME_MS,
    },
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
    llm.apiKey,
    admin?.password,
    searchKey,
    ...mcpSecrets,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 6);
}
