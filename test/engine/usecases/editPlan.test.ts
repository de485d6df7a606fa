/** Editing a plan under review on its own (usecases/editPlan.ts): the click edits, the forms, and their refusals. */
import type { ModalView } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { decodeControlValue, InputIds, ViewIds } from '../../../src/blocks/actionIds.js';
import { notEditable } from '../../../src/blocks/replies.js';
import { staleText } from '../../../src/blocks/stalePlan.js';
import type { Proposal } from '../../../src/engine/plan/proposal.js';
import { editByClick, editModal, submitBudget, submitSwapRole } from '../../../src/engine/usecases/editPlan.js';
import type { Services } from '../../../src/services.js';
import { sampleProposal } from '../../fixtures.js';
import { APPROVER, clickOn, load, makeServices, REQUESTER, rosterAgent, seed, useDatabase } from './support.js';

useDatabase();

const BLOCKS = {
  rosterAgent: InputIds.rosterAgent.block,
  hireName: InputIds.hireName.block,
  hirePersona: InputIds.hirePersona.block,
  hireSkills: InputIds.hireSkills.block,
  tools: InputIds.roleTools.block,
  model: InputIds.roleModel.block,
};
const BUDGET = InputIds.budget.block;
const STALE_FORM = /^The plan changed while this form was open \(it is now revision 2\)\./;

const viewOf = (outcome: { ok: true; view: ModalView } | { ok: false }): ModalView => {
  if (!outcome.ok) throw new Error('the modal did not open');
  return outcome.view;
};

describe('editByClick', () => {
  it('drops a ticket as revision 2, removes the edges to it, records the change and redraws', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    expect(await editByClick(services, clickOn(id, 1, { target: 'competitors' }), 'dropTicket')).toBeNull();
    const doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.tickets.map((t) => t.key)).toEqual(['pricing', 'draft']);
    expect(doc.proposal!.tickets.find((t) => t.key === 'draft')!.dependsOn).toEqual(['pricing']);
    expect(doc.history.at(-1)).toMatchObject({ revision: 2, change: 'dropped ticket competitors', by: REQUESTER });
    expect(doc.history[0]!.proposal.tickets).toHaveLength(3);
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('refuses to drop the last ticket, says why, and changes nothing', async () => {
    const { services, engine } = makeServices();
    const only = sampleProposal().tickets[0]!;
    const id = await seed({ proposal: sampleProposal({ tickets: [only] }) });
    const reply = await editByClick(services, clickOn(id, 1, { target: only.key }), 'dropTicket');
    expect(reply?.text).toMatch(
      /^:warning: That is the last ticket: a plan needs at least one\..*Nothing was changed\.$/,
    );
    const doc = await load(id);
    expect(doc.revision).toBe(1);
    expect(doc.proposal!.tickets).toHaveLength(1);
    expect(engine.redraw).not.toHaveBeenCalled();
  });

  it('says a ticket that is already gone is gone', async () => {
    const { services } = makeServices();
    const id = await seed();
    const reply = await editByClick(services, clickOn(id, 1, { target: 'ghost' }), 'dropTicket');
    expect(reply?.text).toContain('That ticket is not in this plan any more.');
    expect((await load(id)).revision).toBe(1);
  });

  it('toggles discussion and research, one revision each', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    expect(await editByClick(services, clickOn(id, 1), 'toggleDiscussion')).toBeNull();
    let doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.discussion.enabled).toBe(false);
    expect(doc.proposal!.research.enabled).toBe(false);

    expect(await editByClick(services, clickOn(id, 2, { userId: APPROVER }), 'toggleResearch')).toBeNull();
    doc = await load(id);
    expect(doc.revision).toBe(3);
    expect(doc.proposal!.research).toMatchObject({ enabled: true, role: 'analyst' });
    expect(doc.proposal!.research.prompt).not.toBe('');
    expect(doc.history.map((h) => h.change).slice(1)).toEqual(['toggled discussion', 'toggled research']);
    expect(engine.redraw).toHaveBeenCalledTimes(2);
  });

  it('answers a click on an older revision with the current plan and changes nothing', async () => {
    const { services } = makeServices();
    const id = await seed({ revision: 2 });
    const reply = await editByClick(services, clickOn(id, 1, { target: 'pricing' }), 'dropTicket');
    expect(reply?.text).toBe(staleText(1, 2));
    const doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.tickets).toHaveLength(3);
  });

  it('refuses an edit once the plan is approved', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ status: 'approved' });
    const reply = await editByClick(services, clickOn(id, 1), 'toggleResearch');
    expect(reply?.text).toBe(notEditable('approved'));
    expect((await load(id)).proposal!.research.enabled).toBe(false);
    expect(engine.redraw).not.toHaveBeenCalled();
  });
});

describe('editModal', () => {
  it('opens Swap role for a role in the plan, with the roster and the role in its metadata', async () => {
    const { services } = makeServices();
    await rosterAgent('Grace');
    const id = await seed();
    const view = viewOf(await editModal(services, clickOn(id, 1, { target: 'analyst' }), 'swapRole'));
    expect(view.callback_id).toBe(ViewIds.swapRole);
    expect(decodeControlValue(view.private_metadata)).toEqual({ orchestrationId: id, revision: 1, target: 'analyst' });
    expect(JSON.stringify(view.blocks)).toContain('Market analyst');
    expect(JSON.stringify(view.blocks)).toContain('"value":"Grace"');
  });

  it('refuses a role that is not in the plan', async () => {
    const { services } = makeServices();
    const id = await seed();
    const outcome = await editModal(services, clickOn(id, 1, { target: 'ghost' }), 'swapRole');
    expect(outcome).toEqual({ ok: false, reply: { text: 'That role is not in this plan any more.' } });
  });

  it('opens Set budget with the current cap', async () => {
    const { services } = makeServices();
    const id = await seed({ maxUsd: 4 });
    const view = viewOf(await editModal(services, clickOn(id, 1), 'setBudget'));
    expect(view.callback_id).toBe(ViewIds.setBudget);
    expect(decodeControlValue(view.private_metadata)).toEqual({ orchestrationId: id, revision: 1 });
    expect(JSON.stringify(view.blocks)).toContain('"initial_value":"4.00"');
    expect(JSON.stringify(view.blocks)).toContain('at most $100.00');
  });

  it('does not open on an older revision or a plan no longer editable', async () => {
    const { services } = makeServices();
    const stale = await seed({ revision: 2 });
    const outcome = await editModal(services, clickOn(stale, 1), 'setBudget');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.reply.text).toBe(staleText(1, 2));
    const approved = await seed({ status: 'approved' });
    expect(await editModal(services, clickOn(approved, 1, { target: 'analyst' }), 'swapRole')).toEqual({
      ok: false,
      reply: { text: notEditable('approved') },
    });
  });
});

describe('submitSwapRole', () => {
  const noHire = { name: '', persona: '', skills: [], tools: null, model: null };

  it('gives the role to a roster agent, spelled as the roster spells it, and redraws', async () => {
    const { services, engine } = makeServices();
    await rosterAgent('Grace');
    const id = await seed();
    const form = { agent: 'grace', ...noHire };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toBeNull();
    const doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.roles.find((r) => r.key === 'analyst')).toMatchObject({ existingAgent: 'Grace', hire: null });
    expect(doc.history.at(-1)!.change).toBe('role analyst → roster agent grace');
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('shows an agent that is not in the roster as an error on the select', async () => {
    const { services } = makeServices();
    const id = await seed();
    const errors = await submitSwapRole(
      services,
      clickOn(id, 1, { target: 'analyst' }),
      { agent: 'Nobody', ...noHire },
      BLOCKS,
    );
    expect(Object.keys(errors ?? {})).toEqual([BLOCKS.rosterAgent]);
    expect(errors?.[BLOCKS.rosterAgent]).toContain('"Nobody" is not in the roster');
    expect((await load(id)).revision).toBe(1);
  });

  it('refuses a new hire with no name on the name field, and stores no revision', async () => {
    const { services, engine } = makeServices();
    const id = await seed();
    const form = {
      agent: null,
      name: '',
      persona: 'A careful analyst.',
      skills: ['pricing'],
      tools: null,
      model: null,
    };
    const errors = await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS);
    expect(errors).toEqual({ [BLOCKS.hireName]: 'Give the new hire a name, or pick an agent from the roster.' });
    expect((await load(id)).revision).toBe(1);
    expect(engine.redraw).not.toHaveBeenCalled();
  });

  it('shows each bad field of a new hire next to it', async () => {
    const { services } = makeServices();
    const id = await seed();
    const form = {
      agent: null,
      name: 'N'.repeat(81),
      persona: '',
      skills: Array.from({ length: 13 }, (_, i) => `s${i}`),
      tools: null,
      model: null,
    };
    const errors = await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS);
    expect(errors).toEqual({
      [BLOCKS.hireName]: 'At most 80 characters; this is 81.',
      [BLOCKS.hirePersona]: 'Describe the new hire in a sentence or two.',
      [BLOCKS.hireSkills]: 'At most 12 skills; these are 13.',
    });
  });

  it('stores a valid new hire', async () => {
    const { services } = makeServices();
    const id = await seed();
    const hire = { name: 'Quinn', persona: 'A pricing specialist.', skills: ['pricing', 'SaaS'] };
    expect(
      await submitSwapRole(
        services,
        clickOn(id, 1, { target: 'writer' }),
        { agent: null, ...hire, tools: null, model: null },
        BLOCKS,
      ),
    ).toBeNull();
    const doc = await load(id);
    expect(doc.proposal!.roles.find((r) => r.key === 'writer')).toMatchObject({ existingAgent: null, hire });
    expect(doc.history.at(-1)!.change).toBe('role writer → new hire Quinn');
  });

  it('refuses a form opened on an older revision', async () => {
    const { services, engine } = makeServices();
    await rosterAgent('Grace');
    const id = await seed({ revision: 2 });
    const errors = await submitSwapRole(
      services,
      clickOn(id, 1, { target: 'analyst' }),
      { agent: 'Grace', ...noHire },
      BLOCKS,
    );
    expect(errors?.[BLOCKS.hireName]).toMatch(STALE_FORM);
    expect((await load(id)).revision).toBe(2);
    expect(engine.redraw).not.toHaveBeenCalled();
  });
});

describe("Swap role: the role's tools and model", () => {
  const TOOLS = [
    { name: 'web_search', summary: 'Search the web.' },
    { name: 'web_fetch', summary: 'Read one page as Markdown.' },
  ];
  /** The use case services with a tool catalog, and a second model people may pick. */
  const withChoices = (): ReturnType<typeof makeServices> & { services: Services } => {
    const made = makeServices();
    const { config } = made.services;
    const services = {
      ...made.services,
      config: { ...config, llm: { ...config.llm, models: ['gpt-4o-mini', 'gpt-4o'] } },
      toolChoices: TOOLS,
    };
    return { ...made, services };
  };
  const keepAda = {
    agent: null,
    name: 'Ada',
    persona: 'A sharp market analyst who cites sources.',
    skills: ['market research', 'pricing'],
  };
  const withAnalystKit = (tools: string[], model: string | null): Proposal => {
    const p = sampleProposal();
    p.roles[0] = { ...p.roles[0]!, tools, model };
    return p;
  };

  it('opens with the tools that exist and the models people may pick', async () => {
    const { services } = withChoices();
    const id = await seed({ proposal: withAnalystKit(['web_fetch'], null) });
    const view = viewOf(await editModal(services, clickOn(id, 1, { target: 'analyst' }), 'swapRole'));
    const tools = view.blocks.find((b) => b.block_id === InputIds.roleTools.block) as any;
    expect(tools.element.options.map((o: any) => o.value)).toEqual(['web_fetch', 'web_search']);
    expect(tools.element.initial_options.map((o: any) => o.value)).toEqual(['web_fetch']);
    const model = view.blocks.find((b) => b.block_id === InputIds.roleModel.block) as any;
    expect(model.element.options.map((o: any) => o.value)).toEqual(['gpt-4o-mini', 'gpt-4o']);
  });

  it("changes the role's tools and model as the next revision, saying what changed, and redraws", async () => {
    const { services, engine } = withChoices();
    const id = await seed();
    const form = { ...keepAda, tools: ['web_search', 'web_fetch'], model: 'gpt-4o' };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toBeNull();
    const doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.roles[0]).toMatchObject({
      hire: { name: 'Ada' },
      tools: ['web_search', 'web_fetch'],
      model: 'gpt-4o',
    });
    expect(doc.history.at(-1)!.change).toBe('role analyst: tools → web_search, web_fetch; model → gpt-4o');
    expect(doc.history[0]!.proposal.roles[0]!.tools).toEqual([]);
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);

    // Back to the default model and no tools: the role then follows LLM_MODEL.
    const back = { ...keepAda, tools: [], model: 'gpt-4o-mini' };
    expect(await submitSwapRole(services, clickOn(id, 2, { target: 'analyst' }), back, BLOCKS)).toBeNull();
    const after = await load(id);
    expect(after.proposal!.roles[0]).toMatchObject({ tools: [], model: null });
    expect(after.history.at(-1)!.change).toBe('role analyst: tools → none; model → default');
  });

  it('says what changed when the agent and the tools change together', async () => {
    const { services } = withChoices();
    await rosterAgent('Grace');
    const id = await seed();
    const form = { agent: 'Grace', name: '', persona: '', skills: [], tools: ['web_search'], model: 'gpt-4o-mini' };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toBeNull();
    expect((await load(id)).history.at(-1)!.change).toBe('role analyst → roster agent Grace; tools → web_search');
  });

  it('shows a tool or a model that is not offered next to its field, and stores nothing', async () => {
    const { services, engine } = withChoices();
    const id = await seed();
    const form = { ...keepAda, tools: ['web_search', 'shell'], model: 'gpt-5-ultra' };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toEqual({
      [BLOCKS.tools]: 'Not an available tool: shell.',
      [BLOCKS.model]: '"gpt-5-ultra" is not one of the models offered (ORCHESTRATE_MODELS).',
    });
    expect((await load(id)).revision).toBe(1);
    expect(engine.redraw).not.toHaveBeenCalled();
  });

  it('keeps the tools and model when the form had no such fields, less what is no longer offered', async () => {
    const { services } = withChoices();
    const id = await seed({ proposal: withAnalystKit(['web_search', 'gone_tool'], 'gpt-4o') });
    const form = { ...keepAda, name: 'Ada Lovelace', tools: null, model: null };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toBeNull();
    expect((await load(id)).proposal!.roles[0]).toMatchObject({
      hire: { name: 'Ada Lovelace' },
      tools: ['web_search'],
      model: 'gpt-4o',
    });
  });

  it('refuses any edit to a plan whose roles name a tool no longer offered, naming it', async () => {
    const { services, engine } = withChoices();
    const id = await seed({ proposal: withAnalystKit(['gone_tool'], null) });
    const reply = await editByClick(services, clickOn(id, 1), 'toggleDiscussion');
    expect(reply?.text).toContain('tool "gone_tool" is not one of the available tools');
    expect((await load(id)).revision).toBe(1);
    expect(engine.redraw).not.toHaveBeenCalled();
    // Swap role is the way out: saving drops what is gone, as its modal says.
    const form = { ...keepAda, tools: [], model: null };
    expect(await submitSwapRole(services, clickOn(id, 1, { target: 'analyst' }), form, BLOCKS)).toBeNull();
    expect((await load(id)).proposal!.roles[0]!.tools).toEqual([]);
  });

  it('edits a plan stored before roles had tools and a model, which then gets both', async () => {
    const { services } = withChoices();
    const p = sampleProposal();
    const old = { ...p, roles: p.roles.map(({ tools: _t, model: _m, ...role }) => role) } as unknown as Proposal;
    const id = await seed({ proposal: old });
    expect(await editByClick(services, clickOn(id, 1), 'toggleDiscussion')).toBeNull();
    expect((await load(id)).proposal!.roles.map((r) => [r.tools, r.model])).toEqual([
      [[], null],
      [[], null],
    ]);
  });
});

describe('submitBudget', () => {
  it('refuses a cap above ORCHESTRATE_MAX_BUDGET_USD, or not positive', async () => {
    const { services } = makeServices();
    const id = await seed();
    expect(await submitBudget(services, clickOn(id, 1), 150, BUDGET)).toEqual({
      [BUDGET]: 'The cap can be at most $100.00 (ORCHESTRATE_MAX_BUDGET_USD).',
    });
    for (const usd of [0, -3, Number.NaN]) {
      expect((await submitBudget(services, clickOn(id, 1), usd, BUDGET))?.[BUDGET]).toMatch(/^Enter a positive amount/);
    }
    expect((await load(id)).revision).toBe(1);
  });

  it('refuses a cap below what planning already spent', async () => {
    const { services } = makeServices();
    const id = await seed({ spentUsd: 0.5 });
    expect(await submitBudget(services, clickOn(id, 1), 0.25, BUDGET)).toEqual({
      [BUDGET]: 'Planning already spent $0.5000; the cap cannot be lower.',
    });
    expect((await load(id)).budget.maxUsd).toBe(1.5);
  });

  it('stores a valid cap, rounded to cents, on the plan and the budget, and redraws', async () => {
    const { services, engine } = makeServices();
    const id = await seed({ spentUsd: 0.5 });
    expect(await submitBudget(services, clickOn(id, 1, { userId: APPROVER }), 12.346, BUDGET)).toBeNull();
    const doc = await load(id);
    expect(doc.revision).toBe(2);
    expect(doc.proposal!.budget.maxUsd).toBe(12.35);
    expect(doc.budget).toMatchObject({ maxUsd: 12.35, spentUsd: 0.5 });
    expect(doc.history.at(-1)).toMatchObject({ change: 'budget → $12.35', by: APPROVER });
    expect(engine.redraw).toHaveBeenCalledExactlyOnceWith(id);
  });

  it('refuses a form opened on an older revision', async () => {
    const { services } = makeServices();
    const id = await seed({ revision: 2 });
    const errors = await submitBudget(services, clickOn(id, 1), 5, BUDGET);
    expect(errors?.[BUDGET]).toMatch(STALE_FORM);
    expect((await load(id)).budget.maxUsd).toBe(1.5);
  });
});
