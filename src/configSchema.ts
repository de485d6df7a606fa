/**
 * The configuration's settings as one zod schema: each setting's shape, the words a wrong value is
 * refused in, its documentation (the README's reference is rendered from it) and the checks
 * across settings. config.ts reads the environment with it.
 */
import { z } from 'zod';
import { commaList, jsonSetting, positiveInt, positiveNumber } from './settingSchemas.js';
import { ToolEnvSchema, toolSettingProblems } from './toolSettings.js';

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

/** The model each provider runs on when LLM_MODEL is unset. */
export const DEFAULT_MODEL = { openai: 'gpt-4o-mini', anthropic: 'claude-sonnet-4-5' } as const;

/**
 * Every setting, each with its documentation: `.describe()` is its line in the README's reference
 * (configReference.ts renders it, `npm run docs:config` writes it); `.meta()` adds `shownDefault`
 * where parsing nothing cannot show the default, or `documentedWith` to share another setting's row.
 */
export const EnvSchema = z
  .object({
    SLACK_SIGNING_SECRET: z
      .string({ error: 'is missing' })
      .min(1, 'is empty')
      .describe('Verifies that requests come from Slack.'),
    SLACK_BOT_TOKEN: z
      .string()
      .regex(/^xoxb-/, 'must be a bot token starting with xoxb-')
      .optional()
      .meta({
        description:
          'Bot token, `xoxb-…`: one workspace. Leave it unset to serve many workspaces through OAuth (`SLACK_CLIENT_ID`).',
        shownDefault: 'required without OAuth',
      }),
    SLACK_CLIENT_ID: z
      .string()
      .regex(
        /^\d+\.\d+$/,
        'must be the Client ID from Basic Information → App Credentials, such as 1234567890.1234567890',
      )
      .optional()
      .meta({
        description:
          "All three set: distribution through OAuth. Each workspace installs at `GET /slack/install`; Slack comes back to `/slack/oauth_redirect`; installations are kept in MongoDB and jobs take their workspace's token from them. HTTP mode only, and `SLACK_BOT_TOKEN` unset. The state secret signs the install link's state cookie: any long random string.",
        shownDefault: 'unset',
      }),
    SLACK_CLIENT_SECRET: z.string().min(1).optional().meta({ documentedWith: 'SLACK_CLIENT_ID' }),
    SLACK_STATE_SECRET: z
      .string()
      .min(16, "must be at least 16 characters (it signs the install link's state)")
      .optional()
      .meta({ documentedWith: 'SLACK_CLIENT_ID' }),
    SLACK_APP_TOKEN: z
      .string()
      .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
      .optional()
      .describe('App-level token `xapp-…`: when set, Socket Mode; otherwise HTTP.'),
    SLACK_API_URL: z
      .url('must be a URL such as https://slack.com/api/')
      .default('https://slack.com/api/')
      .describe('Web API base (GovSlack, proxies, tests).'),
    PORT: z.coerce
      .number({ error: 'must be a port number' })
      .int()
      .min(0)
      .max(65535)
      .default(3000)
      .describe('HTTP mode: Slack requests at `POST /slack/events`, `GET /healthz` answers 200 once ready.'),
    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional()
      .describe('MongoDB connection string. Unset: embedded in-memory database, data not kept.'),
    LLM_PROVIDER: z
      .enum(['openai', 'anthropic'], { error: 'must be "openai" or "anthropic"' })
      .default('openai')
      .describe('`openai` or `anthropic`.'),
    LLM_MODEL: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'Model name. It must have a known price (see `ORCHESTRATE_PRICES`).',
        shownDefault: `\`${DEFAULT_MODEL.openai}\` / \`${DEFAULT_MODEL.anthropic}\``,
      }),
    LLM_MAX_OUTPUT_TOKENS: positiveInt(2048).describe(
      "Max output tokens of every step's call: bounds its worst-case cost.",
    ),
    LLM_PLAN_MAX_OUTPUT_TOKENS: positiveInt(8192).describe(
      'Max output tokens of the CEO agent\'s call, whose answer is the whole plan. A plan cut off at this limit goes back once with "make it shorter".',
    ),
    LLM_TIMEOUT_MS: positiveInt(120_000).describe('Per-call timeout.'),
    OPENAI_API_KEY: z.string().min(1).optional().meta({
      description:
        'Key, and base URL of any OpenAI-compatible server (vLLM, Ollama, LiteLLM, OpenRouter). A local server still needs a non-empty key.',
      shownDefault: '',
    }),
    OPENAI_BASE_URL: z
      .url('must be a URL such as https://api.openai.com/v1')
      .optional()
      .meta({ documentedWith: 'OPENAI_API_KEY' }),
    ANTHROPIC_API_KEY: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'For `LLM_PROVIDER=anthropic`.', shownDefault: '' }),
    ANTHROPIC_BASE_URL: z
      .url('must be a URL such as https://api.anthropic.com')
      .optional()
      .meta({ documentedWith: 'ANTHROPIC_API_KEY' }),
    ORCHESTRATE_APPROVERS: userIds.describe(
      "Comma-separated Slack user ids (`U012ABCDEF`: a profile's ⋮ menu → *Copy member ID*) who may edit, approve or cancel any proposal, besides its requester. Names or emails are refused at start.",
    ),
    ORCHESTRATE_DEFAULT_BUDGET_USD: positiveNumber(2).describe(
      "Budget for planning, and the CEO agent's guide for the proposal's cap.",
    ),
    ORCHESTRATE_MAX_BUDGET_USD: positiveNumber(50).describe("No proposal's cap may exceed this."),
    ORCHESTRATE_QUESTION_BUDGET_USD: positiveNumber(0.25).describe(
      "The most one question asked of a finished run's deliverable may cost; it counts toward the run's spend, under its cap.",
    ),
    ORCHESTRATE_MAX_PARALLEL: positiveInt(4).describe('Steps run at once per process.'),
    ORCHESTRATE_STEP_ATTEMPTS: positiveInt(3).describe(
      'Attempts for a step whose LLM call fails transiently (429, 5xx, timeout).',
    ),
    ORCHESTRATE_RETRY_BASE_MS: positiveInt(2000).describe(
      'First backoff between attempts of an LLM call, and between retries of a job that met infrastructure trouble (Slack or the database unreachable, 8 retries); doubles each time.',
    ),
    ORCHESTRATE_PROCESS_EVERY_MS: positiveInt(5000).describe(
      'How often an instance polls for jobs made by *other* instances.',
    ),
    ORCHESTRATE_LOCK_LIFETIME_MS: positiveInt(10 * 60_000).describe(
      "A dead worker's step is taken over after this long. A running job renews its lock every third of it. Must be longer than `LLM_TIMEOUT_MS`.",
    ),
    ORCHESTRATE_RETENTION_DAYS: z.coerce
      .number({ error: 'must be a number of days' })
      .positive('must be greater than 0')
      .optional()
      .meta({
        description:
          'Finished orchestrations older than this many days are deleted, with their runs, steps, posts and jobs, by a daily job. Unset: keep everything.',
        shownDefault: 'unset',
      }),
    ORCHESTRATE_PAUSE_HOURS: positiveNumber(24).describe(
      'A run paused for people after its discussion starts the work by itself after this many hours without an answer.',
    ),
    ORCHESTRATE_CLARIFY: z
      .enum(['on', 'off'], { error: 'must be "on" or "off"' })
      .default('on')
      .describe('`off`: the CEO agent never asks clarifying questions before planning.'),
    ORCHESTRATE_SLACK_PACE_MS: z.coerce
      .number({ error: 'must be a number' })
      .int()
      .min(0)
      .default(1000)
      .describe(
        "Least time between two posts in one channel (Slack allows about one a second); updates of messages and the thread status, across the workspace, are spaced 1.2× that (about 50 a minute, Slack's tier 3). `0` only for tests.",
      ),
    ORCHESTRATE_SLACK_COALESCE_MS: z.coerce
      .number({ error: 'must be a number' })
      .int()
      .min(0)
      .default(1500)
      .describe(
        'Least time between two updates of one message (the plan message, the run card), however many step events arrive. A change of status is drawn at once, after the update in flight.',
      ),
    ORCHESTRATE_PRICES: jsonSetting(
      z.record(z.string(), PriceSchema),
      '{"my-model":{"inputPerMTok":1,"outputPerMTok":2}}',
      'each model needs numeric inputPerMTok and outputPerMTok (USD per million tokens)',
    ).describe(
      'JSON price overrides in USD per million tokens: `{"my-model":{"inputPerMTok":1,"outputPerMTok":2}}`; optional `cacheReadPerMTok`, `cacheWritePerMTok`. Prices otherwise come from the bundled `@pydantic/genai-prices` table (offline). A model with no price stops the app at start.',
    ),
    ORCHESTRATE_PRICES_FILE: z
      .string()
      .optional()
      .describe('The same JSON, from a file (used when `ORCHESTRATE_PRICES` is unset).'),
    ADMIN_USER: z
      .string()
      .regex(/^[^:]+$/, 'must not contain ":"')
      .optional()
      .describe(
        'Both set: the job dashboard (Agendash) is served at `/admin/jobs/` behind HTTP basic auth (in Socket Mode on its own server on `PORT`). The password must be at least 12 characters; it gives write access to the job queue, so serve it over HTTPS only.',
      ),
    ADMIN_PASSWORD: z
      .string()
      .min(12, 'must be at least 12 characters (it guards write access to the job queue)')
      .optional()
      .meta({ documentedWith: 'ADMIN_USER' }),
    LOG_LEVEL: z
      .enum(['debug', 'info', 'warn', 'error'])
      .default('info')
      .describe('`debug`, `info`, `warn` or `error`. Known secrets and credential-shaped strings are masked in logs.'),
  })
  .extend(ToolEnvSchema.shape)
  .superRefine((env, ctx) => {
    for (const [setting, message] of slackAuthProblems(env)) ctx.addIssue({ code: 'custom', path: [setting], message });
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

type SlackAuthSettings = Partial<
  Record<
    'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN' | 'SLACK_CLIENT_ID' | 'SLACK_CLIENT_SECRET' | 'SLACK_STATE_SECRET',
    string
  >
>;

/**
 * One workspace (a bot token) or many (OAuth), never half of OAuth or both: a token beside OAuth
 * would answer every workspace with the first one's token.
 */
function slackAuthProblems(env: SlackAuthSettings): [string, string][] {
  const oauth = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET'] as const;
  const set = oauth.filter((name) => env[name]);
  if (set.length === 0) {
    return env.SLACK_BOT_TOKEN
      ? []
      : [
          [
            'SLACK_BOT_TOKEN',
            'is missing (or set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET for OAuth)',
          ],
        ];
  }
  const missing = oauth.find((name) => !env[name]);
  if (missing)
    return [[missing, `is missing (${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set: OAuth needs all three)`]];
  if (env.SLACK_BOT_TOKEN) {
    return [
      [
        'SLACK_BOT_TOKEN',
        "must be unset with OAuth (SLACK_CLIENT_ID is set): each workspace's token comes from its installation",
      ],
    ];
  }
  if (env.SLACK_APP_TOKEN) {
    return [
      ['SLACK_APP_TOKEN', 'must be unset with OAuth: installs are served over HTTP (Socket Mode is for one workspace)'],
    ];
  }
  return [];
}
