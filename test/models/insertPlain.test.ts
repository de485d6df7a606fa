/** insertPlain (models/insertPlain.ts): a plain insert stores what a hydrated one would, tenant stamp and all. */
import { Types } from 'mongoose';
import { describe, expect, it } from 'vitest';
import { insertPlain } from '../../src/models/insertPlain.js';
import { Step } from '../../src/models/run.js';
import { TicketModel } from '../../src/models/ticket.js';
import { withTenant } from '../../src/tenant.js';
import { useEmbeddedDatabase } from '../helpers/database.js';

useEmbeddedDatabase(() => Promise.all([Step.deleteMany({}), TicketModel.deleteMany({})]));

const tenant = { teamId: 'TA', enterpriseId: 'EA' };
/** What is stored, without what differs by nature between two inserts. */
const stored = (doc: object) => {
  const { _id, createdAt, updatedAt, ...rest } = doc as Record<string, unknown>;
  return { ...rest, ids: typeof _id, times: [createdAt instanceof Date, updatedAt instanceof Date] };
};

describe('insertPlain', () => {
  it('stores a step as Step.insertMany does: defaults, timestamps, version key and the workspace in scope', async () => {
    const runId = new Types.ObjectId();
    const fields = (key: string) => ({
      runId,
      orchestrationId: new Types.ObjectId('6b15c25f0cd193ab7803435a'),
      key,
      kind: 'ticket',
      title: 'Map the competitors',
      roleKey: 'analyst',
      agentId: new Types.ObjectId('6b15c25f0cd193ab7803435b'),
      ticketKey: 'competitors',
      dependsOn: ['pricing'],
      declaredOutput: null,
      reviewGate: false,
      order: '3', // cast, as a hydrated insert casts it
    });
    await withTenant(tenant, async () => {
      await Step.insertMany([fields('hydrated')]);
      await insertPlain(Step, [fields('plain')]);
    });
    const hydrated = await Step.findOne({ key: 'hydrated' }).lean();
    const plain = await Step.findOne({ key: 'plain' }).lean();
    expect(plain).toMatchObject({ slackTeamId: 'TA', slackEnterpriseId: 'EA', status: 'pending', order: 3, __v: 0 });
    expect(stored({ ...plain!, key: 'hydrated' })).toEqual(stored(hydrated!));
  });

  it('refuses a document of another workspace, as every insert does', async () => {
    const ticket = {
      orchestrationId: new Types.ObjectId(),
      projectId: new Types.ObjectId(),
      key: 'a',
      title: 'T',
      description: 'd',
      roleKey: 'analyst',
      agentId: new Types.ObjectId(),
      dependsOn: [],
      slackTeamId: 'TB',
    };
    await expect(withTenant(tenant, () => insertPlain(TicketModel, [ticket]))).rejects.toThrow(
      /cannot be written as TA/,
    );
  });
});
