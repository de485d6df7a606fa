/**
 * Who approves in a workspace: anyone may see the list (`/orchestrate approvers`); an approver may
 * edit the workspace's own list. ORCHESTRATE_APPROVERS stays as the operator set it, and the list
 * never ends up empty, which would leave nobody to act on others' plans.
 */

import type { ModalView } from '@slack/types';
import {
  type ApproversView,
  approversMessage,
  approversModal,
  MAX_WORKSPACE_APPROVERS,
} from '../../blocks/approvers.js';
import { Workspace } from '../../models/workspace.js';
import type { Services } from '../../services.js';
import type { Reply } from './guard.js';

export interface ApproverViewer {
  userId: string;
  botUserId: string | undefined;
}

export const NOT_AN_APPROVER_HERE = ':no_entry: Only an approver can change who approves. Nothing was changed.';

async function viewFor(services: Services, viewer: ApproverViewer): Promise<ApproversView> {
  const configured = services.config.approvers;
  const workspace = (await Workspace.findOne({}, { approvers: 1 }).lean())?.approvers ?? [];
  const everyone = [...configured, ...workspace];
  return {
    configured,
    workspace: workspace.filter((id) => !configured.includes(id)),
    canEdit: viewer.userId !== viewer.botUserId && everyone.includes(viewer.userId),
  };
}

export async function approversReply(services: Services, viewer: ApproverViewer): Promise<Reply> {
  return approversMessage(await viewFor(services, viewer));
}

export async function approversModalFor(
  services: Services,
  viewer: ApproverViewer,
  responseUrl: string | null,
): Promise<{ kind: 'open'; view: ModalView } | { kind: 'refused'; text: string }> {
  const view = await viewFor(services, viewer);
  if (!view.canEdit) return { kind: 'refused', text: NOT_AN_APPROVER_HERE };
  return { kind: 'open', view: approversModal(view, responseUrl) };
}

export type ApproversSaved = { kind: 'error'; text: string } | { kind: 'saved'; reply: Reply };

/** Stores the workspace's list as picked, if the one saving may still change it. */
export async function saveApprovers(
  services: Services,
  viewer: ApproverViewer,
  picked: readonly string[],
): Promise<ApproversSaved> {
  const before = await viewFor(services, viewer);
  if (!before.canEdit) return { kind: 'error', text: NOT_AN_APPROVER_HERE.replace(':no_entry: ', '') };
  const own = [...new Set(picked)].filter((id) => id !== viewer.botUserId && !before.configured.includes(id));
  if (own.length + before.configured.length === 0) {
    return { kind: 'error', text: 'Keep at least one approver: nobody else could act on others’ plans.' };
  }
  await Workspace.updateOne({}, { $set: { approvers: own.slice(0, MAX_WORKSPACE_APPROVERS) } }, { upsert: true });
  return { kind: 'saved', reply: await approversReply(services, viewer) };
}
