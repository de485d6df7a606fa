/**
 * Where each workspace's token comes from with OAuth: the installation store Bolt writes and reads,
 * the token a job takes for the workspace in scope (its own install, or its organization's), the
 * client that calls as that workspace, and what is left of documents stored before tenancy.
 */
import type { Installation as SlackInstallation } from '@slack/bolt';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachUntaggedDocuments,
  settleUntaggedDocuments,
  warnOfUntaggedDocuments,
} from '../../../src/engine/install/backfill.js';
import { Installations } from '../../../src/engine/install/installations.js';
import { TenantWebClient } from '../../../src/engine/install/tenantClient.js';
import { classifyFailure } from '../../../src/engine/slack/slackCalls.js';
import { hasCode } from '../../../src/errors.js';
import { Agent } from '../../../src/models/agent.js';
import { Installation } from '../../../src/models/installation.js';
import { Orchestration } from '../../../src/models/orchestration.js';
import { Workspace } from '../../../src/models/workspace.js';
import { withTenant } from '../../../src/tenant.js';
import { FakeSlack } from '../../fakes/fakeSlack.js';
import { captureLogger } from '../../helpers/captureLogger.js';
import { useEmbeddedDatabase } from '../../helpers/database.js';

useEmbeddedDatabase(() =>
  Promise.all([
    Installation.deleteMany({}),
    Workspace.deleteMany({}),
    Agent.collection.deleteMany({}),
    Orchestration.collection.deleteMany({}),
    mongoose.connection.db!.collection('orchestrateMarks').deleteMany({}),
  ]),
);

const A = { teamId: 'TA', enterpriseId: null };

function installation(over: Partial<SlackInstallation> = {}): SlackInstallation {
  return {
    team: { id: 'TA', name: 'Alpha' },
    enterprise: undefined,
    user: { id: 'UINSTALLER', token: undefined, scopes: undefined },
    bot: { token: 'xoxb-alpha', scopes: ['chat:write'], id: 'BA', userId: 'UBOTA' },
    tokenType: 'bot',
    isEnterpriseInstall: false,
    appId: 'A1',
    authVersion: 'v2',
    ...over,
  } as SlackInstallation;
}

describe('the installation store', () => {
  it('stores one installation per workspace, reinstalling replaces it, and the installer becomes an approver there', async () => {
    const store = new Installations();
    await store.storeInstallation(installation());
    await store.storeInstallation(
      installation({ bot: { token: 'xoxb-alpha-2', scopes: [], id: 'BA', userId: 'UBOTA' } }),
    );
    expect(await Installation.countDocuments({})).toBe(1);
    const fetched = await store.fetchInstallation({
      teamId: 'TA',
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    expect(fetched.bot?.token).toBe('xoxb-alpha-2');
    expect(await store.botTokenFor(A)).toBe('xoxb-alpha-2');
    const workspace = await withTenant(A, async () => await Workspace.findOne({}).lean());
    expect(workspace?.approvers).toEqual(['UINSTALLER']);
  });

  it('gives a workspace of an organization installed org-wide the organization’s token', async () => {
    const store = new Installations();
    await store.storeInstallation(
      installation({
        team: undefined,
        enterprise: { id: 'EORG', name: 'Org' },
        isEnterpriseInstall: true,
        bot: { token: 'xoxb-org', scopes: [], id: 'BO', userId: 'UBOTO' },
      }),
    );
    expect(await store.botTokenFor({ teamId: 'TMEMBER', enterpriseId: 'EORG' })).toBe('xoxb-org');
    await expect(store.botTokenFor({ teamId: 'TMEMBER', enterpriseId: null })).rejects.toSatisfy((e) =>
      hasCode(e, 'not_installed'),
    );
  });

  it('forgets a deleted installation at once: its token is refused for good, not retried', async () => {
    const store = new Installations();
    await store.storeInstallation(installation());
    expect(await store.botTokenFor(A)).toBe('xoxb-alpha');
    await store.deleteInstallation({ teamId: 'TA', enterpriseId: undefined, isEnterpriseInstall: false });
    const error = await store.botTokenFor(A).catch((e: unknown) => e);
    expect(hasCode(error, 'not_installed')).toBe(true);
    expect((error as Error).message).toContain('install it again at /slack/install');
    expect(classifyFailure(error)).toEqual({ kind: 'refused', reason: 'not_installed' });
    await expect(
      store.fetchInstallation({ teamId: 'TA', enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow(/not installed in workspace TA/);
  });
});

describe('the engine’s client', () => {
  const slack = new FakeSlack();
  beforeAll(() => slack.start());
  afterAll(() => slack.stop());

  it('calls as the workspace in scope, and refuses to call outside any', async () => {
    const tokens: Record<string, string> = { TA: 'xoxb-alpha', TB: 'xoxb-beta' };
    const client = new TenantWebClient(async (t) => tokens[t.teamId]!, { slackApiUrl: slack.url });
    await withTenant(A, () => client.chat.postMessage({ channel: 'C1', text: 'a' }));
    await withTenant({ teamId: 'TB', enterpriseId: null }, () => client.chat.postMessage({ channel: 'C2', text: 'b' }));
    expect(slack.callsTo('chat.postMessage').map((c) => [c.args.channel, c.args._auth])).toEqual([
      ['C1', 'xoxb-alpha'],
      ['C2', 'xoxb-beta'],
    ]);
    const outside = await client.chat.postMessage({ channel: 'C3', text: 'c' }).catch((e: unknown) => e);
    expect(hasCode(outside, 'tenant_scope')).toBe(true);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
  });
});

describe('documents stored before tenancy', () => {
  it('are given the one workspace’s id at start, once, and counted with a warning until then', async () => {
    await Agent.collection.insertOne({ name: 'Old hand', title: 'Analyst', persona: 'p', origin: 'roster' });
    await Orchestration.collection.insertOne({ goal: 'old', status: 'completed' });
    await Agent.collection.insertOne({ name: 'Elsewhere', slackTeamId: 'TB', slackEnterpriseId: null });
    const logs: string[] = [];
    const logger = captureLogger(logs);
    expect(await warnOfUntaggedDocuments(logger)).toBe(2);
    expect(logs.join('\n')).toContain('2 document(s) were stored before tenancy');

    expect(await attachUntaggedDocuments(A, logger)).toBe(2);
    expect(await attachUntaggedDocuments(A, logger)).toBe(0);
    const names = await withTenant(A, async () => (await Agent.find({}).lean()).map((a) => a.name));
    expect(names).toEqual(['Old hand']);
    expect((await Orchestration.collection.findOne({ goal: 'old' }))?.slackTeamId).toBe('TA');
    expect((await Agent.collection.findOne({ name: 'Elsewhere' }))?.slackTeamId).toBe('TB');
  });

  it('are looked for at start only until a database has none: OAuth leaves them (and looks again), one workspace settles it', async () => {
    const db = mongoose.connection.db!;
    const logs: string[] = [];
    await Agent.collection.insertOne({ name: 'Old hand', title: 'Analyst', persona: 'p', origin: 'roster' });
    await settleUntaggedDocuments(db, null, captureLogger(logs));
    expect(logs.join('\n')).toContain('1 document(s) were stored before tenancy');
    expect(await db.collection('orchestrateMarks').countDocuments()).toBe(0);

    await settleUntaggedDocuments(db, A, captureLogger(logs));
    expect((await Agent.collection.findOne({ name: 'Old hand' }))?.slackTeamId).toBe('TA');
    expect(await db.collection('orchestrateMarks').countDocuments()).toBe(1);
    // Marked done: a later start does not read every collection again.
    await Agent.collection.insertOne({ name: 'Written by hand', origin: 'roster' });
    await settleUntaggedDocuments(db, A, captureLogger(logs));
    expect((await Agent.collection.findOne({ name: 'Written by hand' }))?.slackTeamId).toBeUndefined();
  });
});
