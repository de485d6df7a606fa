/**
 * Declared outputs, end to end: the real app over HTTP, the fake OpenAI server and the embedded
 * database. A plan whose dependent uses an undeclared field goes back to the CEO agent; a ticket
 * declaring a table must answer with it (one repair round, then a failure that names the field);
 * its dependent is given the rows with their column names; the thread shows a table; and reviewers
 * edit outputs in a modal, each save a revision, a stale one changing nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ViewIds } from '../../src/blocks/actionIds.js';
import { OutputInputIds, outputBlockId } from '../../src/blocks/outputModal.js';
import type { DeclaredOutput } from '../../src/engine/plan/outputs.js';
import type { Proposal } from '../../src/engine/plan/proposal.js';
import { Orchestration, type OrchestrationDoc } from '../../src/models/orchestration.js';
import { Step } from '../../src/models/run.js';
import type { FakeReply, RecordedRequest } from '../fakes/fakeOpenAI.js';
import { FakeSearch } from '../fakes/fakeSearch.js';
import { sampleProposal } from '../fixtures.js';
import {
  blocksText,
  CHANNEL,
  eventually,
  type Harness,
  REQUESTER,
  scriptedResponder,
  startHarness,
} from '../helpers/harness.js';

let h: Harness | null = null;
const search = new FakeSearch();
afterEach(async () => {
  await h?.stop();
  h = null;
  await search.stop();
});

const MATRIX: DeclaredOutput = {
  description: 'A competitor matrix',
  fields: [
    { name: 'matrix', type: 'table', columns: ['name', 'pricing', 'offline'] },
    { name: 'summary', type: 'string' },
  ],
};

const ROWS = [
  { name: 'Otter', pricing: '$16.99/mo', offline: false },
  { name: 'Tape', pricing: '$8/mo', offline: true },
];

/** Two tickets: "competitors" declares the matrix, "draft" depends on it and uses `uses`. */
function outputPlan(uses: string[] = ['competitors.matrix']): Proposal {
  const base = sampleProposal();
  return sampleProposal({
    tickets: [
      { ...base.tickets[0]!, output: MATRIX },
      { ...base.tickets[2]!, dependsOn: ['competitors'], uses },
    ],
    discussion: { enabled: false, prompt: '' },
  });
}

const isCompetitors = (req: RecordedRequest) => req.user.includes('# Your ticket: Map the competitors');
const isDraft = (req: RecordedRequest) => req.user.includes('# Your ticket: Draft the positioning');
const doc = async (id: string) => (await Orchestration.findById(id).lean<OrchestrationDoc>())!;

describe('declared outputs', () => {
  it('sends a plan whose dependent uses an undeclared field back to the CEO agent, and accepts the repaired one', async () => {
    h = await startHarness();
    const bad = outputPlan(['competitors.pricing_table']);
    const good = outputPlan();
    h.llm.responder = (req) => ({
      tool: 'propose_plan',
      args: req.user.includes('Your previous plan was rejected') ? good : bad,
    });
    const { orchestrationId, ts } = await h.propose();
    const planning = h.llm.requests.filter((r) => r.toolName === 'propose_plan');
    expect(planning).toHaveLength(2);
    expect(planning[1]!.user).toContain(
      'tickets[1] ("draft"): uses "competitors.pricing_table", but "competitors" declares no field "pricing_table" (it declares matrix, summary)',
    );
    const stored = await doc(orchestrationId);
    expect(stored.status).toBe('proposed');
    expect(stored.proposal!.tickets[0]!.output).toEqual(MATRIX);
    const message = h.slack.callsTo('chat.postMessage').find((c) => c.args.ts === ts || !c.args.thread_ts);
    const text = blocksText(message);
    expect(text).toContain('_Produces:_ A competitor matrix: matrix (table: name, pricing, offline), summary (text)');
    expect(text).toContain('_Builds on:_ competitors.matrix');
    expect(text).toContain('proposal.edit_outputs');
  });

  it('runs a ticket with a declared table: the answer is checked, the dependent gets the rows by column, the thread shows a table', async () => {
    h = await startHarness();
    const crew = scriptedResponder(outputPlan());
    h.llm.responder = (req): FakeReply => {
      if (isCompetitors(req)) return { tool: 'deliver_result', args: { matrix: ROWS, summary: 'Two rivals.' } };
      return crew(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);

    const competitors = h.llm.requests.find(isCompetitors)!;
    expect(competitors.toolName).toBe('deliver_result');
    const step = (await Step.findOne({ orchestrationId, ticketKey: 'competitors' }).lean())!;
    expect(step.structured).toEqual({ matrix: ROWS, summary: 'Two rivals.' });
    expect(step.output).toContain('| name | pricing | offline |');

    // The dependent, and the synthesis, get the rows under their column names.
    const draft = h.llm.requests.find(isDraft)!;
    expect(draft.user).toContain('Structured result, declared as: A competitor matrix');
    expect(draft.user).toContain('| name | pricing | offline |\n| --- | --- | --- |\n| Otter | $16.99/mo | false |');
    expect(draft.user).toContain('You build on these fields: competitors.matrix.');
    const synthesis = h.llm.requests.find((r) => r.toolName === 'deliver_synthesis')!;
    expect(synthesis.user).toContain('| Tape | $8/mo | true |');

    // The thread draws the matrix as a table block, header row first.
    const replies = h.slack.threadReplies(CHANNEL, ts);
    const table = replies.flatMap((m) => m.blocks ?? []).find((b: any) => b.type === 'table') as any;
    expect(table.rows.map((r: any[]) => r.map((c) => c.text))).toEqual([
      ['name', 'pricing', 'offline'],
      ['Otter', '$16.99/mo', 'false'],
      ['Tape', '$8/mo', 'true'],
    ]);
    const result = JSON.stringify(replies.map((m) => m.blocks));
    expect(result).toContain('A competitor matrix');
    expect(result).toContain('**summary** _(text)_\\nTwo rivals.');
  });

  it('a role with tools searches first, then answers to the declared fields within its tool loop', async () => {
    await search.start();
    search.reply = () => ({
      results: [{ title: 'Otter pricing', url: 'https://otter.example/pricing', content: '$16.99' }],
    });
    h = await startHarness({
      ORCHESTRATE_SEARCH_PROVIDER: 'tavily',
      TAVILY_API_KEY: 'tvly-test-key',
      ORCHESTRATE_SEARCH_URL: search.base('/tavily'),
    });
    const plan = outputPlan();
    plan.roles[0] = { ...plan.roles[0]!, tools: ['web_search'] };
    const crew = scriptedResponder(plan);
    h.llm.responder = (req): FakeReply => {
      if (!isCompetitors(req)) return crew(req);
      if (req.toolResults.length === 0) return { calls: [{ tool: 'web_search', args: { query: 'otter pricing' } }] };
      return { tool: 'deliver_result', args: { matrix: ROWS, summary: 'See https://otter.example/pricing' } };
    };
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);
    const step = (await Step.findOne({ orchestrationId, ticketKey: 'competitors' }).lean())!;
    expect(step.toolCalls.map((c) => c.tool)).toEqual(['web_search']);
    expect(step.structured).toEqual({ matrix: ROWS, summary: 'See https://otter.example/pricing' });
    expect(h.llm.requests.filter(isCompetitors).at(-1)!.tools).toContain('deliver_result');
    // A URL cited in a field is checked against what the run retrieved, like any citation.
    expect(step.citations).toEqual([{ url: 'https://otter.example/pricing', retrieved: true }]);
  });

  it('gives a malformed answer one repair round, then fails the step naming the field', async () => {
    h = await startHarness();
    const crew = scriptedResponder(outputPlan());
    h.llm.responder = (req): FakeReply => {
      if (isCompetitors(req))
        return { tool: 'deliver_result', args: { matrix: [{ name: 'Otter', offline: true }], summary: 'One.' } };
      return crew(req);
    };
    const { value, orchestrationId, ts } = await h.propose();
    await h.click('orchestrate.approve', value, REQUESTER, ts);
    await h.waitForEnd(orchestrationId, 'completed', 30_000);

    const asked = h.llm.requests.filter(isCompetitors);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.user).toContain(
      'Your previous answer was rejected: field "matrix" (table), row 1, column "pricing": is missing',
    );
    const step = (await Step.findOne({ orchestrationId, ticketKey: 'competitors' }).lean())!;
    expect(step.status).toBe('failed');
    expect(step.error).toBe(
      'the answer did not fit its schema after a repair attempt: field "matrix" (table), row 1, column "pricing": is missing',
    );
    const thread = JSON.stringify(h.slack.threadReplies(CHANNEL, ts).map((m) => m.blocks));
    expect(thread).toContain('column \\"pricing\\": is missing');
    // The dependent is told the result is not available, and the synthesis names the gap.
    expect(h.llm.requests.find(isDraft)!.user).toContain('(This ticket failed; its result is not available.');
  });

  it('Edit outputs changes the declaration in the next revision; a stale or invalid save changes nothing', async () => {
    h = await startHarness();
    h.llm.responder = scriptedResponder(outputPlan());
    const { orchestrationId: o, value, ts } = await h.propose();
    await h.click('proposal.edit_outputs', value, REQUESTER, ts);
    const modal = await h.slack.waitFor(
      (c) => c.method === 'views.open' && c.args.view.callback_id === ViewIds.editOutputs,
    );
    const view = JSON.stringify(modal.args.view);
    expect(view).toContain('matrix: table(name, pricing, offline)');
    const meta = modal.args.view.private_metadata as string;
    const form = (competitors: [string, string], draft: [string, string] = ['', '']) => ({
      [outputBlockId('description', 'competitors')]: {
        [OutputInputIds.description.action]: { type: 'plain_text_input', value: competitors[0] },
      },
      [outputBlockId('fields', 'competitors')]: {
        [OutputInputIds.fields.action]: { type: 'plain_text_input', value: competitors[1] },
      },
      [outputBlockId('description', 'draft')]: {
        [OutputInputIds.description.action]: { type: 'plain_text_input', value: draft[0] },
      },
      [outputBlockId('fields', 'draft')]: {
        [OutputInputIds.fields.action]: { type: 'plain_text_input', value: draft[1] },
      },
    });

    // A line that is not a field, and an edit that takes away a field the draft uses, are refused in the form.
    const malformed = await h.submit(ViewIds.editOutputs, meta, form(['A matrix', 'matrix: grid']));
    expect(malformed.json.errors[outputBlockId('fields', 'competitors')]).toMatch(
      /^Line 1 \("matrix: grid"\) is not a field/,
    );
    const breaking = await h.submit(ViewIds.editOutputs, meta, form(['Prices only', 'prices: list up to 5']));
    expect(breaking.json.errors[outputBlockId('fields', 'competitors')]).toContain(
      'uses "competitors.matrix", but "competitors" declares no field "matrix" (it declares prices)',
    );
    expect((await doc(o)).revision).toBe(1);

    const ok = await h.submit(
      ViewIds.editOutputs,
      meta,
      form(
        ['A wider matrix', 'matrix: table(name, pricing, offline, platforms) up to 30 — one row per rival'],
        ['Positioning points', 'points: list'],
      ),
    );
    expect(ok.text).toBe('');
    const after = await doc(o);
    expect(after.revision).toBe(2);
    expect(after.proposal!.tickets[0]!.output).toEqual({
      description: 'A wider matrix',
      fields: [
        {
          name: 'matrix',
          type: 'table',
          columns: ['name', 'pricing', 'offline', 'platforms'],
          maxItems: 30,
          description: 'one row per rival',
        },
      ],
    });
    expect(after.proposal!.tickets[1]!.output).toEqual({
      description: 'Positioning points',
      fields: [{ name: 'points', type: 'list' }],
    });
    expect(after.history.at(-1)).toMatchObject({ change: 'outputs of competitors, draft', by: REQUESTER });
    await eventually(
      () =>
        h!.slack
          .callsTo('chat.update')
          .some(
            (c) =>
              c.args.ts === ts &&
              blocksText(c).includes('A wider matrix: matrix (table: name, pricing, offline, platforms)'),
          ),
      5000,
      'the plan message redrawn',
    );

    // The same form again, opened on revision 1: stale, nothing changes.
    const stale = await h.submit(ViewIds.editOutputs, meta, form(['Something else', 'x: text']));
    expect(JSON.stringify(stale.json?.errors ?? {})).toMatch(/changed/i);
    const unchanged = await doc(o);
    expect(unchanged.revision).toBe(2);
    expect(unchanged.proposal!.tickets[0]!.output!.description).toBe('A wider matrix');

    // A stale click on the button opens nothing.
    const opened = h.slack.callsTo('views.open').length;
    await h.click('proposal.edit_outputs', value, REQUESTER, ts);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.slack.callsTo('views.open')).toHaveLength(opened);
  });
});
