/**
 * The settings of agents' tools and models (web search, web fetch, MCP servers, the tool loop's
 * bounds, the models people may pick per role): a fragment of the configuration schema in
 * config.ts, kept apart because it is a concept of its own. Each tool is on only when configured.
 */
import { z } from 'zod';
import { commaList, jsonSetting, positiveInt } from './settingSchemas.js';

const McpServerSchema = z.union([
  z.strictObject({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
  }),
  z.strictObject({
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
  }),
]);
export type McpServerSetting = z.infer<typeof McpServerSchema>;

const MCP_EXAMPLE = '{"files":{"command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","/data"]}}';

/** The tools' settings, each with its line in the README's reference (see EnvSchema in configSchema.ts). */
export const ToolEnvSchema = z.object({
  ORCHESTRATE_STEP_MAX_TOOL_CALLS: positiveInt(8).describe(
    'Tool calls one step may make; then it answers with what it has.',
  ),
  ORCHESTRATE_TOOL_RESULT_MAX_CHARS: positiveInt(12_000).describe(
    'A tool result is cut to this, with a marker saying so.',
  ),
  ORCHESTRATE_STEP_TIME_LIMIT_MS: positiveInt(5 * 60_000).describe("Wall-clock limit of one step's tool loop."),
  ORCHESTRATE_SEARCH_PROVIDER: z
    .enum(['tavily', 'searxng'], { error: 'must be "tavily" or "searxng" (unset: no web_search tool)' })
    .optional()
    .describe('`tavily` or `searxng` turns on the `web_search` tool. Unset: no search.'),
  TAVILY_API_KEY: z.string().min(1).optional().meta({ description: 'For `tavily`.', shownDefault: '' }),
  ORCHESTRATE_SEARCH_URL: z.url('must be a URL such as http://searxng.internal:8080').optional().meta({
    description:
      "SearXNG: your instance's URL (its `json` format must be enabled). Tavily: another API base (tests use a fake).",
    shownDefault: '',
  }),
  ORCHESTRATE_WEB_FETCH: z
    .enum(['on', 'off'], { error: 'must be "on" or "off"' })
    .default('off')
    .describe('`on` turns on the `web_fetch` tool.'),
  ORCHESTRATE_FETCH_ALLOW_HOSTS: commaList.describe(
    'Hosts or IPs `web_fetch` may reach even though they are private (comma-separated). The only way to allow one.',
  ),
  ORCHESTRATE_FETCH_MAX_BYTES: positiveInt(2 * 1024 * 1024).describe(
    'A page is cut at this size; a fetch, redirects included, gives up after this long.',
  ),
  ORCHESTRATE_FETCH_TIMEOUT_MS: positiveInt(15_000).meta({ documentedWith: 'ORCHESTRATE_FETCH_MAX_BYTES' }),
  ORCHESTRATE_MCP_SERVERS: jsonSetting(
    z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/), McpServerSchema),
    MCP_EXAMPLE,
    'needs, for each server name (lower case, digits, - or _), either {"command","args","env"} (stdio) or {"url","headers"} (streamable HTTP)',
  ).describe(
    'MCP servers as JSON: a name → `{"command","args","env"}` (stdio) or `{"url","headers"}` (streamable HTTP).',
  ),
  ORCHESTRATE_MODELS: commaList.describe(
    'Models people may pick per role (comma-separated), besides `LLM_MODEL`. Each needs a price.',
  ),
  ORCHESTRATE_CONTEXT_MAX_CHARS: positiveInt(40_000).describe(
    'Added files and notes are given to every step, cut to this.',
  ),
});
type ToolEnv = z.infer<typeof ToolEnvSchema>;

export interface ToolSettings {
  /** Tool calls one step may make before it must answer with what it has. */
  maxToolCalls: number;
  /** A tool result is cut to this many characters, with a marker saying so. */
  resultMaxChars: number;
  /** Wall-clock limit of one step's tool loop. */
  stepTimeLimitMs: number;
  search: { provider: 'tavily'; apiKey: string; url: string | null } | { provider: 'searxng'; url: string } | null;
  fetch: { allowHosts: string[]; maxBytes: number; timeoutMs: number } | null;
  mcpServers: Record<string, McpServerSetting>;
  /** Added files and notes given to every step are cut to this many characters. */
  contextMaxChars: number;
}

/** Cross-field checks, added to the configuration's own: [setting, message]. */
export function toolSettingProblems(env: ToolEnv): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (env.ORCHESTRATE_SEARCH_PROVIDER === 'tavily' && !env.TAVILY_API_KEY)
    problems.push(['TAVILY_API_KEY', 'is missing (ORCHESTRATE_SEARCH_PROVIDER is tavily; get one at tavily.com)']);
  if (env.ORCHESTRATE_SEARCH_PROVIDER === 'searxng' && !env.ORCHESTRATE_SEARCH_URL)
    problems.push([
      'ORCHESTRATE_SEARCH_URL',
      "is missing (ORCHESTRATE_SEARCH_PROVIDER is searxng: your instance's URL)",
    ]);
  return problems;
}

export function toolSettingsFrom(env: ToolEnv): ToolSettings {
  const search =
    env.ORCHESTRATE_SEARCH_PROVIDER === 'tavily'
      ? { provider: 'tavily' as const, apiKey: env.TAVILY_API_KEY!, url: env.ORCHESTRATE_SEARCH_URL ?? null }
      : env.ORCHESTRATE_SEARCH_PROVIDER === 'searxng'
        ? { provider: 'searxng' as const, url: env.ORCHESTRATE_SEARCH_URL! }
        : null;
  return {
    maxToolCalls: env.ORCHESTRATE_STEP_MAX_TOOL_CALLS,
    resultMaxChars: env.ORCHESTRATE_TOOL_RESULT_MAX_CHARS,
    stepTimeLimitMs: env.ORCHESTRATE_STEP_TIME_LIMIT_MS,
    search,
    fetch:
      env.ORCHESTRATE_WEB_FETCH === 'on'
        ? {
            allowHosts: env.ORCHESTRATE_FETCH_ALLOW_HOSTS,
            maxBytes: env.ORCHESTRATE_FETCH_MAX_BYTES,
            timeoutMs: env.ORCHESTRATE_FETCH_TIMEOUT_MS,
          }
        : null,
    mcpServers: env.ORCHESTRATE_MCP_SERVERS,
    contextMaxChars: env.ORCHESTRATE_CONTEXT_MAX_CHARS,
  };
}
