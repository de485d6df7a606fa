/** Saved plans in the database (engine/templates/templates.ts): saving, finding, listing with costs, using. */
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { validateProposal } from '../../../src/engine/plan/validate.js';
import {
  findTemplate,
  listTemplates,
  median,
  proposalFromTemplate,
  type SaveTemplateInput,
  saveTemplate,
  usageOf,
} from '../../../src/engine/templates/templates.js';
import { Template } from '../../../src/models/template.js';
import { GOAL, identifiersOf, richProposal } from './fixtures.js';
import { OTHER_TEAM, REQUESTER, storeRun, TEAM, useDatabase } from './support.js';

useDatabase();

const MARKS = { company: 'Acme', quarter: 'Q3' };

async function save(overrides: Partial<SaveTemplateInput> = {}) {
  const orchestrationId = overrides.orchestrationId ?? (await storeRun());
  return saveTemplate({
    teamId: TEAM,
    name: 'weekly-brief',
    description: 'The weekly competitor brief',
    orchestrationId,
    marks: MARKS,
    by: REQUESTER,
    ...overrides,
  });
}

describe('saveTemplate', () => {
  it('keeps the approved revision of the plan, the goal as a pattern and each parameter with its value', async () => {
    const approved = richProposal();
    const later = { ...approved, budget: { maxUsd: 9 } };
    // Approved on revision 1; revision 2 is there only to show which one is kept.
    const orchestrationId = await storeRun({ status: 'completed', revisions: [approved, later], approvedRevision: 1 });
    const saved = await save({ orchestrationId, name: '  Weekly-Brief ', description: '  Weekly  ' });
    expect(saved.ok).toBe(true);
    if (!saved.ok) return;
    expect(saved.template).toMatchObject({
      slackTeamId: TEAM,
      name: 'weekly-brief',
      description: 'Weekly',
      goalPattern: 'Weekly competitor brief on {{company}} for {{quarter}}, for the analyst team',
      params: [
        { name: 'company', original: 'Acme' },
        { name: 'quarter', original: 'Q3' },
      ],
      proposal: approved,
      createdBy: REQUESTER,
    });
    expect(saved.template.sourceOrchestrationId.toString()).toBe(orchestrationId);
    expect(saved.template.createdAt).toBeInstanceOf(Date);
    expect(await Template.countDocuments()).toBe(1);
  });

  it.each(['approved', 'executing', 'synthesizing', 'completed'] as const)(
    'saves a plan that is %s',
    async (status) => {
      expect((await save({ orchestrationId: await storeRun({ status }) })).ok).toBe(true);
    },
  );

  it.each(['planning', 'proposed', 'failed', 'cancelled'] as const)('refuses a plan that is %s', async (status) => {
    const saved = await save({ orchestrationId: await storeRun({ status }) });
    expect(saved).toEqual({ ok: false, error: `Only an approved plan can be saved, and this one is ${status}.` });
    expect(await Template.countDocuments()).toBe(0);
  });

  it('refuses a name that is taken in the team, and allows it in another team', async () => {
    expect((await save()).ok).toBe(true);
    expect(await save({ name: 'WEEKLY-BRIEF' })).toEqual({
      ok: false,
      error: 'There is already a saved plan named weekly-brief; choose another name.',
    });
    const elsewhere = await storeRun({ teamId: OTHER_TEAM });
    expect((await save({ teamId: OTHER_TEAM, orchestrationId: elsewhere })).ok).toBe(true);
    expect(await Template.countDocuments()).toBe(2);
  });

  it('gives the name to one of many saves at once', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, () => storeRun()));
    const results = await Promise.all(runs.map((orchestrationId) => save({ orchestrationId })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await Template.countDocuments({ slackTeamId: TEAM, name: 'weekly-brief' })).toBe(1);
  });

  it('says what is wrong with a name, a description, marks or the orchestration', async () => {
    expect((await save({ name: 'weekly brief' })).ok).toBe(false);
    expect(await save({ name: '' })).toMatchObject({ ok: false, error: expect.stringMatching(/short name/) });
    expect(await save({ description: 'x'.repeat(301) })).toMatchObject({ error: expect.stringMatching(/under 300/) });
    expect(await save({ marks: { company: 'Globex' } })).toEqual({
      ok: false,
      error: '"Globex" (for company) is not in the goal.',
    });
    expect(await save({ orchestrationId: 'nonsense' })).toEqual({
      ok: false,
      error: 'That orchestration was not found.',
    });
    expect(await save({ orchestrationId: new Types.ObjectId().toString() })).toMatchObject({ ok: false });
    const elsewhere = await storeRun({ teamId: OTHER_TEAM });
    expect(await save({ orchestrationId: elsewhere })).toEqual({
      ok: false,
      error: 'That orchestration was not found.',
    });
    expect(await Template.countDocuments()).toBe(0);
  });
});

describe('findTemplate and listTemplates', () => {
  it('finds by name in any case, within the team only', async () => {
    await save();
    expect((await findTemplate(TEAM, ' Weekly-BRIEF'))?.name).toBe('weekly-brief');
    expect(await findTemplate(OTHER_TEAM, 'weekly-brief')).toBeNull();
    expect(await findTemplate(null, 'weekly-brief')).toBeNull();
  });

  it('counts the runs made from each and gives the median cost of completed ones from three on', async () => {
    const brief = await save();
    const digest = await save({ name: 'digest', marks: {} });
    if (!brief.ok || !digest.ok) throw new Error('not saved');
    const templateId = brief.template._id;
    for (const spentUsd of [1, 3]) await storeRun({ status: 'completed', templateId, spentUsd });
    await storeRun({ status: 'failed', templateId, spentUsd: 100 });
    await storeRun({ status: 'executing', templateId, spentUsd: 50 });
    expect((await listTemplates(TEAM)).map((t) => [t.name, t.runs, t.typicalUsd])).toEqual([
      ['digest', 0, null],
      ['weekly-brief', 4, null],
    ]);
    await storeRun({ status: 'completed', templateId, spentUsd: 2.5 });
    const [, listed] = await listTemplates(TEAM);
    expect(listed).toMatchObject({ name: 'weekly-brief', runs: 5, typicalUsd: 2.5, goalPattern: expect.any(String) });
    expect(await listTemplates(OTHER_TEAM)).toEqual([]);
  });

  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('proposalFromTemplate', () => {
  it('makes the goal and the plan from the values, keeping the wiring', async () => {
    const saved = await save();
    if (!saved.ok) throw new Error(saved.error);
    const made = await proposalFromTemplate(TEAM, 'Weekly-Brief', 'company="Globex Corp" quarter=Q4');
    expect(made).toEqual({
      ok: true,
      goal: 'Weekly competitor brief on Globex Corp for Q4, for the analyst team',
      proposal: validateProposal(
        richProposal(GOAL.replace('Acme', 'Globex Corp').replace('Q3', 'Q4'), 'Globex Corp in Q4'),
      ).proposal,
      templateId: saved.template._id.toString(),
    });
    if (made.ok) expect(identifiersOf(made.proposal)).toEqual(identifiersOf(richProposal()));
  });

  it('says what is missing, with how to use it', async () => {
    const saved = await save();
    if (!saved.ok) throw new Error(saved.error);
    expect(usageOf(saved.template)).toBe('/orchestrate use weekly-brief company="…" quarter="…"');
    expect(await proposalFromTemplate(TEAM, 'weekly-brief', 'company=Globex')).toEqual({
      ok: false,
      error: 'Missing quarter. Use: /orchestrate use weekly-brief company="…" quarter="…"',
    });
  });

  it('names the saved plans when the name is unknown', async () => {
    await save();
    expect(await proposalFromTemplate(TEAM, 'weekly', '')).toEqual({
      ok: false,
      error: 'There is no saved plan named weekly. Saved plans: weekly-brief.',
    });
    expect(await proposalFromTemplate(OTHER_TEAM, 'weekly-brief', '')).toEqual({
      ok: false,
      error: 'There is no saved plan named weekly-brief. No plan is saved yet.',
    });
  });

  it('refuses values that break the plan, and checks the roster it is given', async () => {
    await save();
    const long = await proposalFromTemplate(TEAM, 'weekly-brief', `company=${'x'.repeat(150)} quarter=Q4`);
    expect(long).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^weekly-brief cannot be planned with those values: roles\.0\.title/),
    });
    const gone = await proposalFromTemplate(TEAM, 'weekly-brief', 'company=Globex quarter=Q4', { rosterNames: [] });
    expect(gone).toMatchObject({
      ok: false,
      error: expect.stringMatching(/existingAgent "Wren" is not in the roster/),
    });
  });
});
