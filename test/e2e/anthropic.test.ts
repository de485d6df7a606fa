/**
 * The whole loop with LLM_PROVIDER=anthropic: signed HTTP to the Bolt app, a fake Slack Web API,
 * a fake Anthropic Messages API (reached through ChatAnthropic's anthropicApiUrl, set from
 * ANTHROPIC_BASE_URL) and the embedded database. Everything is wired through config alone.
 */
import { ChatAnthropic } from '@langchain/anthropic';
import type { AIMessage } from '@langchain/core/messages';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Config, loadConfig } from '../../src/config.js';
import { type EmbeddedServer, startEmbeddedMongo } from '../../src/db.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Run, Step } from '../../src/models/run.js';
import { type RunningService, startService } from '../../src/server.js';
import { FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { FakeSlack } from '../fakes/fakeSlack.js';
import { sampleProposal } from '../fixtures.js';
import {
  blocksText,
  captureLogger,
  eventually,
  findButton,
  scriptedResponder,
  waitForStatus,
} from '../helpers/harness.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../helpers/signedRequests.js';

const SIGNING_SECRET = 'anthropic-test-signing-secret';
const BOT_TOKEN = 'xoxb-anthropic-test-token';
const API_KEY = 'sk-ant-test-key-not-real';
const REQUESTER = 'U_REQUESTER';
const CHANNEL = 'C_ANTHROPIC';
const GOAL =
  'Research the competitive landscape for an offline-first meeting recorder and write a one-page positioning doc';

const scripted = () => scriptedResponder();

let slack: FakeSlack;
let llm: FakeAnthropic;
let mongo: EmbeddedServer;
let config: Config;
let service: RunningService;
let url: string;
const logs: string[] = [];
let commands = 0;

beforeAll(async () => {
  slack = new FakeSlack();
  llm = new FakeAnthropic(scripted());
  await Promise.all([slack.start(), llm.start()]);
  mongo = await startEmbeddedMongo();
  config = loadConfig({
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_URL: slack.url,
    PORT: '0',
    MONGODB_URI: mongo.uri,
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_API_KEY: API_KEY,
    ANTHROPIC_BASE_URL: llm.url,
    LLM_MODEL: 'claude-sonnet-4-5',
    ORCHESTRATE_RETRY_BASE_MS: '20',
    ORCHESTRATE_PROCESS_EVERY_MS: '500',
    LOG_LEVEL: 'warn',
  });
  const logger = captureLogger(logs);
  service = await startService(config, { logger, watchIntervalMs: 100 });
  url = `http://127.0.0.1:${service.port}/slack/events`;
});

afterAll(async () => {
  await service?.stop();
  await mongo?.stop();
  await Promise.all([slack?.stop(), llm?.stop()]);
});

beforeEach(() => {
  llm.responder = scripted();
  llm.delayMs = 0;
});

const threadPosts = (ts: string) => slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ts);
const statusOf = async (id: string) => (await Orchestration.findById(id, { status: 1 }).lean())?.status;

/** Runs /orchestrate and waits for the proposal message; returns its ts, the Approve value and the orchestration id. */
async function propose(goal = GOAL): Promise<{ ts: string; value: string; orchestrationId: string; blocks: string }> {
  const before = slack.callsTo('chat.postMessage').length;
  const res = await sendSlashCommand(url, SIGNING_SECRET, {
    text: goal,
    user_id: REQUESTER,
    channel_id: CHANNEL,
    response_url: slack.responseUrl(`cmd-${++commands}`),
  });
  expect(res.status).toBe(200);
  const posted = await slack.waitFor(
    (c) =>
      c.method === 'chat.postMessage' && !c.args.thread_ts && slack.callsTo('chat.postMessage').indexOf(c) >= before,
    20_000,
  );
  const value = findButton(posted, 'orchestrate.approve')?.value;
  if (!value) throw new Error(`the proposal has no Approve button: ${blocksText(posted).slice(0, 500)}`);
  const orchestrationId = JSON.parse(value).orchestrationId as string;
  const ts = await eventually(
    async () => (await Orchestration.findById(orchestrationId, { messageTs: 1 }).lean())?.messageTs,
    5000,
    'the proposal ts',
  );
  return { ts, value, orchestrationId, blocks: blocksText(posted) };
}

function approve(value: string, ts: string) {
  return sendInteraction(
    url,
    SIGNING_SECRET,
    blockActionPayload({
      userId: REQUESTER,
      channelId: CHANNEL,
      messageTs: ts,
      actionId: 'orchestrate.approve',
      value,
      responseUrl: slack.responseUrl(`click-${++commands}`),
    }),
  );
}

/** Waits until the orchestration has ended with `status` and its closing thread posts (the cost rollup last) are made. */
async function waitForEnd(
  orchestrationId: string,
  status: 'completed' | 'failed',
  timeoutMs = 30_000,
): Promise<OrchestrationDoc> {
  const doc = await waitForStatus(orchestrationId, status, timeoutMs);
  await eventually(
    () => threadPosts(doc.messageTs!).some((c) => blocksText(c).includes('Cost rollup')),
    timeoutMs,
    'the cost rollup post',
  );
  return (await Orchestration.findById(orchestrationId).lean<OrchestrationDoc>())!;
}

describe('LLM_PROVIDER=anthropic: /orchestrate → proposal → Approve → deliverable', () => {
  it('runs the whole loop through the Messages API, with the right limits, and books tokens and cost per step', async () => {
    llm.reset();
    const responder = scripted();
    // One ticket's call is answered partly from the prompt cache.
    llm.responder = (req) =>
      req.user.includes('# Your ticket: Map the competitors')
        ? { text: 'Result of Map the competitors', usage: { input: 400, output: 60, cached: 1200, cacheWrite: 300 } }
        : responder(req);

    const { ts, value, orchestrationId, blocks } = await propose();
    for (const expected of [
      'offline-first meeting recorder',
      'Market analyst',
      'Compare pricing',
      'Draft the positioning',
      '$1.50 max',
      'Approve',
    ]) {
      expect(blocks).toContain(expected);
    }

    // The CEO agent was called once, with its tool forced and room for a whole plan.
    const planning = llm.requests.filter((r) => r.toolName === 'propose_plan');
    expect(planning).toHaveLength(1);
    const plan = planning[0]!;
    expect(plan.body.model).toBe('claude-sonnet-4-5');
    expect(plan.body.tool_choice).toEqual({ type: 'tool', name: 'propose_plan' });
    expect(plan.body.tools?.map((t) => t.name)).toEqual(['propose_plan']);
    expect(plan.body.max_tokens).toBe(config.llm.planMaxOutputTokens);
    expect(plan.body.max_tokens).toBe(8192);
    expect(plan.body.stream).toBe(false);
    expect(plan.apiKey).toBe(API_KEY);
    expect(plan.system).toContain('At most 8 roles and 16 tickets');
    expect(plan.user).toContain('offline-first meeting recorder');
    expect(plan.stopReason).toBe('tool_use');
    const planCalls = llm.requests.length;

    expect((await approve(value, ts)).status).toBe(200);
    const doc = await waitForEnd(orchestrationId, 'completed');
    expect(doc.status).toBe('completed');
    expect(doc.transitions.map((t) => t.to)).toEqual([
      'proposed',
      'approved',
      'executing',
      'synthesizing',
      'completed',
    ]);

    // Every stage shows up in the thread, once.
    const texts = threadPosts(ts).map((c) => blocksText(c));
    const once = (needle: string) =>
      expect(
        texts.filter((t) => t.includes(needle)),
        needle,
      ).toHaveLength(1);
    for (const needle of [
      'formed',
      'Position of Market analyst',
      'Position of Positioning writer',
      'Result of Map the competitors',
      'Result of Compare pricing',
      'Result of Draft the positioning',
      'We win offline',
      ':tada: *Completed*',
    ]) {
      once(needle);
    }
    expect(texts.findIndex((t) => t.includes('We win offline'))).toBeGreaterThan(
      texts.findIndex((t) => t.includes('Result of Draft the positioning')),
    );

    // Steps: structured ones (positions, synthesis) force their tool; tickets are plain text; all at the step limit.
    const steps = llm.requests.slice(planCalls);
    expect(steps.map((r) => r.toolName).sort()).toEqual(
      ['deliver_synthesis', null, null, null, 'state_position', 'state_position'].sort(),
    );
    for (const r of steps) {
      expect(r.body.max_tokens).toBe(config.llm.maxOutputTokens);
      expect(r.body.max_tokens).toBe(2048);
      expect(r.body.stream).toBe(false);
      if (r.toolName) expect(r.body.tool_choice).toEqual({ type: 'tool', name: r.toolName });
      else expect(r.body.tools).toBeUndefined();
    }
    expect(steps.find((r) => r.user.includes('# Your ticket: Draft the positioning'))!.user).toContain(
      'Result of Compare pricing',
    );

    // Tokens and cost are booked on every step, with the model billed; the spend stays under the cap.
    const run = (await Run.findOne({ orchestrationId: doc._id }).lean())!;
    const stored = await Step.find({ runId: run._id }).lean();
    const llmSteps = stored.filter((s) => s.kind !== 'done');
    expect(llmSteps).toHaveLength(6);
    for (const s of llmSteps) {
      expect(s.status, s.key).toBe('succeeded');
      expect(s.model, s.key).toBe('claude-sonnet-4-5');
      expect(s.tokens.input, s.key).toBeGreaterThan(0);
      expect(s.tokens.output, s.key).toBeGreaterThan(0);
      expect(s.costUsd, s.key).toBeGreaterThan(0);
    }
    expect(doc.budget.spentUsd).toBeGreaterThan(0);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);

    // The cache tokens Anthropic reports show up on the step; input counts uncached + cache read + cache write,
    // and each kind is priced at its own rate ($3 in, $0.30 cache read, $3.75 cache write, $15 out per MTok).
    const cachedStep = stored.find((s) => s.key === 'ticket_competitors')!;
    expect(cachedStep.tokens).toEqual({ input: 400 + 1200 + 300, output: 60, cached: 1200 });
    expect(cachedStep.costUsd).toBeCloseTo((400 * 3 + 1200 * 0.3 + 300 * 3.75 + 60 * 15) / 1e6, 9);
    expect(stored.filter((s) => s.tokens.cached > 0).map((s) => s.key)).toEqual(['ticket_competitors']);

    // The proposal message ends as Completed, with the spend.
    const final = slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === ts)
      .at(-1)!;
    expect(blocksText(final)).toContain('Completed');
    expect(blocksText(final)).toMatch(/spend \$0\.\d+ of \$1\.50/);
  });

  it('asks the CEO agent again, for a shorter plan, when its first answer stops at max_tokens', async () => {
    let calls = 0;
    const good = scripted();
    llm.responder = (req) =>
      req.toolName === 'propose_plan' && calls++ === 0
        ? { tool: 'propose_plan', args: sampleProposal(), truncated: true }
        : good(req);
    llm.reset();
    const { orchestrationId, blocks } = await propose('A goal whose first plan is cut off');
    const asks = llm.requests.filter((r) => r.toolName === 'propose_plan');
    expect(asks).toHaveLength(2);
    expect(asks.map((r) => r.stopReason)).toEqual(['max_tokens', 'tool_use']);
    expect(asks.map((r) => r.body.max_tokens)).toEqual([8192, 8192]);
    expect(asks[0]!.user).not.toContain('cut off at the output limit');
    expect(asks[1]!.user).toContain('cut off at the output limit');
    expect(asks[1]!.user).toContain(
      'the answer was cut off at the output limit (8192 tokens) before the propose_plan call was complete: make it shorter',
    );
    expect(await statusOf(orchestrationId)).toBe('proposed');
    expect(blocks).toContain('Map the competitors');
  });

  it('retries a ticket on 529 overloaded and on 500, but not on a 400', async () => {
    const good = scripted();
    const seen = { competitors: 0, pricing: 0, draft: 0 };
    llm.responder = (req) => {
      if (req.user.includes('# Your ticket: Map the competitors') && seen.competitors++ === 0) {
        return { status: 529, error: { type: 'overloaded_error', message: 'Overloaded' }, retryAfterSeconds: 0 };
      }
      if (req.user.includes('# Your ticket: Compare pricing')) {
        seen.pricing++;
        return {
          status: 400,
          error: { type: 'invalid_request_error', message: 'prompt contains an unsupported block' },
        };
      }
      if (req.user.includes('# Your ticket: Draft the positioning') && seen.draft++ === 0) {
        return { status: 500, error: { type: 'api_error', message: 'Internal server error' } };
      }
      return good(req);
    };
    const { ts, value, orchestrationId } = await propose('A goal run through a flaky Messages API');
    await approve(value, ts);
    const doc = await waitForEnd(orchestrationId, 'completed');
    expect(doc.status).toBe('completed');
    expect(seen).toEqual({ competitors: 2, pricing: 1, draft: 2 });

    const steps = await Step.find({ orchestrationId }).lean();
    expect(steps.find((s) => s.key === 'ticket_competitors')).toMatchObject({
      status: 'succeeded',
      output: 'Result of Map the competitors',
    });
    expect(steps.find((s) => s.key === 'ticket_draft')).toMatchObject({
      status: 'succeeded',
      output: 'Result of Draft the positioning',
    });
    const pricing = steps.find((s) => s.key === 'ticket_pricing')!;
    expect(pricing.status).toBe('failed');
    expect(pricing.error).toContain('(400)');
    // A failed attempt is still booked (at its reserved worst case): the provider may have billed it.
    expect(pricing.costUsd).toBeGreaterThan(0);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);

    const texts = threadPosts(ts).map((c) => blocksText(c));
    expect(texts.filter((t) => t.includes('Result of Map the competitors'))).toHaveLength(1);
    expect(texts.filter((t) => t.includes('Result of Draft the positioning'))).toHaveLength(1);
    expect(texts.some((t) => t.includes('Compare pricing') && t.includes('failed'))).toBe(true);
    expect(texts.find((t) => t.includes('We win offline'))).toContain('\\"Compare pricing\\" failed');
  });

  it('never writes the Anthropic key or the Slack secrets to the log', () => {
    const all = logs.join('\n');
    for (const secret of [API_KEY, BOT_TOKEN, SIGNING_SECRET]) expect(all).not.toContain(secret);
  });
});

describe('FakeAnthropic with the real ChatAnthropic', () => {
  const fake = new FakeAnthropic();
  const model = (fields: Partial<ConstructorParameters<typeof ChatAnthropic>[0] & object> = {}) =>
    new ChatAnthropic({
      model: 'claude-sonnet-4-5',
      apiKey: API_KEY,
      anthropicApiUrl: fake.url,
      maxTokens: 64,
      maxRetries: 0,
      ...fields,
    });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  it('is reached at the bare base URL (the SDK adds /v1/messages); a base ending in /v1 gets a 404', async () => {
    fake.responder = () => ({ text: 'hello', usage: { input: 10, output: 2, cached: 30, cacheWrite: 5 } });
    const answer = (await model().invoke('hi')) as AIMessage;
    expect(answer.content).toBe('hello');
    expect(answer.response_metadata).toMatchObject({ stop_reason: 'end_turn' });
    // langchain folds the cache tokens into input_tokens and keeps them apart in input_token_details.
    expect(answer.usage_metadata).toMatchObject({
      input_tokens: 45,
      output_tokens: 2,
      input_token_details: { cache_read: 30, cache_creation: 5 },
    });
    expect(fake.requests).toHaveLength(1);
    const error = (await model({ anthropicApiUrl: `${fake.url}/v1` })
      .invoke('hi')
      .catch((e: unknown) => e)) as { status?: number; message?: string };
    expect(error.status).toBe(404);
    expect(error.message).toContain('/v1/v1/messages');
    expect(fake.requests).toHaveLength(1);
  });

  it('answers a forced tool call, and a cut-off one with stop_reason max_tokens and a partial input', async () => {
    const schema = z.object({ title: z.string(), items: z.array(z.string()) });
    const args = { title: 'A title', items: Array.from({ length: 20 }, (_, i) => `item number ${i}`) };
    let truncated = false;
    fake.responder = () => ({ tool: 'make_list', args, truncated });
    const runnable = model().withStructuredOutput(schema, {
      name: 'make_list',
      method: 'functionCalling',
      includeRaw: true,
    });
    const whole = (await runnable.invoke('list')) as { raw: AIMessage; parsed: unknown };
    expect(whole.parsed).toEqual(args);
    expect(whole.raw.response_metadata).toMatchObject({ stop_reason: 'tool_use' });
    expect(fake.requests[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'make_list' });
    expect(fake.requests[0]!.toolName).toBe('make_list');

    truncated = true;
    const cut = (await runnable.invoke('list')) as { raw: AIMessage; parsed: unknown };
    expect(cut.raw.response_metadata).toMatchObject({ stop_reason: 'max_tokens' });
    expect(cut.raw.usage_metadata?.output_tokens).toBe(64);
    // langchain does not look at stop_reason: the partial input is handed on as the tool call's args.
    const partial = cut.raw.tool_calls![0]!.args as { title: string; items: string[] };
    expect(partial.title).toBe('A title');
    expect(partial.items.length).toBeGreaterThan(0);
    expect(partial.items.length).toBeLessThan(args.items.length);
  });

  it("answers errors in Anthropic's shape, with retry-after when asked", async () => {
    fake.responder = () => ({ status: 529, retryAfterSeconds: 7 });
    const error = (await model()
      .invoke('hi')
      .catch((e: unknown) => e)) as { status?: number; error?: unknown; headers?: Headers };
    expect(error.status).toBe(529);
    expect(error.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'HTTP 529' } });
    expect(error.headers?.get('retry-after')).toBe('7');
  });

  it('refuses a streaming request, which ChatAnthropic does not send unless built to stream', async () => {
    fake.responder = () => ({ text: 'streamed?' });
    const error = (await model({ streaming: true })
      .invoke('hi')
      .catch((e: unknown) => e)) as { status?: number; message?: string };
    expect(error.status).toBe(400);
    expect(error.message).toContain('stream: true is not implemented');
  });
});
