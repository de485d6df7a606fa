/**
 * What people see when they steer a run: the pause for people after the discussion, the work
 * starting, Pause and Resume, a gated result's Accept / Rework / Edit and what each did, the forms
 * for rework and edit, and the note to someone whose reply was not given to the agents.
 */
import type { ActionsBlock, KnownBlock, ModalView } from '@slack/types';
import { ActionIds, type ControlValue, encodeControlValue, InputIds, ViewIds } from './actionIds.js';
import type { SlackMessage } from './proposal.js';
import { fallbackText, neutralizeMentions, plain, safeMrkdwn } from './text.js';

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const note = (text: string): SlackMessage => ({
  text: text.replace(/[*_:]/g, '').slice(0, 300),
  blocks: [section(text)],
});
const button = (actionId: string, label: string, value: string) => ({
  type: 'button' as const,
  action_id: actionId,
  text: { type: 'plain_text' as const, text: label },
  value,
});
const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });
const hours = (h: number) => (h === 1 ? '1 hour' : `${Number.isInteger(h) ? h : h.toFixed(1)} hours`);

export function pauseForPeopleMessage(pauseHours: number): SlackMessage {
  return note(
    ':raised_hand: *Every role has stated its position. Your turn.* Reply in this thread to add your own: ' +
      'replies from the requester and the approvers go to every ticket and to the synthesis, marked as human input. ' +
      `Then press *Start the work* on the run card. Without an answer, the work starts by itself in ${hours(pauseHours)}.`,
  );
}

export function workStartedMessage(by: string | null, pauseHours: number, positions: number): SlackMessage {
  const heard = positions ? ` with ${positions === 1 ? '1 human position' : `${positions} human positions`}` : '';
  return note(
    by
      ? `:arrow_forward: <@${by}> started the work${heard}.`
      : `:arrow_forward: Nobody started the work within ${hours(pauseHours)}, so it started by itself${heard}.`,
  );
}

export const pausedMessage = (by: string) =>
  note(
    `:double_vertical_bar: <@${by}> paused the run. Steps already running finish; nothing new starts until *Resume*.`,
  );
export const resumedMessage = (by: string) => note(`:arrow_forward: <@${by}> resumed the run.`);

/** The run card's controls while a run is open. */
export function runControls(
  value: string,
  state: { waitingForPeople: boolean; paused: boolean; running: boolean },
): ActionsBlock | null {
  const elements = [
    ...(state.waitingForPeople
      ? [{ ...button(ActionIds.startWork, 'Start the work', value), style: 'primary' as const }]
      : []),
    ...(state.running
      ? [state.paused ? button(ActionIds.resumeRun, 'Resume', value) : button(ActionIds.pauseRun, 'Pause', value)]
      : []),
  ];
  return elements.length ? { type: 'actions', block_id: 'run_controls', elements } : null;
}

/** Under a gated result: what people may do with it. `value` names the step and the attempt it was drawn for. */
export function reviewActions(value: string): KnownBlock[] {
  return [
    section(':eyes: *Waiting for your review*: what builds on this result waits until it is accepted.'),
    {
      type: 'actions',
      block_id: 'review',
      elements: [
        { ...button(ActionIds.acceptResult, 'Accept', value), style: 'primary' },
        button(ActionIds.reworkResult, 'Rework', value),
        button(ActionIds.editResult, 'Edit', value),
      ],
    },
  ];
}

export type ReviewDecision = 'accepted' | 'rework' | 'edited';

export function reviewedMessage(
  decision: ReviewDecision,
  by: string,
  title: string,
  feedback?: string | null,
): SlackMessage {
  const what = safeMrkdwn(title, 200);
  const text = {
    accepted: `:white_check_mark: <@${by}> accepted *${what}*; what builds on it goes on.`,
    rework: `:arrows_counterclockwise: <@${by}> sent *${what}* back for rework${feedback ? `: ${safeMrkdwn(feedback, 1500)}` : '.'}`,
    edited: `:pencil2: <@${by}> edited *${what}*; what builds on it gets their text, marked as edited by them.`,
  }[decision];
  return note(text);
}

/** The edited text, posted so that the thread shows what the agents will read. */
export function editedResultMessages(title: string, text: string, chunk: number): SlackMessage[] {
  const body = neutralizeMentions(text);
  const parts: string[] = [];
  for (let i = 0; i < body.length; i += chunk) parts.push(body.slice(i, i + chunk));
  return (parts.length ? parts : ['']).map((part, i) => ({
    text: `Edited: ${fallbackText(title, 150)}${parts.length > 1 ? ` (part ${i + 1} of ${parts.length})` : ''}`,
    blocks: [{ type: 'markdown', text: part || '_(empty)_' } as KnownBlock],
  }));
}

/** The longest text Slack's text input takes: a longer result cannot be edited in a form. */
export const EDIT_MAX_CHARS = 3000;

export function reworkModal(meta: ControlValue, title: string): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.reworkResult,
    private_metadata: encodeControlValue(meta),
    title: plainText('Rework'),
    submit: plainText('Send back'),
    close: plainText('Cancel'),
    blocks: [
      section(`*${safeMrkdwn(title, 200)}* runs again with its previous result and what you write here.`),
      {
        type: 'input',
        block_id: InputIds.feedback.block,
        label: plainText('What should change'),
        element: { type: 'plain_text_input', action_id: InputIds.feedback.action, multiline: true, max_length: 2000 },
      },
    ],
  };
}

export function editResultModal(meta: ControlValue, title: string, text: string): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.editResult,
    private_metadata: encodeControlValue(meta),
    title: plainText('Edit the result'),
    submit: plainText('Save and accept'),
    close: plainText('Cancel'),
    blocks: [
      section(`*${safeMrkdwn(title, 200)}*: what you save is what builds on it, marked as edited by you.`),
      {
        type: 'input',
        block_id: InputIds.resultText.block,
        label: plainText(plain(`Result of ${title}`, 150)),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.resultText.action,
          multiline: true,
          max_length: EDIT_MAX_CHARS,
          initial_value: text.slice(0, EDIT_MAX_CHARS),
        },
      },
    ],
  };
}

export const notEntitledToSteer = (requesterId: string) =>
  `Only <@${requesterId}> and the approvers can steer this run, so your reply was not given to the agents.`;
