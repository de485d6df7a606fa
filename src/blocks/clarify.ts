/**
 * The CEO agent's questions before it plans an ambiguous goal: the message to the requester with
 * Answer and Skip, the form with one answer per question, and what the message says once decided.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { ActionIds, type ControlValue, encodeControlValue, ViewIds } from './actionIds.js';
import type { SlackMessage } from './proposal.js';
import { fallbackText, plain, safeMrkdwn } from './text.js';

const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });

/** Block and action ids of the answer to question i. */
export const answerInput = (i: number) => ({ block: `clarify_answer_${i}`, action: `clarify_answer_${i}_input` });

export function questionsMessage(requesterId: string, goal: string, questions: string[], value: string): SlackMessage {
  const list = questions.map((q, i) => `${i + 1}. ${safeMrkdwn(q, 300)}`).join('\n');
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `:thinking_face: <@${requesterId}>, before I plan *${safeMrkdwn(goal, 300)}*, a few questions:\n${list}`,
      },
    },
    {
      type: 'actions',
      block_id: 'clarify',
      elements: [
        { type: 'button', action_id: ActionIds.answerQuestions, text: plainText('Answer'), style: 'primary', value },
        { type: 'button', action_id: ActionIds.skipQuestions, text: plainText('Skip: plan with what you have'), value },
      ],
    },
  ];
  return { text: `Before planning: ${questions.length} question(s) about ${fallbackText(goal, 150)}`, blocks };
}

export function answersModal(meta: ControlValue, questions: string[]): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.answerQuestions,
    private_metadata: encodeControlValue(meta),
    title: plainText('Before planning'),
    submit: plainText('Plan with these'),
    close: plainText('Cancel'),
    blocks: questions.map((q, i) => ({
      type: 'input',
      block_id: answerInput(i).block,
      optional: true,
      label: plainText(plain(q, 2000)),
      element: { type: 'plain_text_input', action_id: answerInput(i).action, multiline: true, max_length: 1000 },
    })),
  };
}
