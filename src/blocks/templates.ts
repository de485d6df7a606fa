/**
 * Saved plans in Slack: the Save as template form (a name, a description, and which parts of the
 * goal are parameters), and the lines that list saved plans with how they were used.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { ActionIds, type ControlValue, encodeControlValue, InputIds, ViewIds } from './actionIds.js';
import { formatUsd, safeMrkdwn } from './text.js';

const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });

export function saveTemplateModal(meta: ControlValue, goal: string): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.saveTemplate,
    private_metadata: encodeControlValue(meta),
    title: plainText('Save as template'),
    submit: plainText('Save'),
    close: plainText('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `*The goal:* ${safeMrkdwn(goal, 1500)}\n` +
            'Saved, this plan is posted again for review by `/orchestrate use <name>`, with no planning. Mark the parts ' +
            'of the goal that change from one use to the next as parameters.',
        },
      },
      {
        type: 'input',
        block_id: InputIds.templateName.block,
        label: plainText('Name'),
        hint: plainText('Lowercase letters, digits, "-" or "_", such as competitor-scan.'),
        element: { type: 'plain_text_input', action_id: InputIds.templateName.action, max_length: 40 },
      },
      {
        type: 'input',
        block_id: InputIds.templateDescription.block,
        optional: true,
        label: plainText('What it is for'),
        element: { type: 'plain_text_input', action_id: InputIds.templateDescription.action, max_length: 300 },
      },
      {
        type: 'input',
        block_id: InputIds.templateParams.block,
        optional: true,
        label: plainText('Parameters, one a line: name = the words of the goal it replaces'),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.templateParams.action,
          multiline: true,
          max_length: 2000,
          placeholder: plainText('product = an offline-first meeting recorder'),
        },
      },
    ],
  };
}

/** "name = words" lines, read into marks; an error names the line. */
export function parseMarks(text: string): { ok: true; marks: Record<string, string> } | { ok: false; error: string } {
  const marks: Record<string, string> = {};
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const at = line.indexOf('=');
    if (at < 1) return { ok: false, error: `Line ${i + 1} needs "name = the words of the goal it replaces".` };
    marks[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return { ok: true, marks };
}

export interface TemplateLine {
  id: string;
  name: string;
  description: string;
  usage: string;
  runs: number;
  typicalUsd: number | null;
}

/** One saved plan on the App Home: how to use it, how often it was, and what it typically costs. */
export function templateBlock(t: TemplateLine): KnownBlock {
  const cost = t.typicalUsd === null ? 'typical cost: not enough runs yet' : `typically ${formatUsd(t.typicalUsd)}`;
  return {
    type: 'section',
    accessory: {
      type: 'button',
      action_id: ActionIds.scheduleTemplate,
      text: { type: 'plain_text', text: 'Schedule' },
      value: t.id,
    },
    text: {
      type: 'mrkdwn',
      text:
        `*${safeMrkdwn(t.name, 40)}*${t.description ? ` · ${safeMrkdwn(t.description, 300)}` : ''}\n` +
        `\`${safeMrkdwn(t.usage, 300)}\` · ${t.runs} run${t.runs === 1 ? '' : 's'} · ${cost}`,
    },
  };
}
