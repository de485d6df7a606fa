/**
 * Benchmark against a peer: one 16-ticket DAG (levels of 8, 4, 3 and 1 tickets, then the
 * synthesis), the same prompts and the same fake LLM answering every call after a fixed delay, run
 * through Orchestrate end to end (approve → completed, every step durable) and through an in-memory
 * LangGraph JS StateGraph (invoke → final state, nothing stored). Rounds alternate the two.
 * `npx tsx bench/peer.ts` runs this section alone.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { ChatOpenAI } from '@langchain/openai';
import { agentSystemPrompt, synthesisPrompt, TOOL_NAMES, ticketPrompt } from '../src/engine/llm/prompts.js';
import type { Proposal, Ticket } from '../src/engine/plan/proposal.js';
import { SynthesisSchema } from '../src/engine/plan/results.js';
import { Orchestration } from '../src/models/orchestration.js';
import { sampleProposal } from '../test/fixtures.js';
import { type Harness, REQUESTER, scriptedResponder, startHarness } from '../test/helpers/harness.js';
import { AS_SHIPPED } from './asShipped.js';
import type { Report } from './slackPacing.js';
import { pct } from './stats.js';

const LLM_DELAY_MS = 200;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const MAX_PARALLEL = 8;
/** Levels of the DAG, tickets and synthesis: the makespan if nothing but the LLM took time. */
const LEVELS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 8 independent tickets; 4 joining pairs of them; 3 joining overlapping pairs of those; 1 joining all 3. */
export function sixteenTickets(): Ticket[] {
  const t = (key: string, dependsOn: string[], role: string): Ticket => ({
    key,
    title: `Part ${key}`,
    role,
    description: `Part ${key} of the positioning doc.`,
    dependsOn,
  });
  return [
    ...Array.from({ length: 8 }, (_, i) => t(`a${i}`, [], 'analyst')),
    ...Array.from({ length: 4 }, (_, i) => t(`b${i}`, [`a${2 * i}`, `a${2 * i + 1}`], 'analyst')),
    ...Array.from({ length: 3 }, (_, i) => t(`c${i}`, [`b${i}`, `b${i + 1}`], 'writer')),
    t('d0', ['c0', 'c1', 'c2'], 'writer'),
  ];
}

export function peerProposal(): Proposal {
  return sampleProposal({
    tickets: sixteenTickets(),
    discussion: { enabled: false, prompt: '' },
    research: { enabled: false, prompt: '', role: null },
    budget: { maxUsd: 5 },
  });
}

/** The same DAG as a LangGraph StateGraph: a node per ticket, edges from dependsOn, joins where a ticket has several. */
export function buildPeerGraph(proposal: Proposal, model: () => ChatOpenAI) {
  const State = Annotation.Root({
    results: Annotation<Record<string, string>>({ reducer: (a, b) => ({ ...a, ...b }), default: () => ({}) }),
    deliverable: Annotation<string>({ reducer: (_, b) => b, default: () => '' }),
  });
  const persona = (roleKey: string) => {
    const role = proposal.roles.find((r) => r.key === roleKey)!;
    return agentSystemPrompt({ name: role.hire!.name, title: role.title, persona: role.hire!.persona });
  };
  const noPrior = { research: null, positions: [] };
  const graph = new StateGraph(State);
  const node = (key: string) => `t_${key}`;
  for (const ticket of proposal.tickets) {
    graph.addNode(node(ticket.key), async (state: typeof State.State) => {
      const deps = proposal.tickets
        .filter((t) => ticket.dependsOn.includes(t.key))
        .map((t) => ({ title: t.title, output: state.results[t.key] ?? null, failed: !(t.key in state.results) }));
      const answer = await model().invoke([
        new SystemMessage(persona(ticket.role)),
        new HumanMessage(ticketPrompt(proposal, ticket, noPrior, deps)),
      ]);
      return { results: { [ticket.key]: String(answer.content) } };
    });
  }
  graph.addNode('synthesis', async (state: typeof State.State) => {
    const outcomes = proposal.tickets.map((t) => ({
      title: t.title,
      role: proposal.roles.find((r) => r.key === t.role)?.title ?? t.role,
      output: state.results[t.key] ?? null,
      error: null,
    }));
    const structured = model().withStructuredOutput(SynthesisSchema, {
      name: TOOL_NAMES.synthesis,
      method: 'functionCalling',
    });
    const value = await structured.invoke([
      new SystemMessage(persona(proposal.synthesis.role)),
      new HumanMessage(synthesisPrompt(proposal, noPrior, outcomes)),
    ]);
    return { deliverable: value.deliverable };
  });
  // Node names are only known at run time, so the typed builder is widened here.
  const g = graph as unknown as {
    addEdge(from: string | string[], to: string): unknown;
    compile(): { invoke(input: object): Promise<{ deliverable: string; results: Record<string, string> }> };
  };
  const dependedOn = new Set(proposal.tickets.flatMap((t) => t.dependsOn));
  for (const ticket of proposal.tickets) {
    if (ticket.dependsOn.length === 0) g.addEdge(START, node(ticket.key));
    else g.addEdge(ticket.dependsOn.map(node), node(ticket.key));
  }
  g.addEdge(
    proposal.tickets.filter((t) => !dependedOn.has(t.key)).map((t) => node(t.key)),
    'synthesis',
  );
  g.addEdge('synthesis', END);
  return g.compile();
}

/** Approve → the orchestration is completed (polled every 5 ms); the proposal is made with no LLM delay. */
async function oursOnce(h: Harness, round: number): Promise<number> {
  h.llm.delayMs = 0;
  const { value, orchestrationId, ts } = await h.propose(`Peer run ${round}: a one-page positioning doc`);
  h.llm.delayMs = LLM_DELAY_MS;
  const t = performance.now();
  const clicked = await h.click('orchestrate.approve', value, REQUESTER, ts);
  if (clicked.status !== 200) throw new Error(`approve answered ${clicked.status}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const doc = await Orchestration.findById(orchestrationId, { status: 1 }).lean();
    if (doc?.status === 'completed') return performance.now() - t;
    if (doc && ['failed', 'cancelled'].includes(doc.status)) throw new Error(`peer run ${round} ended ${doc.status}`);
    if (Date.now() > deadline) throw new Error(`peer run ${round} did not complete`);
    await sleep(5);
  }
}

async function theirsOnce(h: Harness, graph: ReturnType<typeof buildPeerGraph>): Promise<number> {
  h.llm.delayMs = LLM_DELAY_MS;
  h.llm.reset();
  const t = performance.now();
  const out = await graph.invoke({});
  const ms = performance.now() - t;
  if (Object.keys(out.results).length !== 16 || !out.deliverable) throw new Error('the LangGraph run is incomplete');
  if (h.llm.requests.length !== 17) throw new Error(`LangGraph made ${h.llm.requests.length} calls, not 17`);
  return ms;
}

/** The section: p50s of both, and ours ÷ theirs per round (the rounds alternate, so they share the machine's mood). */
export async function peer(report: Report): Promise<void> {
  const proposal = peerProposal();
  // LangGraph hands one abort signal to every task of a superstep and the OpenAI client listens on
  // it per call: 8 at once (and its own) pass Node's warning threshold of 10. Not a leak.
  const maxListeners = EventEmitter.defaultMaxListeners;
  EventEmitter.defaultMaxListeners = 32;
  const h = await startHarness(
    {
      ORCHESTRATE_MAX_PARALLEL: String(MAX_PARALLEL),
      ORCHESTRATE_SLACK_PACE_MS: '0',
      ORCHESTRATE_SLACK_COALESCE_MS: '0',
      LOG_LEVEL: 'error',
    },
    AS_SHIPPED,
  );
  try {
    h.llm.responder = scriptedResponder(proposal);
    const model = () =>
      new ChatOpenAI({
        model: h.config.llm.model,
        apiKey: 'sk-test-key-not-real',
        configuration: { baseURL: h.llm.url },
        maxTokens: h.config.llm.maxOutputTokens,
        maxRetries: 0,
      });
    const graph = buildPeerGraph(proposal, model);
    // One warm-up each (module loading, JIT, connections), not counted.
    await oursOnce(h, 0);
    await theirsOnce(h, graph);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      ours.push(await oursOnce(h, round));
      theirs.push(await theirsOnce(h, graph));
    }
    const floor = LEVELS * LLM_DELAY_MS;
    const setup = `${LLM_DELAY_MS} ms per LLM call, MAX_PARALLEL ${MAX_PARALLEL}, Slack pace/coalesce 0`;
    report('16-ticket DAG makespan, Orchestrate (approve → completed)', 'ms', ours, `${setup}; floor ${floor} ms`);
    report('16-ticket DAG makespan, LangGraph JS (invoke → result)', 'ms', theirs, 'in memory, no checkpointer');
    report(
      'makespan ratio Orchestrate ÷ LangGraph, per round',
      '×',
      ours.map((o, i) => o / theirs[i]!),
      `p50 ÷ p50 = ${(pct(ours, 50) / pct(theirs, 50)).toFixed(3)}; goal ≤ 1.10`,
    );
  } finally {
    EventEmitter.defaultMaxListeners = maxListeners;
    await h.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await peer((name, unit, values, note = '') =>
    console.log(
      `${name}: n ${values.length}, p50 ${pct(values, 50).toFixed(3)} ${unit}, p95 ${pct(values, 95).toFixed(3)} ${unit}, ${note}`,
    ),
  );
  process.exit(0);
}
