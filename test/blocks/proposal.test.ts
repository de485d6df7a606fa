import { describe, expect, it } from 'vitest';
import { ActionIds, decodeControlValue } from '../../src/blocks/actionIds.js';
import { ContextIds } from '../../src/blocks/contextIds.js';
import { type ProposalView, proposalMessage } from '../../src/blocks/proposal.js';
import { estimate } from '../../src/engine/money/estimate.js';
import { createPricer } from '../../src/engine/money/pricing.js';
import type { OrchestrationId } from '../../src/engine/plan/ids.js';
import { largestProposal, sampleProposal } from '../fixtures.js';
import { blockKitViolations } from '../helpers/blockLimits.js';

const ID = '65a1b2c3d4e5f60718293a4b' as OrchestrationId;
const view = (overrides: Partial<ProposalView> = {}): ProposalView => ({
  orchestrationId: ID,
  revision: 1,
  status: 'proposed',
  statusReason: null,
  requesterId: 'U1',
  goal: sampleProposal().goal,
  proposal: sampleProposal(),
  budget: { maxUsd: 1.5, spentUsd: 0.0123 },
  approvedBy: null,
  durationMs: null,
  ...overrides,
});
const allText = (m: { blocks: any[] }) => JSON.stringify(m.blocks);
const buttons = (m: { blocks: any[] }) => m.blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements);
const accessories = (m: { blocks: any[] }) => m.blocks.filter((b) => b.accessory).map((b) => b.accessory);

describe('proposalMessage', () => {
  it('shows goal, roles with hire details, tickets with dependencies, toggles, synthesis, budget and status in blocks', () => {
    const m = proposalMessage(view());
    const text = allText(m);
    expect(text).toContain('offline-first meeting recorder');
    expect(text).toContain('Market analyst');
    expect(text).toContain('_new hire_: *Ada*');
    expect(text).toContain('Skills: market research, pricing');
    expect(text).toContain('Map the competitors');
    expect(text).toContain('waits for: #1 Map the competitors, #2 Compare pricing');
    expect(text).toContain('*Discussion:* on');
    expect(text).toContain('*Research:* off');
    expect(text).toContain('$1.50 max');
    expect(text).toContain('Proposed: awaiting approval');
    // dependency order: the draft comes after both tickets it waits for
    expect(text.indexOf('3. Draft the positioning')).toBeGreaterThan(text.indexOf('2. Compare pricing'));
  });

  it("shows each role's tools and model, naming the default model where a role has none of its own", () => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, tools: ['web_search', 'web_fetch'], model: 'gpt-4o' };
    const text = allText(proposalMessage(view({ proposal: p, defaultModel: 'gpt-4o-mini' })));
    expect(text).toContain('Tools: web_search, web_fetch · Model: gpt-4o');
    expect(text).toContain('Tools: none · Model: default (gpt-4o-mini)');
  });

  it('draws a plan stored before roles had tools and a model as no tools on the default model', () => {
    const p = sampleProposal();
    const { tools: _t, model: _m, ...old } = p.roles[0]!;
    const stored = { ...p, roles: [old as (typeof p.roles)[number], p.roles[1]!] };
    expect(allText(proposalMessage(view({ proposal: stored })))).toContain('Tools: none · Model: default');
  });

  it('offers the review controls, each carrying the orchestration id and the revision it was drawn for', () => {
    const m = proposalMessage(view({ revision: 4 }));
    expect(buttons(m).map((b: any) => b.action_id)).toEqual([
      ActionIds.approve,
      ActionIds.setBudget,
      ActionIds.toggleDiscussion,
      ActionIds.toggleResearch,
      ActionIds.togglePause,
      ActionIds.reviewGates,
      ActionIds.askAgain,
      ActionIds.editOutputs,
      ContextIds.open,
      ActionIds.cancel,
    ]);
    for (const b of buttons(m)) expect(decodeControlValue(b.value)).toEqual({ orchestrationId: ID, revision: 4 });
    expect(buttons(m).find((b: any) => b.action_id === ActionIds.toggleDiscussion).text.text).toBe(
      'Discussion: turn off',
    );
    expect(buttons(m).find((b: any) => b.action_id === ActionIds.toggleResearch).text.text).toBe('Research: turn on');
  });

  it('puts Swap role on every role and Drop ticket on every ticket, targeting it', () => {
    const m = proposalMessage(view({ revision: 2 }));
    const swaps = accessories(m).filter((a: any) => a.action_id === ActionIds.swapRole);
    const drops = accessories(m).filter((a: any) => a.action_id === ActionIds.dropTicket);
    expect(swaps.map((a: any) => [a.text.text, decodeControlValue(a.value)?.target])).toEqual([
      ['Swap role', 'analyst'],
      ['Swap role', 'writer'],
    ]);
    expect(drops.map((a: any) => decodeControlValue(a.value))).toEqual([
      { orchestrationId: ID, revision: 2, target: 'competitors' },
      { orchestrationId: ID, revision: 2, target: 'pricing' },
      { orchestrationId: ID, revision: 2, target: 'draft' },
    ]);
    // The confirm dialog says who depends on the ticket before anything changes.
    expect(drops[0].confirm.text.text).toBe('#3 Draft the positioning depends on it and will run without its result.');
    expect(drops[2].confirm.text.text).toMatch(/Nothing depends on it/);
  });

  it('offers Cancel and Save as template while running, only Save as template once completed, and nothing once failed or cancelled', () => {
    expect(buttons(proposalMessage(view({ status: 'executing' }))).map((b: any) => b.action_id)).toEqual([
      ActionIds.cancel,
      ActionIds.saveTemplate,
    ]);
    expect(accessories(proposalMessage(view({ status: 'executing' })))).toEqual([]);
    expect(buttons(proposalMessage(view({ status: 'completed' }))).map((b: any) => b.action_id)).toEqual([
      ActionIds.saveTemplate,
    ]);
    for (const status of ['failed', 'cancelled'] as const) {
      expect(buttons(proposalMessage(view({ status })))).toEqual([]);
      expect(accessories(proposalMessage(view({ status })))).toEqual([]);
    }
  });

  it('ends showing Completed with the time taken and the spend', () => {
    const m = proposalMessage(
      view({ status: 'completed', durationMs: 125_000, budget: { maxUsd: 1.5, spentUsd: 0.42 }, approvedBy: 'U2' }),
    );
    const text = allText(m);
    expect(text).toContain('Completed');
    expect(text).toContain('took 2m 5s');
    expect(text).toContain('spend $0.42 of $1.50');
    expect(text).toContain('approved by <@U2>');
    expect(m.text).toMatch(/^Completed/);
  });

  it('shows each ticket state once a run exists', () => {
    const m = proposalMessage(
      view({ status: 'executing', ticketStates: { competitors: 'succeeded', pricing: 'running', draft: 'pending' } }),
    );
    expect(allText(m)).toContain(':large_green_circle: *1. Map the competitors*');
  });

  it('escapes user and LLM text so it cannot ping or break markup', () => {
    const p = sampleProposal();
    p.tickets[0]!.title = 'Ping <!channel> and <@U999> & @here *now*';
    const m = proposalMessage(view({ proposal: p }));
    const text = allText(m);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U999>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toMatch(/@here/);
  });

  it('stays within Block Kit limits at 8 roles and 16 tickets with 2,000-character texts, 32 tools a role', () => {
    for (const status of ['proposed', 'executing', 'completed', 'failed'] as const) {
      const p = largestProposal(2000);
      const e = estimate(p, createPricer('claude-sonnet-4-5', {}), 16_384, []);
      const m = proposalMessage(
        view({
          proposal: p,
          goal: p.goal,
          status,
          statusReason: 'x'.repeat(5000),
          estimate: { ...e, overCap: true },
          budgetStop: status === 'failed',
        }),
      );
      expect(blockKitViolations(m)).toEqual([]);
      expect(allText(m)).not.toContain('<!here>');
      expect(m.blocks.filter((b: any) => /\nTools: tool_0_/.test(b.text?.text ?? ''))).toHaveLength(8);
      // Every dependency is named, by its number at least, however little room there is.
      const ticketBlocks = m.blocks.filter((b: any) => /^(:[a-z_]+: )?\*\d+\. /.test(b.text?.text ?? ''));
      expect(ticketBlocks).toHaveLength(16);
      // What each ticket promises is shown under it, even at this size.
      for (const b of ticketBlocks as any[]) expect(b.text.text).toMatch(/\n_Produces:_ Output \d+ &lt;!here&gt;/);
      ticketBlocks.forEach((b: any, i: number) => {
        const waits = /waits for: ([^\n·]*)/.exec(b.text.text)?.[1] ?? '';
        for (const n of [i - 1, i].filter((x) => x >= 1)) expect(waits).toContain(`#${n}`);
      });
      for (const t of p.tickets)
        expect(allText(m)).toContain(
          t.title
            .slice(0, 40)
            .replace(/</g, '&lt;')
            .replace(/>/g, '&gt;')
            .replace(/&(?!lt;|gt;)/g, '&amp;')
            .slice(0, 30),
        );
    }
  });
});

describe('declared outputs on the plan', () => {
  it('shows under a ticket what it produces and the fields it builds on, escaped', () => {
    const p = sampleProposal();
    p.tickets[0]!.output = {
      description: 'A matrix <!channel>',
      fields: [{ name: 'matrix', type: 'table', columns: ['name', 'pricing'] }],
    };
    p.tickets[2]!.uses = ['competitors.matrix'];
    const text = allText(proposalMessage(view({ proposal: p })));
    expect(text).toContain('_Produces:_ A matrix &lt;!channel&gt;: matrix (table: name, pricing)');
    expect(text).toContain('_Builds on:_ competitors.matrix');
    expect(allText(proposalMessage(view()))).not.toContain('_Produces:_');
  });
});

describe('a cancelled proposal', () => {
  it('says who cancelled it as a mention, never as raw escaped text', () => {
    const m = proposalMessage(view({ status: 'cancelled', statusReason: 'Cancelled', cancelledBy: 'U0CANCELER' }));
    expect(allText(m)).toContain('*Why:* Cancelled by <@U0CANCELER>');
    expect(allText(m)).not.toContain('&lt;@');
    // Anything but a user id is left out, rather than drawn as markup.
    const forged = proposalMessage(view({ status: 'cancelled', statusReason: 'Cancelled', cancelledBy: '<!channel>' }));
    expect(allText(forged)).toContain('*Why:* Cancelled"');
  });
});
