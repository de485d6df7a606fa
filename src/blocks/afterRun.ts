/**
 * What a finished run offers: Re-run on each ticket's result (and what follows a re-run: the steps
 * now out of date), Follow up on the gaps under the deliverable, and the answers to questions asked
 * of the deliverable in its thread.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { ActionIds, type ControlValue, encodeControlValue, InputIds, ViewIds } from './actionIds.js';
import type { SlackMessage } from './proposal.js';
import { fallbackText, formatUsd, plain, safeMrkdwn } from './text.js';

const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });
const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (actionId: string, label: string, value: string) => ({
  type: 'button' as const,
  action_id: actionId,
  text: plainText(label),
  value,
});

/** Under a ticket's result: run it again once the run has ended. */
export function rerunControls(orchestrationId: string, stepId: string): KnownBlock {
  const value = encodeControlValue({
    orchestrationId: orchestrationId as ControlValue['orchestrationId'],
    revision: 0,
    target: stepId,
  });
  return { type: 'actions', block_id: `rerun:${stepId}`, elements: [button(ActionIds.rerunStep, 'Re-run', value)] };
}

export function rerunModal(meta: ControlValue, title: string): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.rerunStep,
    private_metadata: encodeControlValue(meta),
    title: plainText('Re-run a step'),
    submit: plainText('Re-run'),
    close: plainText('Cancel'),
    blocks: [
      section(
        `*${safeMrkdwn(title, 200)}* runs again with its previous result and what you write here. What builds on it ` +
          'is marked out of date, and the synthesis runs again. It all counts against the run’s cap.',
      ),
      {
        type: 'input',
        block_id: InputIds.feedback.block,
        optional: true,
        label: plainText('What should change (optional)'),
        element: { type: 'plain_text_input', action_id: InputIds.feedback.action, multiline: true, max_length: 2000 },
      },
    ],
  };
}

export function rerunStartedMessage(
  orchestrationId: string,
  title: string,
  request: { by: string; feedback: string | null },
  outdated: string[],
): SlackMessage {
  const said = request.feedback ? `: ${safeMrkdwn(request.feedback, 1000)}` : '.';
  const head = `:arrows_counterclockwise: <@${request.by}> re-runs *${safeMrkdwn(title, 200)}*${said}`;
  if (!outdated.length) {
    return {
      text: `Re-running ${fallbackText(title, 150)}`,
      blocks: [section(`${head}\nThe synthesis runs again after it.`)],
    };
  }
  const list = outdated.map((t) => safeMrkdwn(t, 120)).join(', ');
  const value = encodeControlValue({
    orchestrationId: orchestrationId as ControlValue['orchestrationId'],
    revision: 0,
  });
  return {
    text: `Re-running ${fallbackText(title, 150)}; ${outdated.length} step(s) are out of date`,
    blocks: [
      section(
        `${head}\n*Out of date now:* ${list}. Re-run them with the new result, or let the synthesis use them as they are.`,
      ),
      {
        type: 'actions',
        block_id: 'outdated',
        elements: [
          { ...button(ActionIds.rerunDependents, 'Re-run what depends on it', value), style: 'primary' },
          button(ActionIds.keepDependents, 'Synthesize with these', value),
        ],
      },
    ],
  };
}

/** Under the deliverable, when it names gaps. */
export function followUpControls(orchestrationId: string): KnownBlock {
  const value = encodeControlValue({
    orchestrationId: orchestrationId as ControlValue['orchestrationId'],
    revision: 0,
  });
  return {
    type: 'actions',
    block_id: 'follow_up',
    elements: [button(ActionIds.followUp, 'Follow up on the gaps', value)],
  };
}

export function followUpModal(meta: ControlValue, gaps: string[], budgetUsd: number, ceilingUsd: number): ModalView {
  return {
    type: 'modal',
    callback_id: ViewIds.followUp,
    private_metadata: encodeControlValue(meta),
    title: plainText('Follow up'),
    submit: plainText('Plan the follow-up'),
    close: plainText('Cancel'),
    blocks: [
      section(
        'A new orchestration, linked to this one, plans how to close these gaps. Its agents read this run’s deliverable, ' +
          'and its plan comes to you for review as usual.',
      ),
      {
        type: 'input',
        block_id: InputIds.gaps.block,
        label: plainText('The gaps to close, one a line'),
        element: {
          type: 'plain_text_input',
          action_id: InputIds.gaps.action,
          multiline: true,
          max_length: 2500,
          initial_value: gaps.join('\n').slice(0, 2500),
        },
      },
      {
        type: 'input',
        block_id: InputIds.budget.block,
        label: plainText(`Budget in USD (at most ${formatUsd(ceilingUsd)})`),
        element: { type: 'plain_text_input', action_id: InputIds.budget.action, initial_value: budgetUsd.toFixed(2) },
      },
    ],
  };
}

export function followUpStartedMessage(by: string, channelId: string): SlackMessage {
  return {
    text: 'A follow-up on the gaps was started',
    blocks: [
      section(
        `:link: <@${by}> started a follow-up on the gaps in <#${channelId}>; its plan is posted there for review.`,
      ),
    ],
  };
}

/** The follow-up's plan says what it follows up on. */
export const parentLine = (parent: { channelId: string; goal: string }) =>
  `*Follows up on:* ${safeMrkdwn(parent.goal, 300)} (in <#${parent.channelId}>); its deliverable is this plan’s context.`;

export function answerMessages(question: string, answer: string, figures: string, chunk: number): SlackMessage[] {
  const parts: string[] = [];
  for (let i = 0; i < Math.max(1, answer.length); i += chunk) parts.push(answer.slice(i, i + chunk));
  return parts.map((part, i) => ({
    text: i === 0 ? `Answer: ${fallbackText(question, 150)}` : `Answer (part ${i + 1} of ${parts.length})`,
    blocks: [
      { type: 'markdown', text: part || '_(no answer)_' } as KnownBlock,
      ...(i === parts.length - 1
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: plain(figures, 300) }] } as KnownBlock]
        : []),
    ],
  }));
}
