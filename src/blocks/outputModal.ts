/**
 * The Edit outputs form: for each ticket, the line that says what it produces and its fields, one a
 * line. Block ids carry the ticket key, so a submission is read back ticket by ticket; the revision
 * travels in private_metadata, so a submission against a changed plan is recognised as stale.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { topologicalOrder } from '../engine/plan/dag.js';
import { FIELDS_MAX_CHARS } from '../engine/plan/outputs.js';
import { fieldLines } from '../engine/plan/outputText.js';
import type { Proposal } from '../engine/plan/proposal.js';
import { type ControlValue, encodeControlValue, ViewIds } from './actionIds.js';
import { plain } from './text.js';

const text = (t: string) => ({ type: 'plain_text' as const, text: t });

/** block_id and action_id of a ticket's two inputs. */
export const OutputInputIds = {
  description: { prefix: 'output_description:', action: 'output_description_input' },
  fields: { prefix: 'output_fields:', action: 'output_fields_input' },
} as const;

export const outputBlockId = (kind: keyof typeof OutputInputIds, ticketKey: string) =>
  `${OutputInputIds[kind].prefix}${ticketKey}`;

/** The ticket key a block id names, for blocks of `kind`; null for any other block. */
export function ticketOfBlock(kind: keyof typeof OutputInputIds, blockId: string): string | null {
  const prefix = OutputInputIds[kind].prefix;
  return blockId.startsWith(prefix) ? blockId.slice(prefix.length) : null;
}

export const FIELDS_EXAMPLE = 'matrix: table(name, pricing, offline) up to 20 — one row per competitor';

export function outputsModal(meta: ControlValue, proposal: Proposal): ModalView {
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          'Say what each ticket produces, in one line, and its fields, one a line: `name: type`, the type one of ' +
          '_text_, _number_, _yes/no_, _list_ or _table(col, col, …)_, with _up to N_ items for a list or table and ' +
          '`— a note` if you like. Leave both empty for a ticket whose result is prose.',
      },
    },
  ];
  topologicalOrder(proposal.tickets).forEach((ticket, i) => {
    const name = plain(`${i + 1}. ${ticket.title}`, 120);
    blocks.push(
      {
        type: 'input',
        block_id: outputBlockId('description', ticket.key),
        optional: true,
        label: text(`${name}: what it produces`),
        element: {
          type: 'plain_text_input',
          action_id: OutputInputIds.description.action,
          max_length: 300,
          placeholder: text('A competitor matrix'),
          ...(ticket.output ? { initial_value: ticket.output.description } : {}),
        },
      },
      {
        type: 'input',
        block_id: outputBlockId('fields', ticket.key),
        optional: true,
        label: text(`${name}: fields, one a line`),
        element: {
          type: 'plain_text_input',
          action_id: OutputInputIds.fields.action,
          multiline: true,
          max_length: FIELDS_MAX_CHARS,
          placeholder: text(FIELDS_EXAMPLE),
          ...(ticket.output ? { initial_value: fieldLines(ticket.output) } : {}),
        },
      },
    );
  });
  return {
    type: 'modal',
    callback_id: ViewIds.editOutputs,
    private_metadata: encodeControlValue(meta),
    title: text('Edit outputs'),
    submit: text('Save'),
    close: text('Cancel'),
    blocks,
  };
}
