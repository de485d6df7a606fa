/**
 * The roster as stored: retired agents left out of everything that offers agents to a plan, one
 * entry per name with the work of every namesake, a page's records (models, tools, runs, spend),
 * and edits and retirement as conditional updates on the version people saw.
 */
import { Types } from 'mongoose';
import { beforeEach, describe, expect, it } from 'vitest';
import { ROSTER_PAGE_SIZE } from '../../../src/blocks/agents.js';
import { agentAt, editAgent, retireAgent } from '../../../src/engine/crew/agentChanges.js';
import { planningRoster, rosterAgents, rosterChoices } from '../../../src/engine/crew/roster.js';
import { loadRosterPage } from '../../../src/engine/crew/rosterPage.js';
import { Agent } from '../../../src/models/agent.js';
import { Step } from '../../../src/models/run.js';
import { sampleProposal, TEAM_ID } from '../../fixtures.js';
import { APPROVER, seed, useDatabase } from '../usecases/support.js';

useDatabase();
beforeEach(async () => {
  await Step.deleteMany({});
});

const make = (name: string, origin: 'roster' | 'hire' = 'roster', extra: Record<string, unknown> = {}) =>
  Agent.create({
    slackTeamId: TEAM_ID,
    name,
    title: `${name}'s title`,
    persona: `${name} works hard.`,
    skills: ['research'],
    origin,
    ...extra,
  });

let order = 0;
async function stepOf(
  agentId: Types.ObjectId,
  run: { runId: Types.ObjectId; orchestrationId: string },
  fields: { roleKey?: string; model?: string | null; costUsd?: number; status?: 'succeeded' | 'failed' } = {},
) {
  await Step.create({
    slackTeamId: TEAM_ID,
    runId: run.runId,
    orchestrationId: run.orchestrationId,
    key: `step-${++order}`,
    kind: 'ticket',
    title: 'A ticket',
    roleKey: fields.roleKey ?? 'analyst',
    agentId,
    order,
    status: fields.status ?? 'succeeded',
    model: fields.model === undefined ? 'gpt-4o-mini' : fields.model,
    costUsd: fields.costUsd ?? 0.1,
  });
}

describe('the roster leaves retired agents out', () => {
  it('of the roster, the planning roster and Swap role’s choices; old runs still find them by id', async () => {
    const grace = await make('Grace');
    await make('Linus');
    expect(await retireAgent(String(grace._id), 0, APPROVER)).toMatchObject({ ok: true });
    const roster = await rosterAgents();
    expect(roster.map((a) => a.name)).toEqual(['Linus']);
    expect(planningRoster(roster, 'research').map((a) => a.name)).toEqual(['Linus']);
    expect(rosterChoices(roster, 'Grace').map((a) => a.name)).toEqual(['Linus']);
    // Lists built elsewhere are filtered too.
    const stored = await Agent.find().lean();
    expect(planningRoster(stored, 'research').map((a) => a.name)).toEqual(['Linus']);
    expect(rosterChoices(stored, 'Grace').map((a) => a.name)).toEqual(['Linus']);
    expect((await Agent.findById(grace._id).lean())?.name).toBe('Grace');
    expect((await rosterAgents({ includeRetired: true })).map((a) => a.name)).toEqual(['Grace', 'Linus']);
  });

  it('retires every namesake, so that an older hire of the name does not take its place', async () => {
    await make('Mia', 'hire');
    const latest = await make('mia', 'hire');
    expect((await rosterAgents()).map((a) => String(a._id))).toEqual([String(latest._id)]);
    await retireAgent(String(latest._id), 0, APPROVER);
    expect(await rosterAgents()).toEqual([]);
    expect(await Agent.countDocuments({ retiredBy: APPROVER })).toBe(2);
  });
});

describe('changes on the version people saw', () => {
  it('edits once; a second edit or a retire drawn for the old version changes nothing and says why', async () => {
    const grace = await make('Grace');
    const id = String(grace._id);
    const fields = { title: 'Principal analyst', persona: 'Maps markets.', skills: ['pricing'] };
    const edited = await editAgent(id, 0, fields, APPROVER);
    expect(edited).toMatchObject({ ok: true, agent: { ...fields, version: 1, editedBy: APPROVER } });
    expect(await editAgent(id, 0, { ...fields, title: 'Other' }, APPROVER)).toMatchObject({
      ok: false,
      why: 'changed',
    });
    expect(await retireAgent(id, 0, APPROVER)).toMatchObject({ ok: false, why: 'changed' });
    expect(await retireAgent(id, 1, APPROVER)).toMatchObject({ ok: true });
    expect(await editAgent(id, 2, fields, APPROVER)).toMatchObject({ ok: false, why: 'retired' });
    expect(await agentAt(id, 2)).toMatchObject({ ok: false, why: 'retired' });
    expect(await agentAt(new Types.ObjectId().toHexString(), 0)).toEqual({ ok: false, why: 'missing' });
    expect((await Agent.findById(id).lean())?.title).toBe('Principal analyst');
  });

  it('counts an agent stored before versions as version 0', async () => {
    const { insertedId } = await Agent.collection.insertOne({
      name: 'Old',
      title: 'Veteran',
      persona: 'Was here first.',
      skills: [],
      origin: 'roster',
      hiredFor: null,
      createdAt: new Date(),
    });
    expect((await loadRosterPage(0, true)).agents[0]).toMatchObject({ name: 'Old', version: 0 });
    expect(await retireAgent(String(insertedId), 0, APPROVER)).toMatchObject({ ok: true });
  });
});

describe('loadRosterPage', () => {
  it('gives each agent its record: models, tools of its roles, runs done and spend, namesakes included', async () => {
    const proposal = sampleProposal();
    proposal.roles[0] = { ...proposal.roles[0]!, tools: ['web_search', 'web_fetch'] };
    const first = { runId: new Types.ObjectId(), orchestrationId: await seed({ proposal, status: 'completed' }) };
    const second = { runId: new Types.ObjectId(), orchestrationId: await seed({ status: 'completed' }) };
    const failedOnly = { runId: new Types.ObjectId(), orchestrationId: await seed({ status: 'failed' }) };
    const olderMia = await make('Mia', 'hire');
    const mia = await make('Mia', 'hire');
    const idle = await make('Idle');
    await stepOf(olderMia._id, first, { costUsd: 0.25, model: 'gpt-4o-mini' });
    await stepOf(olderMia._id, first, { costUsd: 0.25, model: 'claude-sonnet-4-5' });
    await stepOf(mia._id, second, { roleKey: 'writer', costUsd: 0.5, model: null });
    await stepOf(mia._id, failedOnly, { costUsd: 0.125, status: 'failed' });

    const page = await loadRosterPage(0, false);
    expect(page).toMatchObject({ total: 2, page: 0, pageCount: 1, canManage: false, notice: null });
    const byName = new Map(page.agents.map((a) => [a.name, a]));
    expect(byName.get('Mia')).toMatchObject({
      agentId: String(mia._id),
      hired: true,
      record: { models: ['claude-sonnet-4-5', 'gpt-4o-mini'], tools: ['web_fetch', 'web_search'], runsDone: 2 },
    });
    expect(byName.get('Mia')?.record.spentUsd).toBeCloseTo(1.125);
    expect(byName.get('Idle')).toMatchObject({
      agentId: String(idle._id),
      hired: false,
      record: { models: [], tools: [], runsDone: 0, spentUsd: 0 },
    });
  });

  it('pages by name and clamps a page past the end to the last', async () => {
    for (let i = 0; i < ROSTER_PAGE_SIZE * 2 + 3; i++) await make(`Agent ${String(i).padStart(2, '0')}`);
    const second = await loadRosterPage(1, true);
    expect(second.agents.map((a) => a.name)[0]).toBe(`Agent ${String(ROSTER_PAGE_SIZE).padStart(2, '0')}`);
    expect(second).toMatchObject({ page: 1, pageCount: 3, total: ROSTER_PAGE_SIZE * 2 + 3 });
    const past = await loadRosterPage(99, true, 'note');
    expect(past).toMatchObject({ page: 2, notice: 'note' });
    expect(past.agents).toHaveLength(3);
  });
});
