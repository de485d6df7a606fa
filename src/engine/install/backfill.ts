/**
 * Documents stored before tenancy name no workspace, and the tenant plugin refuses to write such a
 * document again. With one workspace (SLACK_BOT_TOKEN) every one of them is that workspace's: at
 * start they are given its id. With OAuth they cannot be told apart (nor when Slack cannot say whose
 * token it is), so they are counted and the log says how to attach them. Once a database has none
 * left, a mark says so and later starts skip the look, which reads every collection.
 */
import type { Db } from 'mongodb';
import mongoose from 'mongoose';
import type { Logger } from '../../logger.js';
import type { Tenant } from '../../tenant.js';

const UNTAGGED = { $or: [{ slackTeamId: { $exists: false } }, { slackTeamId: null }, { slackTeamId: '' }] };
const MARKS = 'orchestrateMarks';
const DONE = 'tenancy-attached';

function tenantModels() {
  return mongoose
    .modelNames()
    .map((name) => mongoose.model(name))
    .filter((model) => model.schema.path('slackTeamId'));
}

/** Gives every document without a workspace `tenant`'s; returns how many were changed. */
export async function attachUntaggedDocuments(tenant: Tenant, logger: Logger): Promise<number> {
  let changed = 0;
  for (const model of tenantModels()) {
    const res = await model.updateMany(UNTAGGED, {
      $set: { slackTeamId: tenant.teamId, slackEnterpriseId: tenant.enterpriseId },
    });
    changed += res.modifiedCount;
  }
  if (changed > 0) logger.info(`attached ${changed} document(s) stored before tenancy to workspace ${tenant.teamId}`);
  return changed;
}

/** How many documents name no workspace; logged as a warning when there are any. */
export async function warnOfUntaggedDocuments(logger: Logger): Promise<number> {
  let count = 0;
  for (const model of tenantModels()) count += await model.countDocuments(UNTAGGED);
  if (count > 0) {
    logger.warn(
      `${count} document(s) were stored before tenancy and belong to no workspace; until a start with SLACK_BOT_TOKEN (OAuth settings unset) where Slack answers, they are given that token's workspace, they cannot be changed.`,
    );
  }
  return count;
}

/**
 * At start: attach what belongs to the one workspace (`tenant`, null with OAuth or Slack unreachable),
 * or warn of what is left; then mark the database done when nothing is.
 */
export async function settleUntaggedDocuments(db: Db, tenant: Tenant | null, logger: Logger): Promise<void> {
  // Keyed by a field rather than a string _id, which the embedded database does not take.
  const marks = db.collection<{ key: string; at: Date }>(MARKS);
  if (await marks.findOne({ key: DONE })) return;
  if (tenant) await attachUntaggedDocuments(tenant, logger);
  else if ((await warnOfUntaggedDocuments(logger)) > 0) return;
  await marks.updateOne({ key: DONE }, { $set: { at: new Date() } }, { upsert: true });
}
