/**
 * Who may approve in the workspace in scope: ORCHESTRATE_APPROVERS, and the workspace's own (with
 * OAuth, whoever installed the app there). A user id is one person in one workspace, so the
 * configured list names no one elsewhere.
 */
import { Workspace } from '../../models/workspace.js';
import { currentTenant } from '../../tenant.js';

export async function approversHere(configured: readonly string[]): Promise<string[]> {
  if (!currentTenant()) return [...configured];
  const workspace = await Workspace.findOne({}, { approvers: 1 }).lean();
  return [...new Set([...configured, ...(workspace?.approvers ?? [])])];
}
