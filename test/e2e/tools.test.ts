/**
 * Agents with tools, end to end: the real app over HTTP, the fake OpenAI server scripting tool
 * calls, a fake search API, fake web pages and a fake MCP server on 127.0.0.1, and the embedded
 * database. What people see: the thread post says what a step looked up, and every cited source
 * is marked retrieved or not retrieved in this run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Orchestration } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import { FakeMcpHttpServer } from '../fakes/fakeMcpServer.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { FakeSearch } from '../fakes/fakeSearch.js';
import { FakeWeb } from '../fakes/fakeWeb.js';
import { sampleProposal } from '../fixtures.js';
import {
  CHANNEL,
  eventually,
  type Harness,
  meteredEnv,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness | null = null;
const web = new FakeWeb();
const search = new FakeSearch();
let mcp: FakeMcpHttpServer | null = null;

afterEach(async () => {
  await h?.stop();
  h = null;
  await Promise.all([web.stop(), search.stop(), mcp?.kill()]);
  mcp = null;
});

/** One ticket, worked by a role with `tools` (on `model`, if given); no research, no discussion. */
function toolPlan(tools: string[], extra: { model?: string; maxUsd?: number } = {}) {
  const base = sampleProposal();
  const role = { ...base.roles[0]!, key: 'analyst', tools, model: extra.model ?? null };
  return sampleProposal({
    roles: [role],
    tickets: [{ key: 'survey', title: 'Survey', role: 'analyst', description: 'Survey tide pools.', dependsOn: [] }],
    research: { enabled: false, prompt: '', role: null },
    discussion: { enabled: false, prompt: '' },
    synthesis: { role: 'analyst', prompt: 'Write it up.' },
    budget: { maxUsd: extra.maxUsd ?? base.budget.maxUsd },
  });
}

async function startWithTools(env: Record<string, string> = {}) {
  await Promise.all([web.start(), search.start()]);
  search.reply = () => ({
    results: [
      { title: 'How Tide Pools Work', url: web.url('/article'), content: 'Rocky hollows.' },
      { title: 'Field notes', url: web.url('/notes.md'), content: 'Crabs and stars.' },
    ],
  });
  h = await startHarness({
    ORCHESTRATE_SEARCH_PROVIDER: 'tavily',
    TAVILY_API_KEY: 'tvly-test-key',
    ORCHESTRATE_SEARCH_URL: search.base('/tavily'),
    ORCHESTRATE_WEB_FETCH: 'on',
    ORCHESTRATE_FETCH_ALLOW_HOSTS: '127.0.0.1',
    ...env,
  });
  return h;
}

const isTicket = (req: RecordedRequest) => req.user.includes('# Your ticket: Survey');
const threadText = (harness: Harness, ts: string) =>
  harness.slack
    .threadReplies(CHANNEL, ts)
    .map((m) => JSON.stringify(m.blocks ?? m.text))
    .join('\n');

async function approveAndWait(harness: Harness, end: 'completed' | 'failed' | 'cancelled') {
  const { value, orchestrationId, ts } = await harness.propose();
  await harness.click('orchestrate.approve', value, REQUESTER, ts);
  const doc = await harness.waitForEnd(orchestrationId, end, 30_000);
  return { doc, ts, orchestrationId, value };
}

describe('agents with tools', () => {
  it('a ticket searches, reads two pages and answers: its sources are marked retrieved, an invented one not', async () => {
    const harness = await startWithTools();
    const crew = scriptedResponder(toolPlan(['web_search', 'web_fetch']));
    harness.llm.responder = (req): FakeReply => {
      if (!isTicket(req)) return crew(req);
      if (req.toolResults.length === 0) return { calls: [{ tool: 'web_search', args: { query: 'tide pools' } }] };
      if (req.toolResults.length === 1)
        return {
          calls: [
            { tool: 'web_fetch', args: { url: web.url('/article') } },
            { tool: 'web_fetch', args: { url: web.url('/notes.md') } },
          ],
        };
      return {
        text: `Tide pools teem with life.\n\n**Sources**\n- ${web.url('/article')}\n- ${web.url('/notes.md')}\n- https://invented.example/made-up`,
      };
    };
    const { ts, orchestrationId } = await approveAndWait(harness, 'completed');

    // The model saw the search results and both pages.
    const last = harness.llm.requests.filter(isTicket).at(-1)!;
    expect(last.toolResults.map((r) => r.content).join('\n')).toContain('How Tide Pools Work');
    expect(search.requests[0]?.authorization).toBe('Bearer tvly-test-key');
    const step = (await Step.findOne({ orchestrationId, kind: 'ticket' }).lean())!;
    expect(step.toolCalls.map((c) => c.tool)).toEqual(['web_search', 'web_fetch', 'web_fetch']);
    expect(step.toolCalls.every((c) => c.error === null && c.resultChars > 0)).toBe(true);
    expect(step.citations).toEqual([
      { url: web.url('/article'), retrieved: true },
      { url: web.url('/notes.md'), retrieved: true },
      { url: 'https://invented.example/made-up', retrieved: false },
    ]);
    const thread = threadText(harness, ts);
    expect(thread).toContain('searched 1×, read 2 pages');
    expect(thread).toContain(`:white_check_mark: retrieved · ${web.url('/article')}`);
    expect(thread).toContain(':warning: not retrieved in this run · https://invented.example/made-up');
    expect(thread).toContain('2 sources retrieved · 1 not retrieved in this run');
    // The run card carries the retrieved ones as its step's sources, and counts the other.
    const card = JSON.stringify(
      harness.slack.threadReplies(CHANNEL, ts).find((m) => String(m.metadata?.event_payload.key).endsWith(':runcard'))
        ?.blocks,
    );
    expect(card).toContain(web.url('/article'));
    expect(card).not.toContain('invented.example');
    expect(card).toContain('1 cited source not retrieved in this run');
  });

  it('a fetch of a private address is refused, told to the model, and counted as a tool error', async () => {
    const harness = await startWithTools({ ORCHESTRATE_FETCH_ALLOW_HOSTS: 'localhost.invalid' });
    const crew = scriptedResponder(toolPlan(['web_fetch']));
    harness.llm.responder = (req): FakeReply => {
      if (!isTicket(req)) return crew(req);
      if (req.toolResults.length === 0) return { calls: [{ tool: 'web_fetch', args: { url: web.url('/article') } }] };
      return { text: 'Could not read it.' };
    };
    const { orchestrationId, ts } = await approveAndWait(harness, 'completed');
    const told = harness.llm.requests.filter(isTicket).at(-1)!.toolResults[0]!.content;
    expect(told).toMatch(/web_fetch failed: .*127\.0\.0\.1/);
    const step = (await Step.findOne({ orchestrationId, kind: 'ticket' }).lean())!;
    expect(step.toolCalls[0]?.error).toMatch(/web_fetch failed/);
    expect(threadText(harness, ts)).toContain('1 tool error');
  });

  it('stops at ORCHESTRATE_STEP_MAX_TOOL_CALLS, and the step still answers with what it has', async () => {
    const harness = await startWithTools({ ORCHESTRATE_STEP_MAX_TOOL_CALLS: '2' });
    const crew = scriptedResponder(toolPlan(['web_search']));
    harness.llm.responder = (req): FakeReply => {
      if (!isTicket(req)) return crew(req);
      if (req.toolChoice === 'none') return { text: 'What I found in two searches.' };
      return { calls: [{ tool: 'web_search', args: { query: `more ${req.toolResults.length}` } }] };
    };
    const { orchestrationId } = await approveAndWait(harness, 'completed');
    expect(search.requests.filter((r) => r.query.startsWith('more '))).toHaveLength(2);
    const step = (await Step.findOne({ orchestrationId, kind: 'ticket' }).lean())!;
    expect(step.status).toBe('succeeded');
    expect(step.output).toContain('What I found in two searches.');
  });

  it('reserves every turn of a loop: with a cap that fits three turns, the fourth is not made and the run stops on its budget', async () => {
    // Every call's worst case is exactly $10 (no input price, 10 output tokens at $1), and each bills all of it.
    const harness = await startWithTools(meteredEnv({ inputPerMTok: 0, defaultBudgetUsd: 40 }));
    const crew = scriptedResponder(toolPlan(['web_search'], { maxUsd: 40 }));
    harness.llm.responder = (req): FakeReply => {
      const usage = { input: 50, output: 10 };
      if (!isTicket(req)) return { ...crew(req), usage } as FakeReply;
      return { calls: [{ tool: 'web_search', args: { query: 'again' } }], usage };
    };
    const { doc, orchestrationId } = await approveAndWait(harness, 'failed');
    // Planning took $10; three turns took the other $30.
    expect(harness.llm.requests.filter(isTicket)).toHaveLength(3);
    expect(doc.budget.spentUsd).toBeLessThanOrEqual(doc.budget.maxUsd);
    expect(doc.budgetStop).toBe(true);
    expect((await Orchestration.findById(orchestrationId).lean())?.budget.reservedUsd).toBe(0);
  });

  it('cancel during a tool call aborts it, and the run ends cancelled', async () => {
    const harness = await startWithTools();
    web.expectSlow();
    const crew = scriptedResponder(toolPlan(['web_fetch']));
    harness.llm.responder = (req): FakeReply => {
      if (!isTicket(req)) return crew(req);
      return { calls: [{ tool: 'web_fetch', args: { url: web.url('/slow') } }] };
    };
    const { value, orchestrationId, ts } = await harness.propose();
    await harness.click('orchestrate.approve', value, REQUESTER, ts);
    await web.slowAsked;
    await harness.click('orchestrate.cancel', value, REQUESTER, ts);
    await harness.waitForEnd(orchestrationId, 'cancelled', 15_000);
    const step = await eventually(
      () => Step.findOne({ orchestrationId, kind: 'ticket', status: 'skipped' }).lean(),
      10_000,
      'the ticket stopped',
    );
    expect(step.skipReason).toBe('cancelled');
    // The loop made no turn after the cut call.
    expect(harness.llm.requests.filter(isTicket)).toHaveLength(1);
  });

  it('an MCP server that crashes mid-run: its call is an error to the model, and the run goes on', async () => {
    mcp = new FakeMcpHttpServer();
    await mcp.start();
    const server = mcp;
    const harness = await startWithTools({ ORCHESTRATE_MCP_SERVERS: JSON.stringify({ notes: { url: server.url } }) });
    const crew = scriptedResponder(toolPlan(['notes__search_notes']));
    harness.llm.responder = async (req): Promise<FakeReply> => {
      if (!isTicket(req)) return crew(req);
      if (req.toolResults.length === 0) {
        await server.kill();
        return { calls: [{ tool: 'notes__search_notes', args: { query: 'tide' } }] };
      }
      return { text: 'Answered without the notes.' };
    };
    const { orchestrationId } = await approveAndWait(harness, 'completed');
    const told = harness.llm.requests.filter(isTicket).at(-1)!.toolResults[0]!.content;
    expect(told).toMatch(/notes__search_notes failed/);
    const step = (await Step.findOne({ orchestrationId, kind: 'ticket' }).lean())!;
    expect(step.output).toContain('Answered without the notes.');
    expect(step.toolCalls[0]?.error).toMatch(/failed/);
  });

  it('a role on another model is called, reserved and booked on that model', async () => {
    const harness = await startWithTools({ ORCHESTRATE_MODELS: 'gpt-4o' });
    harness.llm.responder = scriptedResponder(toolPlan([], { model: 'gpt-4o' }));
    const { orchestrationId, ts } = await approveAndWait(harness, 'completed');
    const ticketCall = harness.llm.requests.find(isTicket)!;
    expect(ticketCall.body.model).toBe('gpt-4o');
    const plan = harness.llm.requests.find((r) => r.toolName === 'propose_plan')!;
    expect(plan.body.model).toBe('gpt-4o-mini');
    const step = (await Step.findOne({ orchestrationId, kind: 'ticket' }).lean())!;
    expect(step.model).toBe('gpt-4o');
    const rollup = harness.slack.threadReplies(CHANNEL, ts).find((m) => m.text.startsWith('Cost rollup'));
    expect(JSON.stringify(rollup?.blocks)).toContain('gpt-4o');
  });
});
