/** Tenant isolation (models/tenantScoped.ts): under a workspace's scope nothing of another workspace is seen or changed. */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/models/agent.js';
import { Workspace } from '../../src/models/workspace.js';
import { withTenant } from '../../src/tenant.js';
import { useEmbeddedDatabase } from '../helpers/database.js';

// Every model file, so that one added later is checked without being named here.
const MODELS = resolve(import.meta.dirname, '../../src/models');
for (const file of readdirSync(MODELS)) await import(pathToFileURL(join(MODELS, file)).href);

useEmbeddedDatabase(() => Promise.all([Agent.deleteMany({}), Workspace.deleteMany({})]));

const A = { teamId: 'TA', enterpriseId: null };
const B = { teamId: 'TB', enterpriseId: 'EB' };
const agent = (name: string) => ({ name, title: 'Analyst', persona: 'p', origin: 'roster' as const });

describe('the tenant plugin', () => {
  it('stamps what is created under a scope, and refuses what names another workspace or none', async () => {
    const ada = await withTenant(A, () => Agent.create(agent('Ada')));
    expect(ada.slackTeamId).toBe('TA');
    const bob = await withTenant(B, () => Agent.create(agent('Bob')));
    expect([bob.slackTeamId, bob.slackEnterpriseId]).toEqual(['TB', 'EB']);
    await expect(withTenant(A, () => Agent.create({ ...agent('Eve'), slackTeamId: 'TB' }))).rejects.toThrow(
      /cannot be written as TA/,
    );
    await expect(Agent.create(agent('Nobody'))).rejects.toThrow(/must belong to a workspace/);
    await expect(
      Workspace.updateOne({ runCardStyle: 'plan' }, { $set: { runCardStyle: 'sections' } }, { upsert: true }),
    ).rejects.toThrow(/must name its slackTeamId/);
    expect(await Agent.countDocuments()).toBe(2);
    // A query runs when awaited: the await belongs inside the scope.
    await withTenant(B, async () => {
      await Workspace.updateOne({}, { $set: { runCardStyle: 'sections' } }, { upsert: true });
    });
    expect(await Workspace.findOne().lean()).toMatchObject({ slackTeamId: 'TB', slackEnterpriseId: 'EB' });
  });

  it("never lets a query under one workspace's scope read or change another's, even by id", async () => {
    const ada = await withTenant(A, () => Agent.create(agent('Ada')));
    const bob = await withTenant(B, () => Agent.create(agent('Bob')));
    await withTenant(A, async () => {
      expect((await Agent.find().lean()).map((a) => a.name)).toEqual(['Ada']);
      expect(await Agent.findById(bob._id).lean()).toBeNull();
      // An explicit filter on the other workspace is narrowed, not widened.
      expect(await Agent.countDocuments({ slackTeamId: 'TB' })).toBe(0);
      expect((await Agent.updateOne({ _id: bob._id }, { $set: { title: 'Taken' } })).matchedCount).toBe(0);
      expect((await Agent.deleteMany({})).deletedCount).toBe(1);
      expect(await Agent.aggregate([{ $group: { _id: null, n: { $sum: 1 } } }])).toEqual([]);
    });
    expect((await Agent.findById(bob._id).lean())?.title).toBe('Analyst');
    expect(await Agent.findById(ada._id).lean()).toBeNull();
  });

  it('is applied to every model the app stores, but the installations that say which workspace a request is', () => {
    const names = mongoose.modelNames();
    expect(names.length).toBeGreaterThanOrEqual(13);
    const unscoped = names.filter((name) => !mongoose.model(name).schema.path('slackTeamId'));
    expect(unscoped).toEqual(['Installation']);
  });
});
