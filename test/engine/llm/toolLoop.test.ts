/**
 * The tool loop of a step, driven through the real langchain client against the fake OpenAI and
 * Anthropic servers over HTTP, with every turn reserved and settled by the real meter on the
 * embedded database: tools then an answer, a structured answer, the bounds (tool calls, result
 * size, wall clock), a failing tool, the budget's hard cap, and cancel.
 */
import { tool } from '@langchain/core/tools';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Config } from '../../../src/config.js';
import { LangchainLlm, modelFactoryFromConfig } from '../../../src/engine/llm/client.js';
import { runToolLoop, type ToolLoopOptions } from '../../../src/engine/llm/toolLoop.js';
import type { MeterContext } from '../../../src/engine/money/meter.js';
import { createPricer } from '../../../src/engine/money/pricing.js';
import type { OrchestrationId } from '../../../src/engine/plan/ids.js';
import { hasCode } from '../../../src/errors.js';
import { FakeAnthropic } from '../../fakes/fakeAnthropic.js';
import { FakeOpenAI } from '../../fakes/fakeOpenAI.js';
import { load, seed, useDatabase } from '../usecases/support.js';

useDatabase();

const MODEL = 'tool-loop-model';
/** Output dear, input cheap: a turn's cost is about its output tokens, in dollars. */
const pricer = createPricer(MODEL, { [MODEL]: { inputPerMTok: 1_000, outputPerMTok: 1_000_000 } });

/** What both fakes record about a request, which is all these tests read. */
interface Seen {
  user: string;
  tools: string[];
  toolChoice: string | null;
  toolResults: { id: string; name: string | null; content: string }[];
}
type Reply =
  | { text: string; usage?: { input: number; output: number } }
  | { calls: { tool: string; args: unknown }[]; usage?: { input: number; output: number } }
  | { tool: string; args: unknown; usage?: { input: number; output: number } };

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
const providers = [
  { name: 'openai' as const, server: openai, url: () => openai.url },
  { name: 'anthropic' as const, server: anthropic, url: () => anthropic.url },
];
type Provider = (typeof providers)[number];

beforeAll(() => Promise.all([openai.start(), anthropic.start()]));
afterAll(() => Promise.all([openai.stop(), anthropic.stop()]));
beforeEach(() => {
  openai.reset();
  anthropic.reset();
});

/** The model's turns, scripted: each request is answered by `next(request, turn)` (turn counts from 0). */
function script(provider: Provider, next: (request: Seen, turn: number) => Reply): Seen[] {
  let turn = 0;
  provider.server.responder = ((request: Seen) => next(request, turn++)) as never;
  return provider.server.requests as unknown as Seen[];
}

function llmFor(provider: Provider): LangchainLlm {
  const settings = {
    provider: provider.name,
    model: MODEL,
    apiKey: 'test-key-not-real',
    baseUrl: provider.url(),
    timeoutMs: 30_000,
  } as Config['llm'];
  return new LangchainLlm(MODEL, modelFactoryFromConfig(settings));
}

async function meterFor(provider: Provider, maxUsd = 10_000): Promise<{ meter: MeterContext; id: OrchestrationId }> {
  const id = await seed({ maxUsd, spentUsd: 0 });
  return { id, meter: { orchestrationId: id, llm: llmFor(provider), pricer, holder: 'step:test' } };
}

const search = tool(async ({ query }) => `Results for "${query}": https://example.test/${encodeURIComponent(query)}`, {
  name: 'web_search',
  description: 'Search the web.',
  schema: z.object({ query: z.string() }),
});

const searchCall = (query: string) => ({ tool: 'web_search', args: { query } });

function options(meter: MeterContext, overrides: Partial<ToolLoopOptions> = {}): ToolLoopOptions {
  return {
    meter,
    system: 'You are a researcher. Use tools, then answer.',
    user: 'Who makes offline-first meeting recorders?',
    tools: [search],
    maxTokens: 50,
    maxToolCalls: 8,
    resultMaxChars: 4_000,
    timeLimitMs: 60_000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe.each(providers)('the tool loop over $name', (provider) => {
  it('searches, sees the results, then answers in text; every turn is booked', async () => {
    const { meter, id } = await meterFor(provider);
    const requests = script(provider, (_req, turn) =>
      turn === 0
        ? { calls: [searchCall('offline recorder'), searchCall('meeting notes app')] }
        : { text: 'Two makers: see https://example.test/offline%20recorder' },
    );

    const result = await runToolLoop(options(meter));

    expect(result.answer).toBe('Two makers: see https://example.test/offline%20recorder');
    expect(result.turns).toBe(2);
    expect(result.stoppedBy).toBe('answered');
    expect(result.records.map((r) => [r.tool, r.arguments, r.error])).toEqual([
      ['web_search', '{"query":"offline recorder"}', null],
      ['web_search', '{"query":"meeting notes app"}', null],
    ]);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.tools).toEqual(['web_search']);
    expect(requests[1]!.toolResults.map((r) => [r.name, r.content])).toEqual([
      ['web_search', 'Results for "offline recorder": https://example.test/offline%20recorder'],
      ['web_search', 'Results for "meeting notes app": https://example.test/meeting%20notes%20app'],
    ]);
    const doc = await load(id);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(doc.budget.spentUsd).toBeCloseTo(result.costUsd, 6);
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
    expect(doc.budget.holds ?? []).toEqual([]);
  });

  it('ends when the model calls the answer tool, and checks its arguments against the schema', async () => {
    const { meter } = await meterFor(provider);
    const Findings = z.object({ summary: z.string().min(1), sources: z.array(z.string().url()) });
    const answer = { name: 'submit_findings', description: 'Submit the findings.', schema: Findings };
    const findings = { summary: 'Otter and Granola lead.', sources: ['https://example.test/otter'] };
    const requests = script(provider, (_req, turn) =>
      turn === 0 ? { calls: [searchCall('otter')] } : { tool: 'submit_findings', args: findings },
    );

    const result = await runToolLoop({ ...options(meter), answer });

    expect(result.answer).toEqual({ value: findings, violations: [], rawArguments: findings });
    expect(result.records).toHaveLength(1);
    expect(requests[0]!.tools).toEqual(['web_search', 'submit_findings']);
  });

  it('stops at the tool-call limit, counting calls, and the step still answers with what it has', async () => {
    const { meter } = await meterFor(provider);
    const requests = script(provider, (req) =>
      req.toolChoice === 'none'
        ? { text: 'From three searches: two makers.' }
        : { calls: [searchCall('a'), searchCall('b')] },
    );

    const result = await runToolLoop(options(meter, { maxToolCalls: 3 }));

    expect(result.answer).toBe('From three searches: two makers.');
    expect(result.stoppedBy).toBe('tool_calls');
    expect(result.records).toHaveLength(3);
    expect(requests).toHaveLength(3);
    // The fourth call, made in the same turn as the third, was not run: the model was told why.
    expect(requests[2]!.toolResults.at(-1)!.content).toMatch(/^Error: not run: the limit of 3 tool calls/);
    expect(requests[2]!.toolChoice).toBe('none');
    expect(requests[2]!.user).toMatch(/limit of 3 tool calls .* Answer now/);
  });
});

describe('the tool loop (OpenAI-compatible)', () => {
  const provider = providers[0]!;

  it('runs the calls of one turn together', async () => {
    const { meter } = await meterFor(provider);
    // Each call waits until both have started: run one after the other, the first would wait for ever.
    let arrived = 0;
    let release = () => {};
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const meet = tool(
      async ({ url }) => {
        arrived += 1;
        if (arrived === 2) release();
        await bothStarted;
        return `page ${url}`;
      },
      { name: 'web_fetch', description: 'Fetch a page.', schema: z.object({ url: z.string() }) },
    );
    script(provider, (_req, turn) =>
      turn === 0
        ? { calls: [1, 2].map((n) => ({ tool: 'web_fetch', args: { url: `https://example.test/${n}` } })) }
        : { text: 'both read' },
    );

    const result = await runToolLoop(options(meter, { tools: [meet], timeLimitMs: 20_000 }));

    expect(result.answer).toBe('both read');
    expect(result.records.map((r) => r.error)).toEqual([null, null]);
  });

  it('returns what broke the schema, and a repair round goes on from the transcript', async () => {
    const { meter } = await meterFor(provider);
    const answer = {
      name: 'submit_findings',
      description: 'Submit the findings.',
      schema: z.object({ summary: z.string().min(1), sources: z.array(z.string()) }),
    };
    const requests = script(provider, (_req, turn) =>
      turn === 0
        ? { tool: 'submit_findings', args: { summary: '', sources: 'none' } }
        : { tool: 'submit_findings', args: { summary: 'Fixed.', sources: [] } },
    );

    const first = await runToolLoop({ ...options(meter), answer });
    expect(first.answer.value).toBeNull();
    expect(first.answer.violations.join('; ')).toMatch(/summary/);
    expect(first.answer.violations.join('; ')).toMatch(/sources/);

    const repaired = await runToolLoop({ ...options(meter), answer, user: first.messages });
    expect(repaired.answer.value).toEqual({ summary: 'Fixed.', sources: [] });
    // The model was told why its first answer was refused.
    expect(requests[1]!.toolResults[0]!.content).toMatch(/^Error: rejected: .*summary/);
  });

  it('forces the answer tool on the last turn of a structured step', async () => {
    const { meter } = await meterFor(provider);
    const answer = { name: 'submit', description: 'Submit.', schema: z.object({ summary: z.string() }) };
    const requests = script(provider, (req) =>
      req.toolChoice === 'submit' ? { tool: 'submit', args: { summary: 'what I have' } } : { calls: [searchCall('x')] },
    );

    const result = await runToolLoop({ ...options(meter, { maxToolCalls: 1 }), answer });

    expect(result.answer.value).toEqual({ summary: 'what I have' });
    expect(result.stoppedBy).toBe('tool_calls');
    expect(requests.map((r) => r.toolChoice)).toEqual([null, 'submit']);
  });

  it('cuts a long result, with a marker that says how long it was', async () => {
    const { meter } = await meterFor(provider);
    const page = tool(async () => 'word '.repeat(1_000), {
      name: 'web_fetch',
      description: 'Fetch a page.',
      schema: z.object({ url: z.string() }),
    });
    const requests = script(provider, (_req, turn) =>
      turn === 0 ? { calls: [{ tool: 'web_fetch', args: { url: 'https://example.test/long' } }] } : { text: 'done' },
    );

    const result = await runToolLoop(options(meter, { tools: [page], resultMaxChars: 1_000 }));

    expect(result.records[0]).toMatchObject({ tool: 'web_fetch', resultChars: 5_000, truncated: true, error: null });
    const shown = requests[1]!.toolResults[0]!.content;
    expect(shown.startsWith('word '.repeat(200))).toBe(true);
    expect(shown).toMatch(/\[Cut: the result was 5000 characters long; only the first 1000 are shown\.\]$/);
  });

  it('tells the model when a tool fails or does not exist, records it, and goes on', async () => {
    const { meter } = await meterFor(provider);
    const broken = tool(
      async () => {
        throw new Error('the search service answered 503');
      },
      { name: 'broken_search', description: 'A search that is down.', schema: z.object({ query: z.string() }) },
    );
    const requests = script(provider, (_req, turn) =>
      turn === 0
        ? {
            calls: [
              { tool: 'broken_search', args: { query: 'q' } },
              { tool: 'no_such_tool', args: {} },
            ],
          }
        : turn === 1
          ? { calls: [searchCall('q')] }
          : { text: 'Answered from the one search that worked.' },
    );

    const result = await runToolLoop(options(meter, { tools: [search, broken] }));

    expect(result.answer).toBe('Answered from the one search that worked.');
    expect(result.records.map((r) => [r.tool, r.error])).toEqual([
      ['broken_search', 'the search service answered 503'],
      ['no_such_tool', expect.stringMatching(/there is no tool "no_such_tool"/)],
      ['web_search', null],
    ]);
    expect(requests[1]!.toolResults.map((r) => r.content)).toEqual([
      'Error: the search service answered 503',
      expect.stringMatching(/^Error: there is no tool "no_such_tool"; the tools are: web_search, broken_search/),
    ]);
  });

  it('holds the hard cap turn by turn: with room for three turns, the fourth is never made', async () => {
    // Each turn may cost its 100 output tokens ($100) and uses them all; the cap fits three.
    const { meter, id } = await meterFor(provider, 350);
    const requests = script(provider, (_req, turn) => ({
      calls: [searchCall(`query ${turn}`)],
      usage: { input: 200, output: 100 },
    }));

    const error = await runToolLoop(options(meter, { maxTokens: 100 })).catch((e: unknown) => e);

    expect(hasCode(error, 'budget_exceeded')).toBe(true);
    expect(requests).toHaveLength(3);
    const doc = await load(id);
    expect(doc.budget.spentUsd).toBeGreaterThan(300);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(350);
    expect(doc.budget.reservedUsd).toBeCloseTo(0, 9);
  });

  it('reserves for the whole transcript: a turn after a long tool result reserves for that result too', async () => {
    const { meter } = await meterFor(provider);
    const long = tool(async () => 'x'.repeat(50_000), {
      name: 'web_fetch',
      description: 'Fetch a page.',
      schema: z.object({ url: z.string() }),
    });
    // A server that reports no usage is booked at its worst case, so the bookings show the reservations.
    script(provider, (_req, turn) =>
      turn === 0
        ? { calls: [{ tool: 'web_fetch', args: { url: 'https://example.test/long' } }], usage: { input: 0, output: 0 } }
        : { text: 'ok', usage: { input: 0, output: 0 } },
    );
    const booked: number[] = [];
    meter.onCost = (usd) => {
      booked.push(usd);
    };

    await runToolLoop(options(meter, { tools: [long], resultMaxChars: 50_000 }));

    expect(booked).toHaveLength(2);
    // 50,000 more bytes of input at $1,000 per million tokens: at least $50 more.
    expect(booked[1]! - booked[0]!).toBeGreaterThanOrEqual(50);
  });

  it('aborts a tool call in flight on cancel, and makes no further turn', async () => {
    const { meter, id } = await meterFor(provider);
    const controller = new AbortController();
    let sawAbort = false;
    const slow = tool(
      (_args, config) =>
        new Promise<string>((resolve) => {
          config.signal?.addEventListener('abort', () => {
            sawAbort = true;
            resolve('too late');
          });
          controller.abort();
        }),
      { name: 'web_fetch', description: 'Fetch a page.', schema: z.object({ url: z.string() }) },
    );
    const requests = script(provider, () => ({
      calls: [{ tool: 'web_fetch', args: { url: 'https://example.test' } }],
    }));

    const error = await runToolLoop(options(meter, { tools: [slow], signal: controller.signal })).catch((e) => e);

    expect(hasCode(error, 'llm_call') && error.aborted).toBe(true);
    expect(sawAbort).toBe(true);
    expect(requests).toHaveLength(1);
    expect((await load(id)).budget.reservedUsd).toBeCloseTo(0, 9);
  });

  it('at the wall-clock limit, stops the tool call in flight and makes one last answering turn', async () => {
    const { meter } = await meterFor(provider);
    const hanging = tool(
      (_args, config) =>
        new Promise<string>((resolve) => config.signal?.addEventListener('abort', () => resolve('too late'))),
      { name: 'web_fetch', description: 'Fetch a page.', schema: z.object({ url: z.string() }) },
    );
    const requests = script(provider, (req) =>
      req.toolChoice === 'none'
        ? { text: 'What I found before time ran out.' }
        : { calls: [{ tool: 'web_fetch', args: { url: 'https://example.test/slow' } }] },
    );

    const result = await runToolLoop(options(meter, { tools: [hanging], timeLimitMs: 200 }));

    expect(result.answer).toBe('What I found before time ran out.');
    expect(result.stoppedBy).toBe('time');
    expect(result.records[0]!.error).toMatch(/time limit of this step \(200 ms\) was reached/);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.toolChoice).toBe('none');
    expect(requests[1]!.user).toMatch(/time limit of this step .* Answer now/);
  });
});
