/**
 * The Review gates form: which tickets' results people review (accept, rework or edit) before
 * anything builds on them. One multi-select of every ticket, in dependency order.
 */
import type { ModalView, PlainTextOption } from '@slack/types';
import { topologicalOrder } from '../engine/plan/dag.js';
import type { Proposal } from '../engine/plan/proposal.js';
import { type ControlValue, encodeControlValue, InputIds, ViewIds } from './actionIds.js';
import { plain } from './text.js';

const text = (t: string) => ({ type: 'plain_text' as const, text: t });

export function reviewGatesModal(meta: ControlValue, proposal: Proposal): ModalView {
  const options: PlainTextOption[] = topologicalOrder(proposal.tickets).map((t, i) => ({
    text: text(plain(`${i + 1}. ${t.title}`, 75)),
    value: t.key,
  }));
  const initial = options.filter((o) => proposal.tickets.find((t) => t.key === o.value)?.review);
  return {
    type: 'modal',
    callback_id: ViewIds.reviewGates,
    private_metadata: encodeControlValue(meta),
    title: text('Review gates'),
    submit: text('Save'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            'When a chosen ticket finishes, its result is posted with *Accept*, *Rework* and *Edit*, and what builds ' +
            'on it waits for your decision.',
        },
      },
      {
        type: 'input',
        block_id: InputIds.reviewGates.block,
        optional: true,
        label: text('Tickets people review'),
        element: {
          type: 'multi_static_select',
          action_id: InputIds.reviewGates.action,
          placeholder: text('None'),
          options,
          ...(initial.length ? { initial_options: initial } : {}),
        },
      },
    ],
  };
}
