/**
 * The one place tenant isolation is enforced: a plugin every workspace-owned model applies (a test
 * checks that each one does). Under a workspace's scope (src/tenant.ts) every query is narrowed to
 * that workspace's documents, every new document is stamped with it, and a document of another
 * workspace cannot be saved; outside any scope (a sweep across workspaces, a test reading the
 * database) queries see everything and new documents must say whose they are.
 */
import type { MongooseDefaultQueryMiddleware, Query, Schema } from 'mongoose';
import { TenantScopeError } from '../errors.js';
import { currentTenant } from '../tenant.js';

/** The fields the plugin adds to a model. */
export interface TenantFields {
  /** The Slack workspace (team) the document belongs to. */
  slackTeamId: string;
  /** Its Enterprise Grid organization, if any. */
  slackEnterpriseId: string | null;
}

const QUERIES = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'estimatedDocumentCount',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
] satisfies MongooseDefaultQueryMiddleware[];

type Stampable = { slackTeamId?: string | null; slackEnterpriseId?: string | null };

/** Stamps a new document with the workspace in scope; refuses one that names another. */
function stamp(doc: Stampable, modelName: string): void {
  const tenant = currentTenant();
  if (!tenant) {
    if (!doc.slackTeamId) throw new TenantScopeError(`a ${modelName} must belong to a workspace (slackTeamId)`);
    return;
  }
  if (doc.slackTeamId && doc.slackTeamId !== tenant.teamId) {
    throw new TenantScopeError(`a ${modelName} of workspace ${doc.slackTeamId} cannot be written as ${tenant.teamId}`);
  }
  doc.slackTeamId = tenant.teamId;
  doc.slackEnterpriseId ??= tenant.enterpriseId;
}

function namesTenant(query: Query<unknown, unknown>): boolean {
  const update = (query.getUpdate() ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return Boolean(query.getFilter().slackTeamId || update.$setOnInsert?.slackTeamId || update.$set?.slackTeamId);
}

export function tenantScoped(schema: Schema): void {
  schema.add({
    slackTeamId: { type: String, required: true },
    slackEnterpriseId: { type: String, default: null },
  });

  schema.pre(QUERIES, function narrowToTenant(this: Query<unknown, unknown>) {
    const tenant = currentTenant();
    // Added beside whatever the caller asked (an $and), so a filter naming another workspace matches nothing.
    if (tenant) {
      this.and([{ slackTeamId: tenant.teamId }]);
      // An upsert skips validation: what it may insert is stamped here instead.
      if (this.getOptions().upsert && !namesTenant(this)) {
        const update = (this.getUpdate() ?? {}) as Record<string, Record<string, unknown> | undefined>;
        const stampOnInsert = { slackTeamId: tenant.teamId, slackEnterpriseId: tenant.enterpriseId };
        this.setUpdate({ ...update, $setOnInsert: { ...update.$setOnInsert, ...stampOnInsert } });
      }
    } else if (this.getOptions().upsert && !namesTenant(this)) {
      // Outside a scope, what an upsert may insert must say whose it is.
      throw new TenantScopeError(
        `an upsert of a ${this.model.modelName} outside a workspace must name its slackTeamId`,
      );
    }
  });

  schema.pre('aggregate', function narrowPipeline() {
    const tenant = currentTenant();
    if (tenant) this.pipeline().unshift({ $match: { slackTeamId: tenant.teamId } });
  });

  schema.pre('validate', function stampDocument() {
    stamp(this as Stampable, (this.constructor as { modelName?: string }).modelName ?? 'document');
  });

  schema.pre('insertMany', function stampMany(docs: unknown) {
    for (const doc of Array.isArray(docs) ? docs : [docs]) stamp(doc as Stampable, this.modelName);
  });

  schema.pre('bulkWrite', () => {
    throw new TenantScopeError('bulkWrite bypasses tenant scoping: use one scoped query per document');
  });
}
