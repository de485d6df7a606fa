/**
 * Recurring goals on the App Home: Schedule on a saved plan opens the form; its submission creates
 * the schedule; Pause, Resume and Delete change it. Each republishes the clicker's Home tab; a
 * refusal is shown in a small modal, since Home tab clicks carry no response_url.
 */
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import { ActionIds, ViewIds } from '../blocks/actionIds.js';
import { noticeModal } from '../blocks/home.js';
import { CLICK_FAILED, SUBMISSION_FAILED } from '../blocks/replies.js';
import { ScheduleInputs } from '../blocks/schedules.js';
import { publishHome } from '../engine/usecases/home.js';
import {
  controlSchedule,
  type ScheduleControl,
  scheduleModalFor,
  submitSchedule,
} from '../engine/usecases/schedules.js';
import { describeError } from '../errors.js';
import type { Services } from '../services.js';
import { parseUsd } from './views.js';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function register(app: App, services: Services): void {
  const { approvers } = services.config;
  const notice = (args: ClickArgs, text: string) =>
    args.client.views.open({ trigger_id: args.body.trigger_id, view: noticeModal(text) }).catch(() => undefined);

  app.action<BlockAction<ButtonAction>>(ActionIds.scheduleTemplate, async (args) => {
    await args.ack();
    try {
      const outcome = await scheduleModalFor(args.action.value ?? '');
      if (!outcome.ok) return void (await notice(args, outcome.text));
      await args.client.views.open({ trigger_id: args.body.trigger_id, view: outcome.view });
    } catch (error) {
      services.logger.error(`${ActionIds.scheduleTemplate} failed: ${describeError(error)}`);
      await notice(args, CLICK_FAILED);
    }
  });

  const onControl = (actionId: string, control: ScheduleControl) =>
    app.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack();
      const userId = args.body.user.id;
      try {
        const refusal = await controlSchedule(services, args.action.value ?? '', userId, control);
        if (refusal) return void (await notice(args, refusal));
        await publishHome(args.client, userId, { approvers });
      } catch (error) {
        services.logger.error(`${actionId} failed: ${describeError(error)}`);
        await notice(args, CLICK_FAILED);
      }
    });
  onControl(ActionIds.pauseSchedule, 'pause');
  onControl(ActionIds.resumeSchedule, 'resume');
  onControl(ActionIds.deleteSchedule, 'delete');

  app.view<ViewSubmitAction>(ViewIds.schedule, async (args) => {
    const values = args.view.state.values;
    const field = (id: string) => values[id]?.[id];
    const text = (id: string) => (field(id)?.value ?? '').trim();
    const params = Object.fromEntries(
      Object.keys(values)
        .filter((block) => block.startsWith('param:'))
        .map((block) => [block.slice('param:'.length), text(block)]),
    );
    const monthly = text(ScheduleInputs.monthlyCap);
    try {
      const errors = await submitSchedule(services, args.view.private_metadata, args.body.user.id, {
        kind: field(ScheduleInputs.kind)?.selected_option?.value ?? 'daily',
        time: text(ScheduleInputs.time),
        day: field(ScheduleInputs.day)?.selected_option?.value ?? null,
        cron: text(ScheduleInputs.cron),
        timezone: text(ScheduleInputs.timezone),
        channelId: field(ScheduleInputs.channel)?.selected_conversation ?? null,
        unattended: (field(ScheduleInputs.unattended)?.selected_options ?? []).some((o) => o.value === 'yes'),
        cap: parseUsd(text(ScheduleInputs.cap)),
        monthlyCap: monthly ? parseUsd(monthly) : null,
        values: params,
      });
      await args.ack(errors ? { response_action: 'errors', errors } : undefined);
      if (!errors) await publishHome(args.client, args.body.user.id, { approvers }).catch(() => undefined);
    } catch (error) {
      services.logger.error(`${ViewIds.schedule} failed: ${describeError(error)}`);
      await args
        .ack({ response_action: 'errors', errors: { [ScheduleInputs.kind]: SUBMISSION_FAILED } })
        .catch(() => undefined);
    }
  });
}
