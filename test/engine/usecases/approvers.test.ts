/**
 * Who approves in a workspace (usecases/approvers.ts): the list anyone may see, the workspace's own
 * list an approver may change, the operator's list that cannot be changed from Slack, and a list
 * that may never end up with nobody on it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { approversModalFor, approversReply, saveApprovers } from '../../../src/engine/usecases/approvers.js';
import { Workspace } from '../../../src/models/workspace.js';
import { withTenant } from '../../../src/tenant.js';
import { APPROVER, BOT, makeServices, STRANGER, useDatabase } from './support.js';

useDatabase();
beforeEach(() => Workspace.deleteMany({}));

const HERE = { teamId: 'TAPPROVE', enterpriseId: null };
const inWorkspace = <T>(work: () => Promise<T>) => withTenant(HERE, work);
const stored = () => inWorkspace(async () => (await Workspace.findOne({}).lean())?.approvers);

describe('approvers per workspace', () => {
  it('lets an approver set the workspace’s own list, leaving the operator’s aside', async () => {
    const { services } = makeServices();
    const saved = await inWorkspace(() =>
      saveApprovers(services, { userId: APPROVER, botUserId: BOT }, ['UADA', APPROVER, BOT, 'UADA']),
    );
    expect(saved.kind).toBe('saved');
    // The operator's approver and the bot are not stored; duplicates are one.
    expect(await stored()).toEqual(['UADA']);
    const reply = await inWorkspace(() => approversReply(services, { userId: 'UADA', botUserId: BOT }));
    expect(reply.text).toContain('This workspace’s: <@UADA>.');
    expect(reply.text).toContain(`Set by the operator (\`ORCHESTRATE_APPROVERS\`): <@${APPROVER}>.`);
    expect(JSON.stringify(reply.blocks)).toContain('Edit approvers');
  });

  it('refuses anyone else, without opening the form or storing anything', async () => {
    const { services } = makeServices();
    const viewer = { userId: STRANGER, botUserId: BOT };
    expect((await inWorkspace(() => approversModalFor(services, viewer, null))).kind).toBe('refused');
    const saved = await inWorkspace(() => saveApprovers(services, viewer, [STRANGER]));
    expect(saved).toEqual({ kind: 'error', text: 'Only an approver can change who approves. Nothing was changed.' });
    expect(await stored()).toBeUndefined();
    const reply = await inWorkspace(() => approversReply(services, viewer));
    expect(JSON.stringify(reply.blocks)).not.toContain('Edit approvers');
  });

  it('never leaves a workspace with nobody to approve', async () => {
    const { services } = makeServices();
    const alone = { ...services, config: { ...services.config, approvers: [] } };
    await inWorkspace(() => Workspace.create({ approvers: ['UADA'] }));
    const emptied = await inWorkspace(() => saveApprovers(alone, { userId: 'UADA', botUserId: BOT }, []));
    expect(emptied.kind).toBe('error');
    expect(await stored()).toEqual(['UADA']);
    // With the operator's list there, the workspace's own may be emptied.
    expect((await inWorkspace(() => saveApprovers(services, { userId: 'UADA', botUserId: BOT }, []))).kind).toBe(
      'saved',
    );
    expect(await stored()).toEqual([]);
  });
});
