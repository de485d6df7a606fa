/**
 * The workspace a piece of work belongs to, carried implicitly through every await of a Slack
 * request or a job (AsyncLocalStorage). The models' tenant plugin adds it to every query and every
 * new document, so code between the two entry points (Bolt's middleware, the job runner) cannot
 * forget it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A Slack workspace; `enterpriseId` is set in an Enterprise Grid organization. */
export interface Tenant {
  teamId: string;
  enterpriseId: string | null;
}

const scope = new AsyncLocalStorage<Tenant | null>();

/**
 * Runs `work` as `tenant`: its queries see only that workspace's documents, and what it stores is
 * that workspace's. Null runs it across workspaces, for the sweeps that serve them all (recovery,
 * retention, the outbox after a restart). A mongoose query runs when it is awaited: await it inside.
 */
export function withTenant<T>(tenant: Tenant | null, work: () => T): T {
  return scope.run(tenant, work);
}

/** The workspace in scope, or null outside any (a sweep, a test reading the database). */
export function currentTenant(): Tenant | null {
  return scope.getStore() ?? null;
}

/** The tenant a stored document belongs to; null for a document written before tenancy (none set). */
export function tenantOf(doc: { slackTeamId?: string | null; slackEnterpriseId?: string | null }): Tenant | null {
  return doc.slackTeamId ? { teamId: doc.slackTeamId, enterpriseId: doc.slackEnterpriseId ?? null } : null;
}

/**
 * What a Slack request names as its workspace (Bolt's context). A request that names none is scoped
 * to no workspace at all (an empty id matches no document), never to every workspace.
 */
export function tenantFromSlack(context: { teamId?: string; enterpriseId?: string }): Tenant {
  return { teamId: context.teamId ?? context.enterpriseId ?? '', enterpriseId: context.enterpriseId ?? null };
}
