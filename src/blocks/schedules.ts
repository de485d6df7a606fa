/**
 * Recurring goals in Slack: the Schedule form (cadence, time zone, channel, parameter values,
 * review or not, caps) opened from a saved plan on the App Home, and each schedule's line there with
 * its next run, this month's spend and Pause / Resume / Delete.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import { ActionIds, ViewIds } from './actionIds.js';
import { formatUsd, plain, safeMrkdwn } from './text.js';

const plainText = (t: string) => ({ type: 'plain_text' as const, text: t });
const option = (text: string, value: string): PlainTextOption => ({ text: plainText(text), value });
const input = (block: string, label: string, element: Record<string, unknown>, optional = false): KnownBlock =>
  ({ type: 'input', block_id: block, label: plainText(label), optional, element }) as unknown as KnownBlock;

/** block_id / action_id of the Schedule form's inputs; a parameter's are `param:<name>`. */
export const ScheduleInputs = {
  kind: 'schedule_kind',
  time: 'schedule_time',
  day: 'schedule_day',
  cron: 'schedule_cron',
  timezone: 'schedule_timezone',
  channel: 'schedule_channel',
  unattended: 'schedule_unattended',
  cap: 'schedule_cap',
  monthlyCap: 'schedule_monthly_cap',
  param: (name: string) => `param:${name}`,
} as const;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function scheduleModal(
  templateId: string,
  template: { name: string; params: { name: string; original: string }[]; capUsd: number },
): ModalView {
  const kinds = [option('Every day', 'daily'), option('Every week', 'weekly'), option('A cron expression', 'cron')];
  return {
    type: 'modal',
    callback_id: ViewIds.schedule,
    private_metadata: templateId,
    title: plainText('Schedule'),
    submit: plainText('Schedule'),
    close: plainText('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Run the saved plan *${safeMrkdwn(template.name, 40)}* on a schedule. Each run posts its plan for review, unless it runs without review.`,
        },
      },
      input(ScheduleInputs.kind, 'How often', {
        type: 'static_select',
        action_id: ScheduleInputs.kind,
        options: kinds,
        initial_option: kinds[0],
      }),
      input(ScheduleInputs.time, 'At (24-hour time)', {
        type: 'plain_text_input',
        action_id: ScheduleInputs.time,
        initial_value: '09:00',
      }),
      input(
        ScheduleInputs.day,
        'On (every week)',
        { type: 'static_select', action_id: ScheduleInputs.day, options: DAYS.map((d, i) => option(d, String(i))) },
        true,
      ),
      input(
        ScheduleInputs.cron,
        'Cron expression (for a cron schedule)',
        { type: 'plain_text_input', action_id: ScheduleInputs.cron, placeholder: plainText('0 9 * * 1-5') },
        true,
      ),
      input(ScheduleInputs.timezone, 'Time zone', {
        type: 'plain_text_input',
        action_id: ScheduleInputs.timezone,
        initial_value: 'UTC',
        placeholder: plainText('Europe/Paris'),
      }),
      input(ScheduleInputs.channel, 'Post in', { type: 'conversations_select', action_id: ScheduleInputs.channel }),
      ...template.params.map((p) =>
        input(ScheduleInputs.param(p.name), `${plain(p.name, 60)} (parameter)`, {
          type: 'plain_text_input',
          action_id: ScheduleInputs.param(p.name),
          initial_value: p.original.slice(0, 500),
        }),
      ),
      input(ScheduleInputs.cap, 'Budget of each run, USD', {
        type: 'plain_text_input',
        action_id: ScheduleInputs.cap,
        initial_value: template.capUsd.toFixed(2),
      }),
      input(
        ScheduleInputs.monthlyCap,
        'Monthly cap for all its runs, USD (optional)',
        { type: 'plain_text_input', action_id: ScheduleInputs.monthlyCap },
        true,
      ),
      input(
        ScheduleInputs.unattended,
        'Review',
        {
          type: 'checkboxes',
          action_id: ScheduleInputs.unattended,
          options: [option('Run without review (approvers only)', 'yes')],
        },
        true,
      ),
    ],
  };
}

export interface ScheduleLine {
  id: string;
  templateName: string;
  cadence: string;
  timezone: string;
  channelId: string;
  nextRunAt: Date | null;
  monthToDateUsd: number;
  monthlyCapUsd: number | null;
  runWithoutReview: boolean;
  paused: boolean;
}

export function scheduleBlocks(s: ScheduleLine): KnownBlock[] {
  const next = s.paused
    ? 'paused'
    : s.nextRunAt
      ? `next <!date^${Math.floor(s.nextRunAt.getTime() / 1000)}^{date_short_pretty} {time}|${s.nextRunAt.toISOString()}>`
      : 'next run not scheduled';
  const month =
    s.monthlyCapUsd === null
      ? formatUsd(s.monthToDateUsd)
      : `${formatUsd(s.monthToDateUsd)} of ${formatUsd(s.monthlyCapUsd)}`;
  const button = (actionId: string, label: string) => ({
    type: 'button' as const,
    action_id: actionId,
    text: plainText(label),
    value: s.id,
  });
  return [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          `*${safeMrkdwn(s.templateName, 40)}* · ${safeMrkdwn(s.cadence, 60)} (${safeMrkdwn(s.timezone, 60)}) in <#${s.channelId}>\n` +
          `${next} · this month ${month} · ${s.runWithoutReview ? 'runs without review' : 'each run reviewed'}`,
      },
    },
    {
      type: 'actions',
      block_id: `schedule:${s.id}`,
      elements: [
        s.paused ? button(ActionIds.resumeSchedule, 'Resume') : button(ActionIds.pauseSchedule, 'Pause'),
        {
          ...button(ActionIds.deleteSchedule, 'Delete'),
          style: 'danger',
          confirm: {
            title: plainText('Delete this schedule?'),
            text: plainText('No more runs start from it. Runs it already started go on.'),
            confirm: plainText('Delete'),
            deny: plainText('Keep it'),
            style: 'danger',
          },
        },
      ],
    },
  ];
}
