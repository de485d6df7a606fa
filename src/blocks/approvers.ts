/**
 * Who approves in a workspace, in Slack: the answer to `/orchestrate approvers` (the operator's
 * fixed list and the workspace's own, with Edit for an approver) and the modal that edits the
 * workspace's own list with a people picker, so ids never have to be typed.
 */
import type { KnownBlock, ModalView } from '@slack/types';

/** The ids of the approvers' button and modal, counted among the ids the app answers. */
export const ApproverIds = {
  edit: 'approvers.edit',
  modal: 'approvers.modal',
  pickerBlock: 'approvers_pick',
  picker: 'approvers_pick_input',
} as const;

/** The most people the picker takes; far more than a workspace needs to approve. */
export const MAX_WORKSPACE_APPROVERS = 50;

export interface ApproversView {
  /** ORCHESTRATE_APPROVERS: approvers in every workspace, changed only by the operator. */
  configured: readonly string[];
  /** This workspace's own list. */
  workspace: readonly string[];
  /** Whether the viewer is an approver here, and so may edit the list. */
  canEdit: boolean;
}

const mentions = (ids: readonly string[]) => ids.map((id) => `<@${id}>`).join(', ');

export function approversMessage(view: ApproversView): { text: string; blocks: KnownBlock[] } {
  const lines = [
    '*Approvers* may approve, edit or cancel anyone’s proposal here, steer any run, and edit or retire agents. ' +
      'Whoever asked for a plan may always act on their own.',
    view.workspace.length ? `This workspace’s: ${mentions(view.workspace)}.` : 'This workspace names none of its own.',
    ...(view.configured.length
      ? [`Set by the operator (\`ORCHESTRATE_APPROVERS\`): ${mentions(view.configured)}.`]
      : []),
    ...(view.workspace.length || view.configured.length
      ? []
      : ['Nobody approves others’ plans yet: the operator can name approvers in `ORCHESTRATE_APPROVERS`.']),
  ];
  const text = lines.join('\n');
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (view.canEdit) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: ApproverIds.edit,
          text: { type: 'plain_text', text: 'Edit approvers' },
          value: 'edit',
        },
      ],
    });
  }
  return { text, blocks };
}

export function approversModal(view: ApproversView, responseUrl: string | null): ModalView {
  return {
    type: 'modal',
    callback_id: ApproverIds.modal,
    // Where the list was shown, so that it can be shown again as saved.
    private_metadata: responseUrl ?? '',
    title: { type: 'plain_text', text: 'Approvers' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: ApproverIds.pickerBlock,
        optional: true,
        label: { type: 'plain_text', text: 'This workspace’s approvers' },
        element: {
          type: 'multi_users_select',
          action_id: ApproverIds.picker,
          max_selected_items: MAX_WORKSPACE_APPROVERS,
          ...(view.workspace.length ? { initial_users: [...view.workspace] } : {}),
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: view.configured.length
              ? `Also approvers, set by the operator and not changed here: ${mentions(view.configured)}.`
              : 'Keep at least one: nobody else could act on others’ plans.',
          },
        ],
      },
    ],
  };
}
